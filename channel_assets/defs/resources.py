"""Dagster resources, configured once: the app database, the pipeline's policy and the YouTube client.

Every field is one setting of channel_assets.settings (`setting_field`): from the environment it is that
variable as a `dg.EnvVar` (so the UI shows the variable's name, never a secret), else the declared
default. Integer settings are int fields (`dg.EnvVar.int`); the others are the variable's text, parsed
once per resource by the same declaration (Dagster's EnvVar feeds only str and int fields).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cached_property

import dagster as dg
from pydantic import Field
from sqlalchemy import Engine

from channel_assets.db.cleanup.safety import Limits
from channel_assets.db.core.engine import engine_for
from channel_assets.db.refresh.quota_ledger import QuotaLedger
from channel_assets.db.videos.tiering import VideoTierRules
from channel_assets.requests.limits import RequestLimits
from channel_assets.settings import (
    SETTINGS,
    Settings,
    load_settings,
    pipeline_quota_limit,
    resolve_feed_base_url,
)
from channel_assets.videos.tiers import video_tier_rules


def setting_field(name: str):
    """A resource field bound to the setting `name` (a Settings field): its default, and its variable and
    meaning as the description the UI shows."""
    s = SETTINGS[name]
    return Field(default=int(s.default) if s.is_int else s.default, description=f"{s.variable}: {s.doc}",
                 json_schema_extra={"setting": name})


def _setting_of(cls: type[dg.ConfigurableResource], field_name: str) -> str:
    return cls.model_fields[field_name].json_schema_extra["setting"]


def from_environment(cls: type[dg.ConfigurableResource], **given) -> dg.ConfigurableResource:
    """`cls` with each setting field set from the environment: `dg.EnvVar` for a variable that is set, the
    declared default otherwise. Validates the whole environment first: a wrong value is one line at load."""
    load_settings()
    values = {}
    for name in cls.model_fields:
        s = SETTINGS[_setting_of(cls, name)]
        if name not in given and os.environ.get(s.variable, "").strip():
            values[name] = dg.EnvVar.int(s.variable) if s.is_int else dg.EnvVar(s.variable)
    return cls(**values, **given)


def read_field(resource: dg.ConfigurableResource, field_name: str):
    """The field's value parsed by its setting's declaration (the resource holds the variable's text)."""
    return SETTINGS[_setting_of(type(resource), field_name)].read(str(getattr(resource, field_name)))


class AppDatabase(dg.ConfigurableResource):
    """The gallery app's database (PostgreSQL; the embedded one when no URL is given)."""

    database_url: str = setting_field("database_url")
    lock_timeout_ms: int = setting_field("db_lock_timeout_ms")
    statement_timeout_s: int = setting_field("db_statement_timeout_s")

    @cached_property
    def url(self) -> str:
        return read_field(self, "database_url")

    @property
    def engine(self) -> Engine:
        """The pipeline's sessions: named channel_assets, with the lock and statement timeouts."""
        return engine_for(self.url, lock_timeout_ms=self.lock_timeout_ms, statement_timeout_s=self.statement_timeout_s)


class YouTubeApi(dg.ConfigurableResource):
    """The YouTube Data API v3 (or the local emulator): one pooled client per step."""

    api_key: str = setting_field("youtube_api_key")
    base_url: str = setting_field("youtube_api_base_url")
    feed_base_url: str = setting_field("youtube_feed_base_url")
    max_calls_in_flight: int = setting_field("max_calls_in_flight")
    max_feeds_in_flight: int = setting_field("max_feeds_in_flight")

    def new_client(self, quota):
        """A pooled client whose every call reserves its unit in `quota` first; the caller closes it.

        One per step, so each step's quota gate counts exactly its own calls."""
        from channel_assets.youtube import YouTubeClient

        base = read_field(self, "base_url")
        return YouTubeClient(
            base, read_field(self, "api_key"), quota=quota,
            feed_base_url=resolve_feed_base_url(base, read_field(self, "feed_base_url")),
            max_connections=max(self.max_calls_in_flight * 2, 8),
            max_feeds_in_flight=self.max_feeds_in_flight,
        )


class PipelinePolicy(dg.ConfigurableResource):
    """The operator's rules, set once and shown in the UI's resource view: quota share, cool-down, the
    cleanup's safety limits and dry run, log retention."""

    quota_daily_limit: int = setting_field("quota_daily_limit")
    quota_pipeline_share: str = setting_field("quota_pipeline_share")
    cooldown_days: int = setting_field("cooldown_days")
    log_retention_days: int = setting_field("log_retention_days")
    cleanup_dry_run: str = setting_field("dry_run")
    max_watch_rows: int = setting_field("max_watch_rows")
    max_users: int = setting_field("max_users")
    max_videos: int = setting_field("max_videos")
    video_quota_share: str = setting_field("video_quota_share")
    video_new_days: int = setting_field("video_new_days")
    video_recent_days: int = setting_field("video_recent_days")
    video_watched_days: int = setting_field("video_watched_days")

    @cached_property
    def share(self) -> float:
        return read_field(self, "quota_pipeline_share")

    @property
    def video_quota_limit(self) -> int:
        """Units per Pacific day the video refresh may spend: its part of the pipeline's share."""
        return int(self.quota_pipeline_limit * read_field(self, "video_quota_share"))

    @property
    def video_tiers(self) -> VideoTierRules:
        return video_tier_rules(self.video_new_days, self.video_recent_days, self.video_watched_days)

    @cached_property
    def dry_run(self) -> bool:
        return read_field(self, "cleanup_dry_run")

    @property
    def quota_pipeline_limit(self) -> int:
        """Units per Pacific day the pipeline may spend; the rest is left for the app."""
        return pipeline_quota_limit(self.quota_daily_limit, self.share)

    @property
    def limits(self) -> Limits:
        return Limits(self.max_watch_rows, self.max_users, self.max_videos)

    @classmethod
    def from_settings(cls, s: Settings) -> PipelinePolicy:
        """Plain values, for use outside Dagster (the CLI)."""
        values = {name: getattr(s, _setting_of(cls, name)) for name in cls.model_fields}
        return cls(**{name: v if isinstance(v, int) and not isinstance(v, bool) else str(v).lower()
                      for name, v in values.items()})

    def ledger(self, engine: Engine, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> QuotaLedger:
        """The quota ledger at the pipeline's share (the one place it is built from the policy)."""
        return QuotaLedger(engine, self.quota_pipeline_limit, now=now)

    def video_ledger(self, engine: Engine, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> QuotaLedger:
        """The same ledger, its grants also capped at (and counted in) the video refresh's part."""
        return QuotaLedger(engine, self.quota_pipeline_limit, now=now, video_limit=self.video_quota_limit)


class AppRequestsPolicy(dg.ConfigurableResource):
    """The limits on the gallery app's requests (channel_assets.requests): per-user rate, flood caps, the
    user requests' part of the quota share, and how fresh a channel is answered from what is stored."""

    user_per_hour: int = setting_field("requests_user_per_hour")
    user_max_ids: int = setting_field("requests_user_max_ids")
    user_max_pending: int = setting_field("requests_user_max_pending")
    user_quota_share: str = setting_field("requests_user_quota_share")
    fresh_minutes: int = setting_field("requests_fresh_minutes")

    def limits(self, policy: PipelinePolicy) -> RequestLimits:
        return RequestLimits(self.user_per_hour, self.user_max_ids, self.user_max_pending,
                             read_field(self, "user_quota_share"), self.fresh_minutes, policy.quota_daily_limit,
                             policy.share, read_field(policy, "video_quota_share"))


def build_resources() -> dict[str, dg.ConfigurableResource]:
    return {"app_db": from_environment(AppDatabase), "policy": from_environment(PipelinePolicy),
            "youtube": from_environment(YouTubeApi), "requests_policy": from_environment(AppRequestsPolicy)}
