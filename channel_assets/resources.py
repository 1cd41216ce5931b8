"""Dagster resources, configured once: the app database, the quota ledger and the YouTube client.

Values come from `dg.EnvVar` when the variable is set (so the UI shows the variable's name, never a
secret), else from the documented defaults in channel_assets.settings.
"""

from __future__ import annotations

import os

import dagster as dg
from sqlalchemy import Engine

from channel_assets.db.engine import engine_for
from channel_assets.settings import Settings, load_settings


def env_or_none(name: str) -> dg.EnvVar | None:
    return dg.EnvVar(name) if os.environ.get(name) else None


class AppDatabase(dg.ConfigurableResource):
    """The gallery app's database (SQLite by default, PostgreSQL in production)."""

    database_url: str | None = None

    @property
    def settings(self) -> Settings:
        return load_settings()

    @property
    def url(self) -> str:
        return self.database_url or self.settings.database_url

    @property
    def engine(self) -> Engine:
        return engine_for(self.url)


class YouTubeApi(dg.ConfigurableResource):
    """The YouTube Data API v3 (or the local emulator): one pooled client per run."""

    api_key: str | None = None
    base_url: str | None = None
    feed_base_url: str | None = None
    max_calls_in_flight: int | None = None

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
        )

    @property
    def in_flight(self) -> int:
        return self.max_calls_in_flight or load_settings().max_calls_in_flight


def build_resources() -> dict[str, dg.ConfigurableResource]:
    return {
        "app_db": AppDatabase(database_url=env_or_none("CHANNEL_ASSETS_DATABASE_URL")),
        "youtube": YouTubeApi(
            api_key=env_or_none("YOUTUBE_API_KEY"),
            base_url=env_or_none("YOUTUBE_API_BASE_URL"),
            feed_base_url=env_or_none("YOUTUBE_FEED_BASE_URL"),
        ),
    }
