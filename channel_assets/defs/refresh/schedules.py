"""Schedules: the daily 02:00 UTC cycle (seed), a catch-up after the quota reset (00:15 Pacific), priority
and retries every 30 minutes, daily series. Times and time zones come from refresh.timetable.

The shard runs carry the partition-range tags so all 16 shards go in one single-run backfill; on an
already-fresh database such a run selects nothing due and spends no quota. Every scheduled run carries
its time limit (run monitoring cancels an overrun and the run-failure alert reports it).
"""

import dagster as dg

from channel_assets.db.core.sharding import shard_keys
from channel_assets.defs.refresh.jobs import (
    priority_refresh_job,
    refresh_all_shards_job,
    statistics_job,
)
from channel_assets.refresh.timetable import cron, run_time_limit_tags, timezone

ALL_SHARDS_TAGS = {"dagster/asset_partition_range_start": shard_keys()[0],
                   "dagster/asset_partition_range_end": shard_keys()[-1]}


def _all_shards(context: dg.ScheduleEvaluationContext, name: str) -> dg.RunRequest:
    return dg.RunRequest(run_key=context.scheduled_execution_time.isoformat(),
                         tags=ALL_SHARDS_TAGS | run_time_limit_tags(name))


@dg.schedule(job=refresh_all_shards_job, cron_schedule=cron("daily_full_refresh"),
             execution_timezone=timezone("daily_full_refresh"), name="daily_full_refresh",
             default_status=dg.DefaultScheduleStatus.RUNNING)
def daily_full_refresh(context: dg.ScheduleEvaluationContext):
    return _all_shards(context, "daily_full_refresh")


@dg.schedule(job=refresh_all_shards_job, cron_schedule=cron("quota_reset_catch_up"),
             execution_timezone=timezone("quota_reset_catch_up"), name="quota_reset_catch_up",
             default_status=dg.DefaultScheduleStatus.RUNNING,
             description="After YouTube's quota reset (midnight America/Los_Angeles): what a spent quota "
                         "deferred, and anything else due, refreshed at once; fresh channels are not due.")
def quota_reset_catch_up(context: dg.ScheduleEvaluationContext):
    return _all_shards(context, "quota_reset_catch_up")


@dg.schedule(job=priority_refresh_job, cron_schedule=cron("priority_refresh"),
             execution_timezone=timezone("priority_refresh"), name="priority_refresh",
             default_status=dg.DefaultScheduleStatus.RUNNING)
def priority_refresh(context: dg.ScheduleEvaluationContext):
    return _all_shards(context, "priority_refresh")


def today_request(context: dg.ScheduleEvaluationContext, name: str) -> dg.RunRequest:
    return dg.RunRequest(partition_key=context.scheduled_execution_time.strftime("%Y-%m-%d"),
                         tags=run_time_limit_tags(name))


@dg.schedule(job=statistics_job, cron_schedule=cron("daily_statistics"), execution_timezone=timezone("daily_statistics"),
             name="daily_statistics", default_status=dg.DefaultScheduleStatus.RUNNING)
def daily_statistics(context: dg.ScheduleEvaluationContext):
    return today_request(context, "daily_statistics")


refresh_schedules = [daily_full_refresh, quota_reset_catch_up, priority_refresh, daily_statistics]
