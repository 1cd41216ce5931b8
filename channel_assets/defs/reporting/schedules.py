"""The daily freshness report, after the night's refresh and statistics (times from refresh.timetable)."""

import dagster as dg

from channel_assets.defs.refresh.schedules import today_request
from channel_assets.defs.reporting.assets import freshness_report_job
from channel_assets.refresh.timetable import cron, timezone


@dg.schedule(job=freshness_report_job, cron_schedule=cron("daily_freshness_report"),
             execution_timezone=timezone("daily_freshness_report"), name="daily_freshness_report",
             default_status=dg.DefaultScheduleStatus.RUNNING)
def daily_freshness_report(context: dg.ScheduleEvaluationContext):
    return today_request(context, "daily_freshness_report")
