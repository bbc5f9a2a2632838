"""Default settings, safe on a laptop; instance/config.py and the environment override them."""

import os
import secrets
from pathlib import Path

# Settings read from environment variables of the same name (SECRET_KEY, DATABASE_URL, …).
ENVIRONMENT_SETTINGS = (
    "SECRET_KEY",
    "DATABASE_URL",
    "PUBLIC_BASE_URL",
    "ORGANISATION_NAME",
    "PROGRAMME_NAME",
    "HELPDESK_EMAIL",
    "MAIL_SERVER",
    "MAIL_PORT",
    "MAIL_USE_TLS",
    "MAIL_USE_SSL",
    "MAIL_USERNAME",
    "MAIL_PASSWORD",
    "MAIL_DEFAULT_SENDER",
    "RATELIMIT_STORAGE_URI",
    "REGISTRATION_RATE_LIMIT",
    "LOGIN_RATE_LIMIT",
    "OVERVIEW_RATE_LIMIT",
    "OVERVIEW_ADDRESS_RATE_LIMIT",
    "MODERATION_REPLY_DAYS",
    "RESPONSE_CACHE_SIZE",
    "RETRY_AFTER_SECONDS",
    "SQLITE_BUSY_TIMEOUT_MS",
    "READINESS_DEADLINE_MS",
    "REQUEST_LOG",
    "PROXY_COUNT",
    "FEED_HISTORY_MONTHS",
    "FEED_REFRESH_MINUTES",
    "FEED_CACHE_SECONDS",
    "API_PAGE_SIZE",
    "NEW_FEED_SIZE",
    "MAIL_MAX_ATTEMPTS",
    "MAIL_LEASE_SECONDS",
    "MAIL_REMINDER_DAYS",
    "PRIVACY_RETENTION_MONTHS",
    "ATTESTATION_RETENTION_YEARS",
    "EVALUATION_OPEN_DAYS",
    "MATERIALS_FOLDER",
    "MATERIALS_MAX_MEGABYTES",
)
INTEGER_SETTINGS = ("MAIL_PORT", "RESPONSE_CACHE_SIZE", "MODERATION_REPLY_DAYS",
                    "RETRY_AFTER_SECONDS", "SQLITE_BUSY_TIMEOUT_MS", "READINESS_DEADLINE_MS",
                    "PROXY_COUNT",
                    "FEED_HISTORY_MONTHS", "FEED_REFRESH_MINUTES", "FEED_CACHE_SECONDS",
                    "API_PAGE_SIZE", "NEW_FEED_SIZE",
                    "MAIL_MAX_ATTEMPTS", "MAIL_LEASE_SECONDS", "MAIL_REMINDER_DAYS",
                    "PRIVACY_RETENTION_MONTHS", "ATTESTATION_RETENTION_YEARS",
                    "EVALUATION_OPEN_DAYS", "MATERIALS_MAX_MEGABYTES")


class Defaults:
    """Every setting the application reads, with a value that works for development."""

    SCHEDULER_ENV = "development"
    SECRET_KEY: str | None = None
    DATABASE_URL: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # None: in development, the address the page was asked on (so `PORT=5077 make run` links
    # to 5077); elsewhere http://127.0.0.1:5000. Production sets it.
    PUBLIC_BASE_URL: str | None = None
    ORGANISATION_NAME = "Vereniging van Vlaamse Steden en Gemeenten"
    PROGRAMME_NAME = "Lokale aanpak van radicalisering"
    HELPDESK_EMAIL = "radicalisering@vvsg.be"
    # What a closed group promises: staff answer every registration within these working days.
    MODERATION_REPLY_DAYS = 5
    TIMEZONE = "Europe/Brussels"
    BABEL_DEFAULT_LOCALE = "nl_BE"
    BABEL_DEFAULT_TIMEZONE = "Europe/Brussels"
    AGENDA_PAGE_SIZE = 20
    API_PAGE_SIZE = 50
    # Entries in /nieuw.atom, the feed of newly published activities.
    NEW_FEED_SIZE = 30
    # Public responses kept in memory per process while the data is unchanged; 0 turns it off.
    RESPONSE_CACHE_SIZE = 256
    # Feeds keep activities (cancelled ones too) until this many months after they ended.
    FEED_HISTORY_MONTHS = 12
    # What feeds ask calendar programs (REFRESH-INTERVAL) and caches (max-age) to respect.
    FEED_REFRESH_MINUTES = 60
    FEED_CACHE_SECONDS = 300
    MAIL_SERVER: str | None = None
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_DEFAULT_SENDER = "radicalisering@vvsg.be"
    # Registrations are anonymised this many months after their activity (flask privacy purge).
    PRIVACY_RETENTION_MONTHS = 12
    # An attestation of attendance can be verified this many years after the activity; then
    # its record (name, activity, dates, hours) is deleted by flask privacy purge.
    ATTESTATION_RETENTION_YEARS = 5
    # The evaluation form takes answers until this many days after the activity; then its
    # one-use links are deleted by flask privacy purge.
    EVALUATION_OPEN_DAYS = 30
    # Where uploaded materials are kept; None: the folder "materials" in the instance folder.
    MATERIALS_FOLDER: str | None = None
    MATERIALS_MAX_MEGABYTES = 20
    MAIL_MAX_ATTEMPTS = 8
    MAIL_LEASE_SECONDS = 600
    MAIL_REMINDER_DAYS = 2
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    REGISTRATION_RATE_LIMIT = "20 per minute; 200 per hour"
    LOGIN_RATE_LIMIT = "10 per minute; 50 per hour"
    OVERVIEW_RATE_LIMIT = "10 per hour"
    OVERVIEW_ADDRESS_RATE_LIMIT = "3 per hour"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    WTF_CSRF_TIME_LIMIT = None
    MAX_CONTENT_LENGTH = 256 * 1024
    # One JSON line per request and per mail attempt on stderr.
    REQUEST_LOG = True
    # Reverse proxies in front that set X-Forwarded-For/-Proto (nginx, Caddy: 1). Without it,
    # behind a proxy every visitor has the proxy's address and shares one rate limit.
    PROXY_COUNT = 0
    # What a visitor's browser is told to wait when the database is briefly away (503).
    RETRY_AFTER_SECONDS = 30
    # How long a SQLite write waits for a writer outside the app (a backup, the sqlite3 shell)
    # before the visitor gets a 503; the app's own processes queue on a lock file instead.
    SQLITE_BUSY_TIMEOUT_MS = 30_000
    # /readyz answers 503 "slow" when the database takes longer than this: a monitor polls
    # often, and a database this slow is as good as down for a visitor.
    READINESS_DEADLINE_MS = 1000


def read_environment(config: dict) -> None:
    """Copy the settings that are set in the environment into ``config``."""
    for name in ENVIRONMENT_SETTINGS:
        value = os.environ.get(name)
        if value is None:
            continue
        if name in INTEGER_SETTINGS:
            config[name] = int(value)
        elif name in ("MAIL_USE_TLS", "MAIL_USE_SSL", "REQUEST_LOG"):
            config[name] = value.strip().lower() in ("1", "true", "yes", "on")
        else:
            config[name] = value
    if os.environ.get("SCHEDULER_ENV"):
        config["SCHEDULER_ENV"] = os.environ["SCHEDULER_ENV"].strip().lower().strip().lower()


def database_uri(config: dict, instance_path: str) -> str:
    """The SQLAlchemy URL: ``DATABASE_URL`` or the embedded SQLite file in the instance folder."""
    url = config.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{Path(instance_path) / 'scheduler.sqlite'}"
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants the driver spelled out.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def ensure_secret_key(config: dict, instance_path: str) -> None:
    """Refuse to start production without a secret; in development keep one in instance/."""
    if config["SCHEDULER_ENV"] == "production" and not config.get("PUBLIC_BASE_URL"):
        raise RuntimeError(
            "PUBLIC_BASE_URL is not set. Production needs the site's address for the links in "
            "mails and feeds, e.g. PUBLIC_BASE_URL=https://agenda.example.org.")
    if config.get("SECRET_KEY"):
        return
    if config["SCHEDULER_ENV"] == "production":
        raise RuntimeError(
            "SECRET_KEY is not set. Production needs a fixed secret key: set the SECRET_KEY "
            "environment variable or SECRET_KEY in instance/config.py."
        )
    key_file = Path(instance_path) / "secret_key"
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    config["SECRET_KEY"] = key_file.read_text().strip()
