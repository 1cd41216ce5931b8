"""The refresh domain's Dagster definitions; resources are added by channel_assets.definitions."""

import dagster as dg

from channel_assets.refresh.assets import (
    channel_freshness_report,
    channel_metadata,
    channel_statistics,
    channel_uploads,
)
from channel_assets.refresh.checks import metadata_checks
from channel_assets.refresh.jobs import (
    force_refresh_channels,
    freshness_report_job,
    priority_refresh_job,
    refresh_all_shards_job,
    set_channel_flags,
    statistics_job,
)
from channel_assets.refresh.schedules import refresh_schedules
from channel_assets.refresh.sensors import new_subscription_sensor

defs = dg.Definitions(
    assets=[channel_metadata, channel_uploads, channel_statistics, channel_freshness_report],
    asset_checks=metadata_checks,
    schedules=refresh_schedules,
    sensors=[new_subscription_sensor],
    jobs=[refresh_all_shards_job, priority_refresh_job, statistics_job, freshness_report_job, force_refresh_channels,
          set_channel_flags],
)
