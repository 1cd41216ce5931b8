"""Every setting, declared once: its variable, default, bounds, secrecy and meaning, in one `setting(...)`.

That one declaration drives the parser (a wrong value fails at start with one line naming the variable,
never a traceback), the Dagster resources (each field a `dg.EnvVar` of its variable, see
channel_assets.defs.resources), the `channel-assets settings` command and the README's configuration
table (`settings_table()`; a test keeps the README equal to it).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PROJECT_ROOT / ".data"
EMBEDDED_PGDATA = DEFAULT_DATA_DIR / "pg"
GOOGLE_API_BASE_URL = "https://www.googleapis.com"
GOOGLE_FEED_BASE_URL = "https://www.youtube.com"


class SettingsError(ValueError):
    """A configuration value is wrong; the message names the variable and is one line."""


Parser = Callable[[str, str], object]  # (variable, raw text) -> value; raises SettingsError


def text(_name: str, raw: str) -> str:
    return raw


def integer(minimum: int = 0, maximum: int | None = None) -> Parser:
    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
        if value < minimum:
            raise SettingsError(f"{name} must be >= {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise SettingsError(f"{name} must be <= {maximum}, got {value}")
        return value

    parse.kind = int
    return parse


def fraction(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number between 0 and 1, got {raw!r}") from None
    if not 0 < value <= 1:
        raise SettingsError(f"{name} must be between 0 (exclusive) and 1, got {value}")
    return value


def boolean(name: str, raw: str) -> bool:
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def http_url(name: str, raw: str) -> str:
    """An http(s) root, without its trailing slash; empty stays empty (an optional URL)."""
    if not raw:
        return ""
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise SettingsError(f"{name} must be an http(s) URL like https://host[:port], got {raw!r}")
    return raw.rstrip("/")


def secret_http_url(name: str, raw: str) -> str:
    """Like http_url, but the error never repeats the value (such URLs carry a token)."""
    try:
        return http_url(name, raw)
    except SettingsError:
        raise SettingsError(f"{name} must be an http(s) URL (value not shown: it is a secret)") from None


def comma_list(_name: str, raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def default_database_url() -> str:
    """The embedded PostgreSQL's database (started by the `channel-assets` commands that need it)."""
    from channel_assets.db.core.embedded import expected_url

    return expected_url(EMBEDDED_PGDATA)


def database_url(name: str, raw: str) -> str:
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
    return "postgresql+psycopg://" + raw.split("://", 1)[1]


@dataclass(frozen=True)
class Setting:
    """One environment variable: how to read it, its default (as text) and what it means."""

    variable: str
    parse: Parser
    default: str
    doc: str
    secret: bool = False
    shown_default: str | None = None  # the README's default when the empty default means "computed"

    @property
    def is_int(self) -> bool:
        return getattr(self.parse, "kind", None) is int

    def read(self, raw: str | None) -> object:
        """The value of `raw` (the variable's text, None or blank for the default)."""
        return self.parse(self.variable, (raw or "").strip() or self.default)

    def readme_default(self) -> str:
        if self.shown_default is not None:
            return self.shown_default
        return f"`{self.default}`" if self.default else "(empty)"


def setting(variable: str, parse: Parser, default: str = "", doc: str = "", *, secret: bool = False,
            shown_default: str | None = None):
    """A Settings field declared by its variable (see Setting)."""
    return field(metadata={"setting": Setting(variable, parse, default, doc, secret, shown_default)})


@dataclass(frozen=True)
class Settings:
    database_url: str = setting(
        "CHANNEL_ASSETS_DATABASE_URL", database_url, secret=True,
        shown_default="the embedded PostgreSQL in `.data/pg/`",
        doc="SQLAlchemy URL of the app database, PostgreSQL only (`postgresql+psycopg://…`; plain "
            "`postgresql://` is accepted). A `sqlite://` URL is refused with one line.")
    db_lock_timeout_ms: int = setting(
        "CHANNEL_ASSETS_DB_LOCK_TIMEOUT_MS", integer(minimum=1), "500",
        doc="How long a pipeline statement waits for a row the app holds before it gives up (the batch is "
            "retried later in the run); app requests queued behind it wait no longer. See [Running beside the "
            "live app](#running-beside-the-live-app).")
    db_statement_timeout_s: int = setting(
        "CHANNEL_ASSETS_DB_STATEMENT_TIMEOUT_S", integer(minimum=1), "300",
        doc="Longest a pipeline statement may run (a runaway query is stopped, its batch retried later); "
            "migrations are exempt.")
    youtube_api_key: str = setting(
        "YOUTUBE_API_KEY", text, secret=True,
        doc="YouTube Data API v3 key. Never logged, never in metadata or errors.")
    youtube_api_base_url: str = setting(
        "YOUTUBE_API_BASE_URL", http_url, GOOGLE_API_BASE_URL,
        doc="API root; the demo points it at the local emulator.")
    youtube_feed_base_url: str = setting(
        "YOUTUBE_FEED_BASE_URL", http_url,
        shown_default=f"same as the API root, or `{GOOGLE_FEED_BASE_URL}` for Google's",
        doc="Root of the public `/feeds/videos.xml` feed.")
    quota_daily_limit: int = setting(
        "YOUTUBE_QUOTA_DAILY_LIMIT", integer(minimum=1), "10000",
        doc="Units per Pacific-time day granted to the Google project.")
    quota_pipeline_share: float = setting(
        "YOUTUBE_QUOTA_PIPELINE_SHARE", fraction, "0.8",
        doc="Fraction of the daily limit this pipeline may spend; the rest is left for the app.")
    video_quota_share: float = setting(
        "CHANNEL_ASSETS_VIDEO_QUOTA_SHARE", fraction, "0.25",
        doc="Part of the pipeline's share the video metadata refresh may spend per day, after the due "
            "channels; what it leaves unused is never given to anything else.")
    video_new_days: int = setting(
        "CHANNEL_ASSETS_VIDEO_NEW_DAYS", integer(minimum=1), "7",
        doc="Videos published fewer days ago are refreshed daily.")
    video_recent_days: int = setting(
        "CHANNEL_ASSETS_VIDEO_RECENT_DAYS", integer(minimum=1), "90",
        doc="Videos published fewer days ago are refreshed weekly; older ones monthly.")
    video_watched_days: int = setting(
        "CHANNEL_ASSETS_VIDEO_WATCHED_DAYS", integer(minimum=1), "30",
        doc="Videos any user watched in this many days are refreshed at least weekly.")
    max_calls_in_flight: int = setting(
        "YOUTUBE_MAX_CALLS_IN_FLIGHT", integer(minimum=1), "16", doc="Concurrent API calls per run.")
    max_feeds_in_flight: int = setting(
        "YOUTUBE_MAX_FEEDS_IN_FLIGHT", integer(minimum=1), "32",
        doc="Concurrent public-feed requests per run (no quota, so separate from the API cap; see "
            "[Performance](#performance)).")
    cooldown_days: int = setting(
        "CHANNEL_ASSETS_COOLDOWN_DAYS", integer(), "7",
        doc="Days between soft delete and hard delete of an orphaned channel.")
    log_retention_days: int = setting(
        "CHANNEL_ASSETS_LOG_RETENTION_DAYS", integer(minimum=1), "90",
        doc="Days `channel_update_logs` rows are kept.")
    dry_run: bool = setting(
        "CHANNEL_ASSETS_CLEANUP_DRY_RUN", boolean, "false",
        doc="`true`: cleanup reports what it would remove and changes nothing.")
    max_watch_rows: int = setting(
        "CHANNEL_ASSETS_MAX_WATCH_ROWS", integer(minimum=1), "10000",
        doc="Safety rule: hold a removal touching this many watch-history rows or more.")
    max_users: int = setting(
        "CHANNEL_ASSETS_MAX_USERS", integer(minimum=1), "1000",
        doc="Safety rule: hold a removal affecting this many users or more.")
    max_videos: int = setting(
        "CHANNEL_ASSETS_MAX_VIDEOS", integer(minimum=1), "100",
        doc="Safety rule: hold a removal leaving this many videos channel-less or more.")
    ui_url: str = setting(
        "CHANNEL_ASSETS_UI_URL", http_url, "http://127.0.0.1:3000",
        doc="Dagster UI root used for the links in alerts.")
    slack_token: str = setting(
        "CHANNEL_ASSETS_ALERTS_SLACK_TOKEN", text, secret=True,
        doc="Slack bot token (`chat:write`), sent with `chat.postMessage`. Secret.")
    slack_channel: str = setting(
        "CHANNEL_ASSETS_ALERTS_SLACK_CHANNEL", text,
        doc="Channel id or `#name` for the bot token (required with it).")
    slack_api_url: str = setting(
        "CHANNEL_ASSETS_ALERTS_SLACK_API_URL", http_url, "https://slack.com/api",
        doc="Slack Web API root (tests point it at a local server).")
    slack_webhook_url: str = setting(
        "CHANNEL_ASSETS_ALERTS_SLACK_WEBHOOK_URL", secret_http_url, secret=True,
        doc="Slack incoming webhook, used when no token is set. Secret.")
    smtp_host: str = setting(
        "CHANNEL_ASSETS_ALERTS_SMTP_HOST", text, doc="SMTP server; email alerts are on when set.")
    smtp_port: int = setting("CHANNEL_ASSETS_ALERTS_SMTP_PORT", integer(minimum=1, maximum=65535), "587",
                             doc="SMTP port.")
    smtp_starttls: bool = setting(
        "CHANNEL_ASSETS_ALERTS_SMTP_STARTTLS", boolean, "true",
        doc="Upgrade the connection with STARTTLS before logging in.")
    smtp_user: str = setting("CHANNEL_ASSETS_ALERTS_SMTP_USER", text, doc="SMTP login; no login when empty.")
    smtp_password: str = setting("CHANNEL_ASSETS_ALERTS_SMTP_PASSWORD", text, secret=True,
                                 doc="SMTP password. Secret.")
    smtp_from: str = setting("CHANNEL_ASSETS_ALERTS_SMTP_FROM", text,
                             doc="Sender address (required with the host).")
    smtp_to: tuple[str, ...] = setting("CHANNEL_ASSETS_ALERTS_SMTP_TO", comma_list,
                                       doc="Recipients, comma-separated (required with the host).")
    webhook_url: str = setting(
        "CHANNEL_ASSETS_ALERTS_WEBHOOK_URL", secret_http_url, secret=True,
        doc="Generic webhook: every alert POSTed as JSON. Secret (URLs often carry a token).")
    silence: tuple[str, ...] = setting(
        "CHANNEL_ASSETS_ALERTS_SILENCE", comma_list,
        doc="Conditions not sent, comma-separated, `*` wildcards: e.g. `quota_75,check:channel_metadata:*`.")
    digest_hour: int = setting("CHANNEL_ASSETS_ALERTS_DIGEST_HOUR", integer(maximum=23), "7",
                               doc="UTC hour from which the daily digest is sent.")

    def __repr__(self) -> str:
        shown = {f.name: "***" if SETTINGS[f.name].secret and getattr(self, f.name) else getattr(self, f.name)
                 for f in fields(self)}
        return f"Settings({shown})"


SETTINGS: dict[str, Setting] = {f.name: f.metadata["setting"] for f in fields(Settings)}


def read_fields(raw: Mapping[str, str | None]) -> dict[str, object]:
    """Parse the given fields' texts (field name -> raw text, None for the default) by their declarations."""
    return {name: SETTINGS[name].read(value) for name, value in raw.items()}


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate every setting; raises SettingsError with a one-line message."""
    env = os.environ if env is None else env
    values = read_fields({name: env.get(s.variable) for name, s in SETTINGS.items()})
    values["youtube_feed_base_url"] = resolve_feed_base_url(values["youtube_api_base_url"], values["youtube_feed_base_url"])
    return Settings(**values)


def resolve_feed_base_url(api_base_url: str, given: str) -> str:
    """The feed's root: as given, else the API's own root (the emulator serves both), else Google's feed host."""
    if given:
        return given
    return GOOGLE_FEED_BASE_URL if api_base_url == GOOGLE_API_BASE_URL else api_base_url


def settings_table() -> str:
    """The README's configuration table, from the declarations."""
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    rows += [f"| `{s.variable}` | {s.readme_default()} | {s.doc} |" for s in SETTINGS.values()]
    return "\n".join(rows)
