"""Settings come from the environment; a bad value names the variable."""

from __future__ import annotations

import pytest

from scheduler.config import ConfigError, Settings


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"SMS_BACKEND": "pigeon"}, "SMS_BACKEND"),
        ({"SMS_BACKEND": "twilio"}, "TWILIO_ACCOUNT_SID"),
        ({"SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": "AC" + "0" * 32}, "TWILIO_AUTH_TOKEN"),
        ({"TWILIO_MESSAGING_SERVICE_SID": "xyz"}, "TWILIO_MESSAGING_SERVICE_SID"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"PUBLIC_BASE_URL": "not a url"}, "PUBLIC_BASE_URL"),
        ({"TWILIO_API_BASE_URL": "ftp://x"}, "TWILIO_API_BASE_URL"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"SMS_MAX_PER_SECOND": "fast"}, "SMS_MAX_PER_SECOND"),
        ({"SMS_MAX_PER_SECOND": "0"}, "SMS_MAX_PER_SECOND"),
        ({"DISPATCH_INTERVAL_SECONDS": "-1"}, "DISPATCH_INTERVAL_SECONDS"),
        ({"TWILIO_TIMEOUT_SECONDS": "0"}, "TWILIO_TIMEOUT_SECONDS"),
        ({"TWILIO_TIMEOUT_SECONDS": "soon"}, "TWILIO_TIMEOUT_SECONDS"),
        ({"SESSION_COUNT_MIN": "21", "SESSION_COUNT_MAX": "20"}, "SESSION_COUNT_MIN"),
        ({"RENDER_CACHE_MB": "-1"}, "RENDER_CACHE_MB"),
        ({"RENDER_CACHE_MB": "lots"}, "RENDER_CACHE_MB"),
    ],
)
def test_bad_values_name_the_variable(env, name, tmp_path):
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({"INSTANCE_DIR": str(tmp_path), **env})


def test_defaults_are_the_embedded_ones(tmp_path):
    settings = Settings.from_env({"INSTANCE_DIR": str(tmp_path)})
    assert settings.is_sqlite and settings.sms_backend == "console"
    assert settings.database_url == "sqlite:///instance/ipt-scheduler.sqlite3"
    assert settings.twilio_timeout_seconds == 10.0
    assert settings.render_cache_mb == 32
    assert (
        Settings.from_env({"INSTANCE_DIR": str(tmp_path), "RENDER_CACHE_MB": "0"}).render_cache_mb
        == 0
    )


def test_postgres_urls_use_psycopg_3(tmp_path):
    s = Settings.from_env({"INSTANCE_DIR": str(tmp_path), "DATABASE_URL": "postgres://u@h/db"})
    assert s.database_url == "postgresql+psycopg://u@h/db"


def test_secret_key_without_env_survives_a_restart(tmp_path):
    first = Settings.from_env({"INSTANCE_DIR": str(tmp_path)}).secret_key
    again = Settings.from_env({"INSTANCE_DIR": str(tmp_path)}).secret_key
    assert first == again and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert Settings.from_env({"SECRET_KEY": "x" * 20}).secret_key == "x" * 20
