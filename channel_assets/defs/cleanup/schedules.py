"""Daily cleanup at 03:00 UTC (the seed ran weekly; daily keeps orphans within the 7-day metric) and log retention.

The cleanup schedule starts STOPPED: an operator turns it on after reading a dry run on the new
deployment (see the README's operator guide). Log retention runs from the start.
"""

import dagster as dg

from channel_assets.defs.cleanup.jobs import cleanup_job, log_retention_job

daily_cleanup_schedule = dg.build_schedule_from_partitioned_job(
    cleanup_job, name="daily_cleanup", hour_of_day=3, minute_of_hour=0,
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
log_retention_schedule = dg.ScheduleDefinition(
    name="daily_log_retention", job=log_retention_job, cron_schedule="30 4 * * *", execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

cleanup_schedules = [daily_cleanup_schedule, log_retention_schedule]
