"""The sign-in settings: idle timeout and the number of trusted proxies."""

from __future__ import annotations

import pytest

from scheduler.config import ConfigError, Settings


def test_defaults(tmp_path):
    settings = Settings.from_env({"INSTANCE_DIR": str(tmp_path)})
    assert settings.session_idle_minutes == 30
    assert settings.trusted_proxies == 0


def test_values_are_read(tmp_path):
    settings = Settings.from_env(
        {"INSTANCE_DIR": str(tmp_path), "SESSION_IDLE_MINUTES": "15", "TRUSTED_PROXIES": "2"}
    )
    assert settings.session_idle_minutes == 15
    assert settings.trusted_proxies == 2


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("SESSION_IDLE_MINUTES", "0", "at least 1"),
        ("SESSION_IDLE_MINUTES", "half an hour", "a whole number"),
        ("SESSION_IDLE_MINUTES", "721", "at most 720"),
        ("TRUSTED_PROXIES", "-1", "at least 0"),
        ("TRUSTED_PROXIES", "yes", "a whole number"),
        ("TRUSTED_PROXIES", "6", "at most 5"),
    ],
)
def test_bad_values_name_the_variable(tmp_path, name, value, problem):
    with pytest.raises(ConfigError, match=f"{name} must be {problem}"):
        Settings.from_env({"INSTANCE_DIR": str(tmp_path), name: value})
