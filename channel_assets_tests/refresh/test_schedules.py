"""Seed 000's timing rules: a catch-up after the quota reset (midnight Pacific, DST included), failed
channels retried by the 30-minute run, and a time limit on every scheduled run that run monitoring enforces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import yaml
from dagster._core.storage.tags import MAX_RUNTIME_SECONDS_TAG
from dagster._daemon.monitoring import run_monitoring

from channel_assets.db.refresh.selection import select_due
from channel_assets.defs.alerts.sensors import cancel_reasons, run_failure_observation
from channel_assets.defs.refresh.schedules import (
    daily_full_refresh,
    daily_statistics,
    priority_refresh,
    quota_reset_catch_up,
    refresh_schedules,
)
from channel_assets.refresh.timetable import SCHEDULE_TIMES
from channel_assets.reporting.freshness_report import next_runs
from channel_assets_tests.refresh.test_tiers import ALL, NOW, add_channel, cid

ROOT = Path(__file__).resolve().parents[2]


def test_catch_up_fires_a_quarter_hour_after_the_pacific_quota_reset_in_both_seasons():
    assert quota_reset_catch_up.execution_timezone == "America/Los_Angeles"
    assert quota_reset_catch_up.cron_schedule == "15 0 * * *" and quota_reset_catch_up.job_name == "refresh_all_shards"
    winter = dict(next_runs(datetime(2026, 1, 10, 12, 0, tzinfo=UTC), SCHEDULE_TIMES))
    summer = dict(next_runs(datetime(2026, 7, 10, 12, 0, tzinfo=UTC), SCHEDULE_TIMES))
    assert winter["quota_reset_catch_up"] == datetime(2026, 1, 11, 8, 15, tzinfo=UTC)  # PST, UTC-8
    assert summer["quota_reset_catch_up"] == datetime(2026, 7, 11, 7, 15, tzinfo=UTC)  # PDT, UTC-7
    request = quota_reset_catch_up(dg.build_schedule_context(scheduled_execution_time=winter["quota_reset_catch_up"]))
    assert request.tags["dagster/asset_partition_range_end"] == "15"


def test_the_30_minute_run_retries_due_failed_channels_but_not_fresh_ones(engine):
    add_channel(engine, 1, failed_update_count=1, next_refresh_at=NOW - timedelta(minutes=1))  # retry due
    add_channel(engine, 2, failed_update_count=2, next_refresh_at=NOW + timedelta(minutes=30))  # backing off
    add_channel(engine, 3, next_refresh_at=NOW - timedelta(hours=1))  # due weekly: the daily run's
    add_channel(engine, 4, is_priority=True, next_refresh_at=NOW + timedelta(minutes=10))  # fresh
    assert [d.channel_id for d in select_due(engine, ALL, NOW, priority_only=True)] == [cid(1)]


def test_every_scheduled_run_carries_its_time_limit_and_monitoring_is_on():
    at = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    assert MAX_RUNTIME_SECONDS_TAG == "dagster/max_runtime"
    for schedule in refresh_schedules:
        assert int(schedule(dg.build_schedule_context(scheduled_execution_time=at)).tags[MAX_RUNTIME_SECONDS_TAG]) > 0
    limits = {s.name: s(dg.build_schedule_context(scheduled_execution_time=at)).tags[MAX_RUNTIME_SECONDS_TAG]
              for s in (daily_full_refresh, quota_reset_catch_up, priority_refresh, daily_statistics)}
    assert limits == {"daily_full_refresh": "7200", "quota_reset_catch_up": "7200", "priority_refresh": "1800",
                      "daily_statistics": "3600"}
    for config in ("dagster.yaml", "deploy/dagster.postgres.yaml"):
        assert yaml.safe_load((ROOT / config).read_text())["run_monitoring"]["enabled"] is True


def test_an_overrunning_scheduled_run_is_failed_by_monitoring_and_alerted_as_overrun(monkeypatch):
    """Dagster's own run-monitoring check on a run with the schedule's tags, its clock moved past the limit:
    the run is canceled and failed, and the run-failure alert reads it as 'exceeded its time limit'."""
    instance = dg.DagsterInstance.ephemeral()
    job = dg.GraphDefinition("g", node_defs=[dg.OpDefinition(name="noop", compute_fn=lambda ctx: None)]).to_job("j")
    tags = dict(daily_full_refresh(dg.build_schedule_context(scheduled_execution_time=NOW)).tags)
    run = instance.create_run_for_job(job, tags=tags | {"dagster/schedule_name": "daily_full_refresh"})
    started_at = 1.0e9
    record = instance.get_run_record_by_id(run.run_id)._replace(start_time=started_at)
    monkeypatch.setattr(run_monitoring, "get_current_timestamp", lambda: started_at + 7199.0)
    run_monitoring.check_run_timeout(instance, record, dg.get_dagster_logger(), 0)
    assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.NOT_STARTED  # within the limit
    monkeypatch.setattr(run_monitoring, "get_current_timestamp", lambda: started_at + 7201.0)
    run_monitoring.check_run_timeout(instance, record, dg.get_dagster_logger(), 0)
    failed = instance.get_run_by_id(run.run_id)
    assert failed.status == dg.DagsterRunStatus.FAILURE
    [failure] = [r.event_log_entry.dagster_event for r in instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records]
    observation = run_failure_observation(failed, failure, cancel_reasons(instance, run.run_id), "http://ui")
    assert observation.message.title == "Run of j exceeded its time limit"
    assert "maximum runtime of 7200 seconds" in observation.message.text
