"""Dagster resources, configured once: the app database, the pipeline's policy and the YouTube client.

Values come from `dg.EnvVar` when the variable is set (so the UI shows the variable's name, never a
secret), else from the documented defaults in channel_assets.settings.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime

import dagster as dg
from sqlalchemy import Engine

from channel_assets.db.cleanup.safety import Limits
from channel_assets.db.core.engine import engine_for
from channel_assets.db.refresh.quota_ledger import QuotaLedger
from channel_assets.settings import Settings, load_settings


def env_or_none(name: str) -> dg.EnvVar | None:
    return dg.EnvVar(name) if os.environ.get(name) else None


def env_int_or(name: str, default: int) -> dg.EnvVar | int:
    return dg.EnvVar.int(name) if os.environ.get(name) else default


class AppDatabase(dg.ConfigurableResource):
    """The gallery app's database (PostgreSQL; the embedded one when no URL is given)."""

    database_url: str | None = None

    @property
    def url(self) -> str:
        return self.database_url or load_settings().database_url

    @property
    def engine(self) -> Engine:
        return engine_for(self.url)


class YouTubeApi(dg.ConfigurableResource):
    """The YouTube Data API v3 (or the local emulator): one pooled client per run."""

    api_key: str | None = None
    base_url: str | None = None
    feed_base_url: str | None = None
    max_calls_in_flight: int | None = None
    max_feeds_in_flight: int | None = None

    def new_client(self, quota):
        """A pooled client whose every call reserves its unit in `quota` first; the caller closes it.

        One per step, so each step's quota gate counts exactly its own calls."""
        from channel_assets.youtube import YouTubeClient

        settings = load_settings()
        return YouTubeClient(
            self.base_url or settings.youtube_api_base_url,
            self.api_key or settings.youtube_api_key,
            quota=quota,
            feed_base_url=self.feed_base_url or settings.youtube_feed_base_url,
            max_connections=max(self.in_flight * 2, 8),
            max_feeds_in_flight=self.feeds_in_flight,
        )

    @property
    def in_flight(self) -> int:
        return self.max_calls_in_flight or load_settings().max_calls_in_flight

    @property
    def feeds_in_flight(self) -> int:
        """Feed requests at once: no quota, so not bounded by the API's in-flight cap."""
        return self.max_feeds_in_flight or load_settings().max_feeds_in_flight


DEFAULTS = load_settings({})  # the documented defaults, defined once in channel_assets.settings


class PipelinePolicy(dg.ConfigurableResource):
    """The operator's rules, set once and shown in the UI's resource view: quota share, cool-down, the
    cleanup's safety limits and dry run, log retention. Defaults are the documented ones."""

    quota_daily_limit: int = DEFAULTS.quota_daily_limit
    quota_pipeline_share: float = DEFAULTS.quota_pipeline_share
    cooldown_days: int = DEFAULTS.cooldown_days
    log_retention_days: int = DEFAULTS.log_retention_days
    cleanup_dry_run: bool = DEFAULTS.dry_run
    max_watch_rows: int = DEFAULTS.max_watch_rows
    max_users: int = DEFAULTS.max_users
    max_videos: int = DEFAULTS.max_videos

    @property
    def quota_pipeline_limit(self) -> int:
        """Units per Pacific day the pipeline may spend; the rest is left for the app."""
        return int(self.quota_daily_limit * self.quota_pipeline_share)

    @property
    def limits(self) -> Limits:
        return Limits(self.max_watch_rows, self.max_users, self.max_videos)

    @classmethod
    def from_settings(cls, s: Settings) -> PipelinePolicy:
        """Plain values, for use outside Dagster (the CLI); Definitions use build_policy()."""
        return cls(quota_daily_limit=s.quota_daily_limit, quota_pipeline_share=s.quota_pipeline_share,
                   cooldown_days=s.cooldown_days, log_retention_days=s.log_retention_days,
                   cleanup_dry_run=s.dry_run, max_watch_rows=s.max_watch_rows, max_users=s.max_users,
                   max_videos=s.max_videos)

    def ledger(self, engine: Engine, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> QuotaLedger:
        """The quota ledger at the pipeline's share (the one place it is built from the policy)."""
        return QuotaLedger(engine, self.quota_pipeline_limit, now=now)


def build_policy() -> PipelinePolicy:
    """The policy from the environment: validated once (one line naming a bad variable), then each set
    variable passed as a dg.EnvVar so the UI shows where a value comes from."""
    s = load_settings()
    return PipelinePolicy(
        quota_daily_limit=env_int_or("YOUTUBE_QUOTA_DAILY_LIMIT", s.quota_daily_limit),
        quota_pipeline_share=s.quota_pipeline_share,
        cooldown_days=env_int_or("CHANNEL_ASSETS_COOLDOWN_DAYS", s.cooldown_days),
        log_retention_days=env_int_or("CHANNEL_ASSETS_LOG_RETENTION_DAYS", s.log_retention_days),
        cleanup_dry_run=s.dry_run,
        max_watch_rows=env_int_or("CHANNEL_ASSETS_MAX_WATCH_ROWS", s.max_watch_rows),
        max_users=env_int_or("CHANNEL_ASSETS_MAX_USERS", s.max_users),
        max_videos=env_int_or("CHANNEL_ASSETS_MAX_VIDEOS", s.max_videos),
    )


def build_resources() -> dict[str, dg.ConfigurableResource]:
    return {
        "app_db": AppDatabase(database_url=env_or_none("CHANNEL_ASSETS_DATABASE_URL")),
        "policy": build_policy(),
        "youtube": YouTubeApi(
            api_key=env_or_none("YOUTUBE_API_KEY"),
            base_url=env_or_none("YOUTUBE_API_BASE_URL"),
            feed_base_url=env_or_none("YOUTUBE_FEED_BASE_URL"),
            max_calls_in_flight=env_int_or("YOUTUBE_MAX_CALLS_IN_FLIGHT", DEFAULTS.max_calls_in_flight),
            max_feeds_in_flight=env_int_or("YOUTUBE_MAX_FEEDS_IN_FLIGHT", DEFAULTS.max_feeds_in_flight),
        ),
    }
