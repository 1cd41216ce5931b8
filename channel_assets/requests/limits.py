"""The limits on the app's requests, read from their settings (declared once in channel_assets.settings).

Read per call from the environment of the process that calls (the app's, for the API; the pipeline's in a
run), so the app needs no setting at all: each has a default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

from channel_assets.settings import SETTINGS, pipeline_quota_limit, read_fields

FIELDS = ("requests_user_per_hour", "requests_user_max_ids", "requests_user_max_pending",
          "requests_user_quota_share", "requests_fresh_minutes", "quota_daily_limit", "quota_pipeline_share",
          "video_quota_share")


@dataclass(frozen=True)
class RequestLimits:
    user_per_hour: int = 10
    user_max_ids: int = 10
    user_max_pending: int = 3
    user_quota_share: float = 0.1  # of the pipeline's share
    fresh_minutes: int = 5
    daily_limit: int = 10_000
    pipeline_share: float = 0.8
    video_share: float = 0.25  # of the pipeline's share: video requests spend it, as the video refresh does

    @classmethod
    def from_environment(cls) -> RequestLimits:
        """From the settings' variables (a wrong value raises SettingsError, one line naming it)."""
        v = read_fields({name: os.environ.get(SETTINGS[name].variable) for name in FIELDS})
        return cls(v["requests_user_per_hour"], v["requests_user_max_ids"], v["requests_user_max_pending"],
                   v["requests_user_quota_share"], v["requests_fresh_minutes"], v["quota_daily_limit"],
                   v["quota_pipeline_share"], v["video_quota_share"])

    @property
    def pipeline_limit(self) -> int:
        """The pipeline's units a Pacific day (as PipelinePolicy.quota_pipeline_limit)."""
        return pipeline_quota_limit(self.daily_limit, self.pipeline_share)

    @property
    def user_quota_limit(self) -> int:
        """Units a Pacific day all user requests together may spend, within the pipeline's share."""
        return int(self.pipeline_limit * self.user_quota_share)

    @property
    def video_limit(self) -> int:
        """Units a Pacific day video refreshes may spend (as PipelinePolicy.video_quota_limit)."""
        return int(self.pipeline_limit * self.video_share)

    @property
    def fresh_for(self) -> timedelta:
        return timedelta(minutes=self.fresh_minutes)
