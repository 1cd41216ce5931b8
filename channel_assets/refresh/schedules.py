"""Schedules, all in UTC (explicit): the daily 02:00 cycle (seed), priority every 30 minutes, daily series.

The shard runs carry the partition-range tags so all 16 shards go in one single-run backfill; on an
already-fresh database such a run selects nothing due and spends no quota.
"""

import dagster as dg

from channel_assets.db.sharding import shard_keys
from channel_assets.refresh.jobs import (
    freshness_report_job,
    priority_refresh_job,
    refresh_all_shards_job,
    statistics_job,
)
from channel_assets.refresh.timetable import cron

ALL_SHARDS_TAGS = {"dagster/asset_partition_range_start": shard_keys()[0],
                   "dagster/asset_partition_range_end": shard_keys()[-1]}
TZ = "UTC"


def _all_shards(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return dg.RunRequest(run_key=context.scheduled_execution_time.isoformat(), tags=dict(ALL_SHARDS_TAGS))


@dg.schedule(job=refresh_all_shards_job, cron_schedule=cron("daily_full_refresh"), execution_timezone=TZ,
             name="daily_full_refresh", default_status=dg.DefaultScheduleStatus.RUNNING)
def daily_full_refresh(context: dg.ScheduleEvaluationContext):
    return _all_shards(context)


@dg.schedule(job=priority_refresh_job, cron_schedule=cron("priority_refresh"), execution_timezone=TZ,
             name="priority_refresh", default_status=dg.DefaultScheduleStatus.RUNNING)
def priority_refresh(context: dg.ScheduleEvaluationContext):
    return _all_shards(context)


def _today(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return dg.RunRequest(partition_key=context.scheduled_execution_time.strftime("%Y-%m-%d"))


@dg.schedule(job=statistics_job, cron_schedule=cron("daily_statistics"), execution_timezone=TZ,
             name="daily_statistics", default_status=dg.DefaultScheduleStatus.RUNNING)
def daily_statistics(context: dg.ScheduleEvaluationContext):
    return _today(context)


@dg.schedule(job=freshness_report_job, cron_schedule=cron("daily_freshness_report"), execution_timezone=TZ,
             name="daily_freshness_report", default_status=dg.DefaultScheduleStatus.RUNNING)
def daily_freshness_report(context: dg.ScheduleEvaluationContext):
    return _today(context)


refresh_schedules = [daily_full_refresh, priority_refresh, daily_statistics, daily_freshness_report]
