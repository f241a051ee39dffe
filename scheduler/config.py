"""Settings: every knob comes from the environment, read once at an edge and passed down."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

DEFAULT_DATABASE_URL = "sqlite:///instance/ipt-scheduler.sqlite3"
SMS_BACKENDS = ("console", "twilio")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


def _int(
    env: Mapping[str, str], name: str, default: int, minimum: int = 1, maximum: int | None = None
) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be at most {maximum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not value > 0:
        raise ConfigError(f"{name} must be greater than 0, got {raw!r}")
    return value


def _url(env: Mapping[str, str], name: str, default: str | None) -> str | None:
    raw = env.get(name) or default
    if raw is None:
        return None
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"{name} must be an absolute http(s) URL, got {raw!r}")
    return raw.rstrip("/")


def _instance_secret(folder: Path) -> str:
    """The embedded default's secret key: made once and kept beside the SQLite file.

    Sessions, CSRF tokens and feed URLs are derived from it, so it must survive a restart;
    production sets SECRET_KEY instead.
    """
    path = folder / "secret_key"
    try:
        existing = path.read_text().strip()
    except FileNotFoundError:
        existing = ""
    if len(existing) >= 16:
        return existing
    folder.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    secret_key: str = field(default_factory=lambda: secrets.token_hex(32), repr=False)
    public_base_url: str = "http://127.0.0.1:5000"
    locations_file: Path = Path("locations.yaml")
    sms_backend: str = "console"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = field(default=None, repr=False)
    twilio_messaging_service_sid: str | None = None
    twilio_api_base_url: str | None = None
    # Seconds to wait for Twilio's answer; after that the outcome of a send is unknown.
    twilio_timeout_seconds: float = 10.0
    sms_max_per_second: float = 1.0
    dispatch_interval_seconds: int = 5
    dispatch_batch_size: int = 50
    dispatch_concurrency: int = 4
    # A claim older than this is presumed dead (its worker crashed) and is reconciled.
    dispatch_claim_timeout_seconds: int = 120
    sms_max_per_client_day: int = 2
    sms_max_per_client_week: int = 4
    session_count_min: int = 8
    session_count_max: int = 20
    feed_past_days: int = 90
    max_request_bytes: int = 64 * 1024
    # A browser session ends after this long without a request (and after 12 hours in any case).
    session_idle_minutes: int = 30
    # How many reverse proxies stand in front of the app and append to X-Forwarded-For; only
    # then is that header believed about the client's address (0: it is ignored).
    trusted_proxies: int = 0
    # A bearer token that opens /metrics from anywhere (loopback needs none); None: loopback only.
    metrics_token: str | None = field(default=None, repr=False)
    log_format: str = "text"  # or "json": one object a line
    # "async": a read's audit rows are committed without waiting for PostgreSQL to flush its
    # log (see web.reach.served). "durable": like any write, the commit waits for the flush.
    read_audit_commit: str = "async"
    # Memory each web process may keep rendered answers in (web.render_cache); 0: none kept.
    render_cache_mb: int = 32

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from the environment; a bad value raises ConfigError naming it."""
        env = os.environ if env is None else env
        backend = env.get("SMS_BACKEND", "console") or "console"
        if backend not in SMS_BACKENDS:
            raise ConfigError(
                f"SMS_BACKEND must be one of {', '.join(SMS_BACKENDS)}, got {backend!r}"
            )
        if backend == "twilio":
            for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"):
                if not env.get(name):
                    raise ConfigError(f"{name} is required when SMS_BACKEND=twilio")
            sid = env["TWILIO_ACCOUNT_SID"]
            if not (sid.startswith("AC") and len(sid) == 34):
                raise ConfigError("TWILIO_ACCOUNT_SID must look like AC followed by 32 characters")
        msid = env.get("TWILIO_MESSAGING_SERVICE_SID") or None
        if msid is not None and not (msid.startswith("MG") and len(msid) == 34):
            raise ConfigError(
                "TWILIO_MESSAGING_SERVICE_SID must look like MG followed by 32 characters"
            )
        database_url = env.get("DATABASE_URL") or DEFAULT_DATABASE_URL
        if not database_url.startswith(
            ("sqlite:", "postgresql:", "postgresql+psycopg:", "postgres:")
        ):
            raise ConfigError(
                f"DATABASE_URL must be a sqlite:/// or postgresql:// URL, got {database_url!r}"
            )
        if database_url.startswith("postgres:"):  # Heroku-style alias
            database_url = "postgresql:" + database_url[len("postgres:") :]
        if database_url.startswith("postgresql://"):
            database_url = "postgresql+psycopg://" + database_url[len("postgresql://") :]
        secret = env.get("SECRET_KEY") or ""
        if secret and len(secret) < 16:
            raise ConfigError("SECRET_KEY must be at least 16 characters")
        metrics_token = env.get("METRICS_TOKEN") or None
        if metrics_token is not None and len(metrics_token) < 16:
            raise ConfigError("METRICS_TOKEN must be at least 16 characters")
        log_format = (env.get("LOG_FORMAT") or "text").strip().lower()
        if log_format not in ("text", "json"):
            raise ConfigError(f"LOG_FORMAT must be text or json, got {log_format!r}")
        read_audit_commit = (env.get("READ_AUDIT_COMMIT") or "async").strip().lower()
        if read_audit_commit not in ("durable", "async"):
            raise ConfigError(
                f"READ_AUDIT_COMMIT must be durable or async, got {read_audit_commit!r}"
            )
        smin = _int(env, "SESSION_COUNT_MIN", 8)
        smax = _int(env, "SESSION_COUNT_MAX", 20)
        if smin > smax:
            raise ConfigError("SESSION_COUNT_MIN must not exceed SESSION_COUNT_MAX")
        return cls(
            database_url=database_url,
            secret_key=secret or _instance_secret(Path(env.get("INSTANCE_DIR") or "instance")),
            public_base_url=_url(env, "PUBLIC_BASE_URL", "http://127.0.0.1:5000") or "",
            locations_file=Path(env.get("LOCATIONS_FILE") or "locations.yaml"),
            sms_backend=backend,
            twilio_account_sid=env.get("TWILIO_ACCOUNT_SID") or None,
            twilio_auth_token=env.get("TWILIO_AUTH_TOKEN") or None,
            twilio_messaging_service_sid=msid,
            twilio_api_base_url=_url(env, "TWILIO_API_BASE_URL", None),
            twilio_timeout_seconds=_float(env, "TWILIO_TIMEOUT_SECONDS", 10.0),
            sms_max_per_second=_float(env, "SMS_MAX_PER_SECOND", 1.0),
            dispatch_interval_seconds=_int(env, "DISPATCH_INTERVAL_SECONDS", 5),
            dispatch_batch_size=_int(env, "DISPATCH_BATCH_SIZE", 50),
            dispatch_concurrency=_int(env, "DISPATCH_CONCURRENCY", 4),
            dispatch_claim_timeout_seconds=_int(env, "DISPATCH_CLAIM_TIMEOUT_SECONDS", 120),
            sms_max_per_client_day=_int(env, "SMS_MAX_PER_CLIENT_DAY", 2),
            sms_max_per_client_week=_int(env, "SMS_MAX_PER_CLIENT_WEEK", 4),
            session_count_min=smin,
            session_count_max=smax,
            feed_past_days=_int(env, "FEED_PAST_DAYS", 90),
            # Never longer than the 12-hour absolute limit, which would make it meaningless.
            session_idle_minutes=_int(env, "SESSION_IDLE_MINUTES", 30, maximum=12 * 60),
            trusted_proxies=_int(env, "TRUSTED_PROXIES", 0, minimum=0, maximum=5),
            metrics_token=metrics_token,
            log_format=log_format,
            read_audit_commit=read_audit_commit,
            render_cache_mb=_int(env, "RENDER_CACHE_MB", 32, minimum=0, maximum=4096),
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
