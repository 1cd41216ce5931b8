"""Dagster-level: daily partitions materialize, the blocking check gates removal, the sensor, operator jobs."""

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from sqlalchemy import update

from channel_assets.db.cleanup.removal import SnapshotRun
from channel_assets.db.core.models import Channel, ChannelUpdateLog, UserVideo, Video
from channel_assets.definitions import defs
from channel_assets.defs.cleanup import assets as cleanup_assets_module
from channel_assets.defs.cleanup.assets import cleanup_assets
from channel_assets.defs.cleanup.checks import cleanup_checks
from channel_assets.defs.cleanup.jobs import restore_channels_job, resubscription_restore_job
from channel_assets.defs.cleanup.sensors import LOOKBACK, scan_subscriptions, subscription_cleanup_sensor
from channel_assets.defs.resources import AppDatabase, PipelinePolicy
from channel_assets_tests.cleanup.conftest import NOW


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _cycle(engine, now: datetime, instance=None, dry_run: bool = False, raise_on_error: bool = True):
    config = {"now": now.isoformat(), "dry_run": dry_run}
    return dg.materialize(
        [*cleanup_assets, *cleanup_checks],
        partition_key=now.date().isoformat(),
        resources={"app_db": AppDatabase(database_url=_url(engine)), "policy": PipelinePolicy()},
        run_config={"ops": {a.op.name: {"config": config} for a in cleanup_assets}},
        instance=instance,
        raise_on_error=raise_on_error,
    )


def _meta(result, asset) -> dict:
    events = result.asset_materializations_for_node(asset.op.name)
    return {k: v.value for k, v in events[-1].metadata.items()} if events else {}


def _checks(result) -> dict:
    return {e.check_name: e.passed
            for e in result.get_asset_check_evaluations()}


def test_daily_cycles_soft_then_hard_delete_with_checks_passing(world, engine):
    users = world.add_users(2)
    gone = world.add_channel(inactive=users, videos=2, watchers=users, title="<script>|")
    world.add_channel(active=users[:1], videos=1)
    held = world.add_channel(videos=100)
    videos, watch = world.count(Video), world.count(UserVideo)
    instance = dg.DagsterInstance.ephemeral()

    dry = _cycle(engine, NOW, instance, dry_run=True)
    assert _meta(dry, cleanup_assets[2])["dry_run"] is True
    assert "DRY RUN" in _meta(dry, cleanup_assets[2])["mode"]
    assert _meta(dry, cleanup_assets[2])["soft_deleted"] == 1
    assert world.channel(gone.channel_id).orphaned_at is None

    first = _cycle(engine, NOW, instance)
    assert _meta(first, cleanup_assets[0])["orphans"] == 2
    assert (_meta(first, cleanup_assets[2])["soft_deleted"], _meta(first, cleanup_assets[2])["held_for_review"]) == (1, 1)
    assert world.channel(held.channel_id).removal_hold_reason == "safety hold: 100 videos >= 100"

    day8 = NOW + timedelta(days=8)
    second = _cycle(engine, day8, instance)
    assert second.success and all(_checks(second).values()), _checks(second)
    snap, removed = _meta(second, cleanup_assets[1]), _meta(second, cleanup_assets[2])
    assert (snap["channels_snapshotted"], snap["videos_snapshotted"], snap["watch_rows_snapshotted"]) == (1, 2, 4)
    assert (removed["hard_deleted"], removed["videos_preserved"], removed["watch_rows_preserved"]) == (1, 2, 4)
    assert "\\<script\\>" not in removed["removed_sample"] and "&lt;script&gt;" in removed["removed_sample"]
    assert world.channel(gone.channel_id) is None and world.channel(held.channel_id) is not None
    assert (world.count(Video), world.count(UserVideo)) == (videos, watch)


def test_a_dry_run_with_channels_due_for_hard_delete_passes_the_snapshot_check(world, engine):
    """The dry run counts what it would remove (videos_before) but preserves nothing: not a loss."""
    world.add_channel(videos=2, orphaned_at=NOW - timedelta(days=9), soft_deleted_at=NOW - timedelta(days=8))

    result = _cycle(engine, NOW, dry_run=True)

    assert _checks(result)["snapshot_completeness"] is True
    assert world.count(Video, Video.channel_id.is_not(None)) == 2  # nothing changed


def test_blocking_safety_check_stops_removal(world, engine, monkeypatch):
    world.add_channel(videos=2, orphaned_at=NOW - timedelta(days=9), soft_deleted_at=NOW - timedelta(days=8))
    monkeypatch.setattr(cleanup_assets_module, "snapshot_due", lambda *a, **k: SnapshotRun(False))

    result = _cycle(engine, NOW, raise_on_error=False)

    assert _checks(result)["cleanup_safety_rules"] is False
    assert not result.asset_materializations_for_node("removed_channels")
    assert world.count(Video, Video.channel_id.is_not(None)) == 2


def test_sensor_restores_resubscription_and_requests_detection_for_late_rows(world, engine):
    users = world.add_users(3)
    now = datetime.now(UTC)
    soft = world.add_channel(inactive=users[:1], orphaned_at=now - timedelta(days=2),
                             soft_deleted_at=now - timedelta(days=2))
    followed = world.add_channel(active=users[:2])
    world.subscribe(users[0], soft.uuid, active=True, at=now - timedelta(seconds=5))
    resources = {"app_db": AppDatabase(database_url=_url(engine)), "policy": PipelinePolicy()}

    first = subscription_cleanup_sensor(dg.build_sensor_context(resources=resources, cursor=None))
    (request,) = first.run_requests
    assert request.job_name == "resubscription_restore"
    assert world.channel(soft.channel_id).soft_deleted_at is not None  # the tick itself changes nothing
    result = resubscription_restore_job.execute_in_process(run_config=request.run_config, resources=resources)
    assert result.success
    assert world.channel(soft.channel_id).soft_deleted_at is None
    assert world.count(ChannelUpdateLog, ChannelUpdateLog.update_type == "restore") == 1
    again = resubscription_restore_job.execute_in_process(run_config=request.run_config, resources=resources)
    assert again.success and world.count(ChannelUpdateLog, ChannelUpdateLog.update_type == "restore") == 1

    # Two unsubscriptions commit late, stamped before the cursor but inside the lookback window.
    late = datetime.fromisoformat(first.cursor) - LOOKBACK / 2
    world.subscribe(users[0], followed.uuid, active=False, at=late)
    world.subscribe(users[1], followed.uuid, active=False, at=late)
    second = subscription_cleanup_sensor(dg.build_sensor_context(resources=resources, cursor=first.cursor))
    detections = [r for r in second.run_requests if r.job_name == "orphan_detection"]
    assert [r.partition_key for r in detections] == [now.date().isoformat()]
    third = subscription_cleanup_sensor(dg.build_sensor_context(resources=resources, cursor=second.cursor))
    assert {r.run_key for r in third.run_requests} == {r.run_key for r in second.run_requests}  # one run each

    # The same channel removed and followed again later: a new run, not a run key Dagster already used.
    with engine.begin() as conn:
        conn.execute(update(Channel).where(Channel.uuid == soft.uuid)
                     .values(orphaned_at=now, soft_deleted_at=now))
    world.subscribe(users[0], soft.uuid, active=True, at=now + timedelta(minutes=1))
    fourth = subscription_cleanup_sensor(dg.build_sensor_context(resources=resources, cursor=third.cursor))
    (again_request,) = [r for r in fourth.run_requests if r.job_name == "resubscription_restore"]
    assert again_request.run_key != request.run_key

    # Outside the lookback a row is not read again.
    assert scan_subscriptions(engine, (now + 2 * LOOKBACK).isoformat(), now).seen == 0


def test_restore_job_fails_cleanly_on_bad_ids(world, engine):
    live = world.add_channel()
    result = restore_channels_job.execute_in_process(
        run_config={"ops": {"restore_channels_op": {"config": {"channel_ids": [live.channel_id], "reason": "x"}}}},
        resources={"app_db": AppDatabase(database_url=_url(engine)), "policy": PipelinePolicy()},
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.message
    assert "not soft-deleted" in message and "\n" not in message.strip()


def test_definitions_load():
    repo = defs.get_repository_def()
    assert {"channel_cleanup", "orphan_detection", "restore_channels", "override_held_removals",
            "update_log_retention"} <= {j.name for j in repo.get_all_jobs()}
    assert {"daily_cleanup", "daily_log_retention"} <= {s.name for s in repo.schedule_defs}


@pytest.fixture(autouse=True)
def _no_env_dry_run(monkeypatch):
    monkeypatch.delenv("CHANNEL_ASSETS_CLEANUP_DRY_RUN", raising=False)


