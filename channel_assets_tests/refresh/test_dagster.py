"""Dagster-level: materialize shards (one, and all in one single run), checks, sensor, schedules, forced job."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from sqlalchemy import func, insert, select, update

from channel_assets.db.core.engine import transaction
from channel_assets.db.core.models import Channel, ChannelUpdateLog, User, UserChannel
from channel_assets.db.core.sharding import shard_of
from channel_assets.defs.refresh.assets import (
    channel_metadata,
    channel_statistics,
    channel_uploads,
)
from channel_assets.defs.refresh.checks import metadata_checks
from channel_assets.defs.refresh.jobs import force_refresh_channels
from channel_assets.defs.refresh.schedules import (
    ALL_SHARDS_TAGS,
    daily_full_refresh,
    daily_statistics,
    priority_refresh,
)
from channel_assets.defs.refresh.sensors import LOOKBACK, new_subscription_sensor
from channel_assets.defs.reporting.assets import channel_freshness_report
from channel_assets.defs.resources import AppDatabase, PipelinePolicy, YouTubeApi
from channel_assets.emulator import DEFAULT_API_KEY
from channel_assets.refresh.timetable import REPORT_RULES
from channel_assets.reporting.freshness_report import build_freshness_report, render_text

from .conftest import insert_channels


@pytest.fixture
def resources(engine, emulator):
    return {"app_db": AppDatabase(database_url=engine.url.render_as_string(hide_password=False)),
            "policy": PipelinePolicy(),
            "youtube": YouTubeApi(api_key=DEFAULT_API_KEY, base_url=emulator.base_url,
                                  feed_base_url=emulator.base_url, max_calls_in_flight=8)}


def run_config(now: datetime, *assets: str) -> dict:
    return {"ops": {name: {"config": {"now": now.isoformat()}} for name in assets}}


def test_one_shard_then_all_shards_in_one_run_with_checks(engine, emulator, resources):
    ids = emulator.ids(400)
    insert_channels(engine, ids)
    now = emulator.world.now
    instance = dg.DagsterInstance.ephemeral()
    shard = f"{shard_of(ids[0]):02d}"
    one = dg.materialize([channel_metadata], partition_key=shard, resources=resources, instance=instance,
                         run_config=run_config(now, "channel_metadata"))
    assert one.success
    md = one.asset_materializations_for_node("channel_metadata")[0].metadata
    in_shard = sum(1 for cid in ids if f"{shard_of(cid):02d}" == shard)
    assert md["due"].value == in_shard and md["quota_units"].value >= 1

    result = dg.materialize([channel_metadata, channel_uploads, *metadata_checks], resources=resources,
                            instance=instance, tags=dict(ALL_SHARDS_TAGS),
                            run_config=run_config(now, "channel_metadata", "channel_uploads"))
    assert result.success
    mats = result.asset_materializations_for_node("channel_metadata")
    assert sorted(m.partition for m in mats) == [f"{i:02d}" for i in range(16)]
    assert mats[0].metadata["due"].value == 400 - in_shard
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert set(checks) == {c.check_key.name for c in metadata_checks}
    assert checks["within_30_day_policy"].passed and checks["quota_under_error_level"].passed
    assert checks["freshness_within_frequency"].passed
    assert checks["update_success_rate"].passed, checks["update_success_rate"].metadata
    with engine.connect() as conn:
        never = conn.execute(select(func.count()).select_from(Channel).where(
            Channel.next_refresh_at.is_(None))).scalar_one()
    assert never == 0
    # an already-fresh database: a run does nothing and costs nothing
    again = dg.materialize([channel_metadata], resources=resources, instance=instance, tags=dict(ALL_SHARDS_TAGS),
                           run_config=run_config(now + timedelta(minutes=1), "channel_metadata"))
    assert sum(m.metadata["quota_units"].value for m in again.asset_materializations_for_node(
        "channel_metadata")[:1]) == 0

    day = now.strftime("%Y-%m-%d")
    series = dg.materialize([channel_statistics, channel_freshness_report], partition_key=day, resources=resources,
                            instance=instance, run_config=run_config(now, "channel_freshness_report"))
    report_md = series.asset_materializations_for_node("channel_freshness_report")[0].metadata
    assert report_md["over_30_days"].value == 0 and "| tier |" in report_md["report"].value


def test_bad_api_key_fails_the_asset_with_one_clear_redacted_line(engine, emulator, resources):
    insert_channels(engine, emulator.ids(5))
    bad = dict(resources, youtube=YouTubeApi(api_key="AIzaBAD-secret-key-1234567890", base_url=emulator.base_url,
                                             feed_base_url=emulator.base_url))
    result = dg.materialize([channel_metadata], partition_key=f"{shard_of(emulator.ids(1)[0]):02d}",
                            resources=bad, raise_on_error=False,
                            run_config=run_config(emulator.world.now, "channel_metadata"))
    assert not result.success
    failure = result.failure_data_for_node("channel_metadata")
    text = failure.user_failure_data.description if failure.user_failure_data else str(failure.error)
    assert "AIzaBAD-secret-key" not in text and "\n" not in text.strip()


def test_force_refresh_job_rejects_bad_ids_and_refreshes_good_ones(engine, emulator, resources):
    ids = emulator.ids(3)
    insert_channels(engine, ids, update_frequency="monthly")
    now = emulator.world.now.isoformat()
    bad = force_refresh_channels.execute_in_process(
        run_config={"ops": {"force_refresh_op": {"config": {"channel_ids": [ids[0], "nope"], "now": now}}}},
        resources=resources, raise_on_error=False)
    assert not bad.success
    assert "'nope'" in bad.failure_data_for_node("force_refresh_op").user_failure_data.description
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ChannelUpdateLog)).scalar_one() == 0
    good = force_refresh_channels.execute_in_process(
        run_config={"ops": {"force_refresh_op": {"config": {"channel_ids": ids[:2], "now": now}}}},
        resources=resources)
    assert good.success
    with engine.connect() as conn:
        done = conn.execute(select(func.count()).select_from(Channel).where(
            Channel.next_refresh_at.is_not(None))).scalar_one()
    assert done == 2


def _subscribe(engine, channel_uuid, user_id: int, at: datetime) -> None:
    with transaction(engine) as conn:
        conn.execute(insert(UserChannel).values(user_id=user_id, channel_id=channel_uuid, is_active=True,
                                                subscribed_at=at, created_at=at, updated_at=at))


def test_sensor_sees_late_rows_with_older_timestamps_and_is_idempotent(engine, emulator, resources, tmp_path):
    ids = emulator.ids(4)
    insert_channels(engine, ids)
    with engine.connect() as conn:
        uuids = dict(conn.execute(select(Channel.channel_id, Channel.uuid)).all())
    with transaction(engine) as conn:
        conn.execute(insert(User), [{"id": n, "username": f"u{n}"} for n in range(1, 4)])
    t0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    _subscribe(engine, uuids[ids[0]], 1, t0)
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        ctx = dg.build_sensor_context(instance=instance, resources={"app_db": resources["app_db"]})
        first = new_subscription_sensor(ctx)
        assert [r.run_config["ops"]["force_refresh_op"]["config"]["channel_ids"] for r in first.run_requests] == [
            [ids[0]]]
        cursor = first.cursor
        _subscribe(engine, uuids[ids[1]], 1, t0 + timedelta(minutes=10))  # cursor moves to t0+10
        ctx = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"app_db": resources["app_db"]})
        second = new_subscription_sensor(ctx)
        assert [r.run_config["ops"]["force_refresh_op"]["config"]["channel_ids"] for r in second.run_requests] == [
            [ids[1]]]
        # committed now, stamped in the past (older than the cursor, inside the lookback)
        _subscribe(engine, uuids[ids[2]], 2, t0 + timedelta(minutes=10) - LOOKBACK + timedelta(minutes=1))
        # a channel already fetched is not requested again
        with engine.begin() as conn:
            conn.execute(update(Channel).where(Channel.channel_id == ids[3]).values(
                last_updated=t0, next_refresh_at=t0 + timedelta(days=1)))
        _subscribe(engine, uuids[ids[3]], 2, t0 + timedelta(minutes=10))
        ctx = dg.build_sensor_context(instance=instance, cursor=second.cursor,
                                      resources={"app_db": resources["app_db"]})
        third = new_subscription_sensor(ctx)
        assert [r.run_config["ops"]["force_refresh_op"]["config"]["channel_ids"] for r in third.run_requests] == [
            [ids[2]]]
        assert json.loads(third.cursor)["hw"] == (t0 + timedelta(minutes=10)).isoformat()
        ctx = dg.build_sensor_context(instance=instance, cursor=third.cursor,
                                      resources={"app_db": resources["app_db"]})
        assert new_subscription_sensor(ctx).run_requests == []


def test_sensor_skips_malformed_channel_ids_without_crashing(engine, resources, tmp_path):
    bad_uuid = uuid.uuid4()
    with transaction(engine) as conn:
        conn.execute(insert(User).values(id=1, username="u1"))
        conn.execute(insert(Channel).values(uuid=bad_uuid, channel_id="not-a-channel-id", shard=0))
    _subscribe(engine, bad_uuid, 1, datetime(2026, 3, 2, tzinfo=UTC))
    ctx = dg.build_sensor_context(resources={"app_db": resources["app_db"]})
    assert new_subscription_sensor(ctx).run_requests == []


def test_schedules_request_all_shards_in_one_run_and_today(tmp_path):
    at = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    for schedule in (daily_full_refresh, priority_refresh):
        request = schedule(dg.build_schedule_context(scheduled_execution_time=at))
        assert request.tags["dagster/asset_partition_range_start"] == "00"
        assert request.tags["dagster/asset_partition_range_end"] == "15"
    assert daily_full_refresh.execution_timezone == "UTC" and priority_refresh.cron_schedule == "*/30 * * * *"
    request = daily_statistics(dg.build_schedule_context(scheduled_execution_time=at))
    assert request.partition_key == "2026-03-02"
    # the jobs infer their partitioning from the selected assets (no partitions_def on define_asset_job)
    from channel_assets.definitions import defs
    from channel_assets.defs.partitions import daily_partitions, shard_partitions

    for schedule in (daily_full_refresh, priority_refresh, daily_statistics):
        job = defs.resolve_job_def(schedule.job_name)
        assert job.partitions_def == (daily_partitions if schedule is daily_statistics else shard_partitions)
    assert defs.resolve_job_def(daily_statistics.job_name).partitions_def.has_partition_key(request.partition_key)


def test_report_renders_for_the_terminal(engine, emulator, ledger_factory):
    insert_channels(engine, emulator.ids(3))
    gate = ledger_factory()
    text = render_text(build_freshness_report(engine, emulator.world.now, gate, REPORT_RULES))
    assert "never fetched" in text and "Quota" in text and "daily_full_refresh" in text


def test_more_new_subscriptions_than_a_tick_takes_are_read_on_the_next_ticks(engine, emulator, monkeypatch):
    """A tick takes at most MAX_PER_TICK channels; its high-water mark stops at the last one it took, so
    the rest come on the next ticks instead of waiting for the daily cycle."""
    from channel_assets.defs.refresh import sensors

    monkeypatch.setattr(sensors, "MAX_PER_TICK", 3)
    ids = emulator.ids(8)
    insert_channels(engine, ids)
    with engine.connect() as conn:
        uuids = dict(conn.execute(select(Channel.channel_id, Channel.uuid)).all())
    with transaction(engine) as conn:
        conn.execute(insert(User).values(id=1, username="u1"))
    t0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    cursor = sensors.new_never_fetched(engine, None)[1]  # no subscription yet: no high-water mark
    for n, cid in enumerate(ids):
        _subscribe(engine, uuids[cid], 1, t0 + timedelta(minutes=n))
    requested: list[str] = []
    for _ in range(4):
        got, cursor = sensors.new_never_fetched(engine, cursor)
        requested += got
    assert sorted(requested) == sorted(ids)
