"""Configuration read once from the environment, validated, with documented defaults.

Every knob lives here so that a wrong value fails at start with one line naming the variable,
instead of as a traceback deep inside a run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PROJECT_ROOT / ".data"
GOOGLE_API_BASE_URL = "https://www.googleapis.com"
GOOGLE_FEED_BASE_URL = "https://www.youtube.com"


class SettingsError(ValueError):
    """A configuration value is wrong; the message names the variable and is one line."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    youtube_api_key: str
    youtube_api_base_url: str
    youtube_feed_base_url: str
    quota_daily_limit: int
    quota_pipeline_share: float
    max_calls_in_flight: int
    max_feeds_in_flight: int
    cooldown_days: int
    log_retention_days: int
    dry_run: bool
    max_watch_rows: int
    max_users: int
    max_videos: int

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.__dict__.items() if k != "youtube_api_key"}
        shown["youtube_api_key"] = "***" if self.youtube_api_key else ""
        return f"Settings({shown})"


# (variable, default, description): every variable the project reads; test_settings checks that the
# README's configuration table lists each of them.
VARIABLES: tuple[tuple[str, str, str], ...] = (
    ("CHANNEL_ASSETS_DATABASE_URL", "the embedded PostgreSQL in <project>/.data/pg",
     "SQLAlchemy URL of the app database (postgresql+psycopg://; plain postgresql:// is accepted)."),
    ("YOUTUBE_API_KEY", "(empty)", "YouTube Data API v3 key; never logged."),
    ("YOUTUBE_API_BASE_URL", GOOGLE_API_BASE_URL, "API root; the demo points it at the local emulator."),
    ("YOUTUBE_FEED_BASE_URL", "same as YOUTUBE_API_BASE_URL unless that is Google's, then "
     + GOOGLE_FEED_BASE_URL, "Root of the public /feeds/videos.xml feed."),
    ("YOUTUBE_QUOTA_DAILY_LIMIT", "10000", "Units per Pacific-time day granted to the project."),
    ("YOUTUBE_QUOTA_PIPELINE_SHARE", "0.8", "Fraction of the daily limit this pipeline may spend (0 < x ≤ 1)."),
    ("YOUTUBE_MAX_CALLS_IN_FLIGHT", "16", "Concurrent API calls per run."),
    ("YOUTUBE_MAX_FEEDS_IN_FLIGHT", "32", "Concurrent public-feed requests per run (no quota; separate from API calls)."),
    ("CHANNEL_ASSETS_COOLDOWN_DAYS", "7", "Days between soft delete and hard delete of an orphan."),
    ("CHANNEL_ASSETS_LOG_RETENTION_DAYS", "90", "Days update-log rows are kept."),
    ("CHANNEL_ASSETS_CLEANUP_DRY_RUN", "false", "true: cleanup reports what it would remove and changes nothing."),
    ("CHANNEL_ASSETS_MAX_WATCH_ROWS", "10000", "Safety: hold a removal touching this many watch rows or more."),
    ("CHANNEL_ASSETS_MAX_USERS", "1000", "Safety: hold a removal affecting this many users or more."),
    ("CHANNEL_ASSETS_MAX_VIDEOS", "100", "Safety: hold a removal leaving this many videos channel-less or more."),
    # Alerts (channel_assets.alerts.config reads these); secrets are never logged or shown.
    ("CHANNEL_ASSETS_UI_URL", "http://127.0.0.1:3000", "Dagster UI root used for links in alerts."),
    ("CHANNEL_ASSETS_ALERTS_SLACK_TOKEN", "(empty)", "Slack bot token (chat.postMessage); secret."),
    ("CHANNEL_ASSETS_ALERTS_SLACK_CHANNEL", "(empty)", "Slack channel id or #name for the bot token."),
    ("CHANNEL_ASSETS_ALERTS_SLACK_API_URL", "https://slack.com/api", "Slack Web API root (tests point it at a local server)."),
    ("CHANNEL_ASSETS_ALERTS_SLACK_WEBHOOK_URL", "(empty)", "Slack incoming webhook URL (instead of a token); secret."),
    ("CHANNEL_ASSETS_ALERTS_SMTP_HOST", "(empty)", "SMTP server for email alerts."),
    ("CHANNEL_ASSETS_ALERTS_SMTP_PORT", "587", "SMTP port."),
    ("CHANNEL_ASSETS_ALERTS_SMTP_STARTTLS", "true", "Upgrade the SMTP connection with STARTTLS."),
    ("CHANNEL_ASSETS_ALERTS_SMTP_USER", "(empty)", "SMTP login (no login when empty)."),
    ("CHANNEL_ASSETS_ALERTS_SMTP_PASSWORD", "(empty)", "SMTP password; secret."),
    ("CHANNEL_ASSETS_ALERTS_SMTP_FROM", "(empty)", "Sender address of alert emails."),
    ("CHANNEL_ASSETS_ALERTS_SMTP_TO", "(empty)", "Recipients, comma-separated."),
    ("CHANNEL_ASSETS_ALERTS_WEBHOOK_URL", "(empty)", "Generic webhook: each alert POSTed as JSON; secret."),
    ("CHANNEL_ASSETS_ALERTS_SILENCE", "(empty)", "Conditions not sent, comma-separated patterns (e.g. quota_75,check:*)."),
    ("CHANNEL_ASSETS_ALERTS_DIGEST_HOUR", "7", "UTC hour after which the daily digest is sent."),
)


EMBEDDED_PGDATA = DEFAULT_DATA_DIR / "pg"


def default_database_url() -> str:
    """The embedded PostgreSQL's database (started by the `channel-assets` commands that need it)."""
    from channel_assets.db.core.embedded import expected_url

    return expected_url(EMBEDDED_PGDATA)


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be >= {minimum}, got {value}")
    return value


def _share(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number between 0 and 1, got {raw!r}") from None
    if not 0 < value <= 1:
        raise SettingsError(f"{name} must be between 0 (exclusive) and 1, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _http_url(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name, "").strip() or default
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise SettingsError(f"{name} must be an http(s) URL like https://host[:port], got {raw!r}")
    return raw.rstrip("/")


def _database_url(env: Mapping[str, str]) -> str:
    name = "CHANNEL_ASSETS_DATABASE_URL"
    raw = env.get(name, "").strip()
    if not raw:
        return default_database_url()
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    if scheme.startswith("sqlite"):
        raise SettingsError(
            f"{name}: PostgreSQL is required (postgresql+psycopg://…); leave it unset for the embedded one"
        )
    if scheme not in {"postgresql", "postgresql+psycopg"}:
        got = f"scheme {scheme!r}" if scheme else "no scheme"  # never the URL itself: it may hold a password
        raise SettingsError(f"{name} must start with postgresql+psycopg://, got {got}")
    if scheme == "postgresql":
        raw = "postgresql+psycopg://" + raw.split("://", 1)[1]
    return raw


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every setting; raises SettingsError with a one-line message."""
    env = os.environ if env is None else env
    api_base = _http_url(env, "YOUTUBE_API_BASE_URL", GOOGLE_API_BASE_URL)
    feed_default = GOOGLE_FEED_BASE_URL if api_base == GOOGLE_API_BASE_URL else api_base
    return Settings(
        database_url=_database_url(env),
        youtube_api_key=env.get("YOUTUBE_API_KEY", "").strip(),
        youtube_api_base_url=api_base,
        youtube_feed_base_url=_http_url(env, "YOUTUBE_FEED_BASE_URL", feed_default),
        quota_daily_limit=_int(env, "YOUTUBE_QUOTA_DAILY_LIMIT", 10_000, minimum=1),
        quota_pipeline_share=_share(env, "YOUTUBE_QUOTA_PIPELINE_SHARE", 0.8),
        max_calls_in_flight=_int(env, "YOUTUBE_MAX_CALLS_IN_FLIGHT", 16, minimum=1),
        max_feeds_in_flight=_int(env, "YOUTUBE_MAX_FEEDS_IN_FLIGHT", 32, minimum=1),
        cooldown_days=_int(env, "CHANNEL_ASSETS_COOLDOWN_DAYS", 7),
        log_retention_days=_int(env, "CHANNEL_ASSETS_LOG_RETENTION_DAYS", 90, minimum=1),
        dry_run=_bool(env, "CHANNEL_ASSETS_CLEANUP_DRY_RUN", False),
        max_watch_rows=_int(env, "CHANNEL_ASSETS_MAX_WATCH_ROWS", 10_000, minimum=1),
        max_users=_int(env, "CHANNEL_ASSETS_MAX_USERS", 1_000, minimum=1),
        max_videos=_int(env, "CHANNEL_ASSETS_MAX_VIDEOS", 100, minimum=1),
    )
