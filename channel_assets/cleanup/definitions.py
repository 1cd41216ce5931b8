"""The cleanup domain's Dagster objects; resources come from channel_assets.definitions."""

import dagster as dg

from channel_assets.cleanup.assets import cleanup_assets
from channel_assets.cleanup.checks import cleanup_checks
from channel_assets.cleanup.jobs import cleanup_jobs
from channel_assets.cleanup.schedules import cleanup_schedules
from channel_assets.cleanup.sensors import cleanup_sensors

defs = dg.Definitions(
    assets=cleanup_assets,
    asset_checks=cleanup_checks,
    jobs=cleanup_jobs,
    schedules=cleanup_schedules,
    sensors=cleanup_sensors,
)
