"""Daily cleanup at 03:00 UTC (the seed ran weekly; daily keeps orphans within the 7-day metric) and log retention."""

import dagster as dg

from channel_assets.cleanup.jobs import cleanup_job, log_retention_job

daily_cleanup_schedule = dg.build_schedule_from_partitioned_job(
    cleanup_job, name="daily_cleanup", hour_of_day=3, minute_of_hour=0
)
log_retention_schedule = dg.ScheduleDefinition(
    name="daily_log_retention", job=log_retention_job, cron_schedule="30 4 * * *", execution_timezone="UTC"
)

cleanup_schedules = [daily_cleanup_schedule, log_retention_schedule]
