"""The code location: every asset, check, job, schedule and sensor of channel_assets/defs, and the
resources they share, configured once."""

import dagster as dg

from channel_assets.defs.alerts.assets import alerts
from channel_assets.defs.alerts.resources import build_alert_channels
from channel_assets.defs.alerts.sensors import alerts_sensor, run_failure_alerts
from channel_assets.defs.cleanup.assets import cleanup_assets
from channel_assets.defs.cleanup.checks import cleanup_checks
from channel_assets.defs.cleanup.jobs import cleanup_jobs
from channel_assets.defs.cleanup.schedules import cleanup_schedules
from channel_assets.defs.cleanup.sensors import cleanup_sensors
from channel_assets.defs.refresh.assets import channel_metadata, channel_statistics, channel_uploads
from channel_assets.defs.refresh.checks import metadata_checks
from channel_assets.defs.refresh.jobs import refresh_jobs
from channel_assets.defs.refresh.schedules import refresh_schedules
from channel_assets.defs.refresh.sensors import new_subscription_sensor
from channel_assets.defs.reporting.assets import channel_freshness_report, freshness_report_job
from channel_assets.defs.reporting.schedules import daily_freshness_report
from channel_assets.defs.resources import build_resources
from channel_assets.defs.videos.assets import video_metadata

defs = dg.Definitions(
    assets=[channel_metadata, channel_uploads, channel_statistics, video_metadata, channel_freshness_report,
            *cleanup_assets, alerts],
    asset_checks=[*metadata_checks, *cleanup_checks],
    jobs=[*refresh_jobs, freshness_report_job, *cleanup_jobs],
    schedules=[*refresh_schedules, daily_freshness_report, *cleanup_schedules],
    sensors=[new_subscription_sensor, *cleanup_sensors, alerts_sensor, run_failure_alerts],
    resources={**build_resources(), "alert_channels": build_alert_channels()},
)
