"""Restore, re-link after hard delete, the override, and a crash mid-cycle, on both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from channel_assets.cycle import Cycle
from channel_assets.db.cleanup import removal
from channel_assets.db.cleanup.orphans import detect_orphans
from channel_assets.db.cleanup.removal import hard_delete_due, override_held_removals, run_removal
from channel_assets.db.cleanup.restore import RequestRefused, relink_preserved_videos, restore_channels
from channel_assets.db.core.models import Channel, ChannelUpdateLog, UserVideo, Video
from channel_assets_tests.cleanup.conftest import LIMITS, NOW

SOFT = {"orphaned_at": NOW - timedelta(days=9), "soft_deleted_at": NOW - timedelta(days=8)}


def test_resubscription_during_cooldown_restores(world, engine):
    users = world.add_users(1)
    channel = world.add_channel(inactive=users, videos=1, **SOFT)
    world.subscribe(users[0], channel.uuid, active=True)

    result = run_removal(engine, Cycle(NOW), 7, LIMITS)

    assert result.hard_deleted == 0 and result.restored == 1
    row = world.channel(channel.channel_id)
    assert (row.soft_deleted_at, row.orphaned_at, row.removal_hold_reason) == (None, None, None)
    assert world.count(ChannelUpdateLog, ChannelUpdateLog.update_type == "restore") == 1


def test_operator_restore_all_or_nothing(world, engine):
    soft = world.add_channel(**SOFT)
    live = world.add_channel()
    unknown = "UC" + "Z" * 22
    for ids, message in (
        (["nope"], "invalid"),
        ([soft.channel_id, unknown], "unknown channel ids"),
        ([soft.channel_id, live.channel_id], "not soft-deleted"),
    ):
        with pytest.raises(RequestRefused, match=message):
            restore_channels(engine, ids, "mistake", Cycle(NOW, actor="ops"))
        assert world.channel(soft.channel_id).soft_deleted_at is not None

    restore_channels(engine, [soft.channel_id], "customer asked", Cycle(NOW, actor="ops"))
    row = world.channel(soft.channel_id)
    assert row.soft_deleted_at is None and row.removal_hold_reason == "restored by ops: customer asked"
    # Held: the next cycle leaves it alone although nobody follows it.
    detect_orphans(engine, Cycle(NOW + timedelta(days=1)), (NOW + timedelta(days=1)).date())
    run_removal(engine, Cycle(NOW + timedelta(days=9)), 7, LIMITS)
    assert world.channel(soft.channel_id).soft_deleted_at is None


def test_relink_after_hard_delete(world, engine):
    users = world.add_users(2)
    gone = world.add_channel(inactive=users, videos=3, watchers=users, **SOFT)
    other = world.add_channel(videos=1, **SOFT)
    hard_delete_due(engine, Cycle(NOW), 7, LIMITS)
    assert world.count(Video, Video.channel_id.is_(None)) == 4

    reborn = world.add_channel(channel_id=gone.channel_id, active=users[:1])
    assert relink_preserved_videos(engine, Cycle(NOW + timedelta(days=1))) == 3

    assert world.count(Video, Video.channel_id == reborn.uuid) == 3
    assert world.count(Video, Video.channel_id.is_(None), Video.channel_id_snapshot == other.channel_id) == 1
    with engine.connect() as conn:
        history = conn.execute(
            sa.select(sa.func.count()).select_from(UserVideo).join(Video).where(Video.channel_id == reborn.uuid)
        ).scalar_one()
    assert history == 6
    assert relink_preserved_videos(engine, Cycle(NOW + timedelta(days=1))) == 0


def test_override_removes_held_channel_and_refuses_others(world, engine):
    big = world.add_channel(videos=3, **SOFT)
    plain = world.add_channel(**SOFT)
    live = world.add_channel()
    limits = type(LIMITS)(max_watch_rows=100, max_users=100, max_videos=3)
    run_removal(engine, Cycle(NOW), 7, limits)
    assert world.channel(big.channel_id).removal_hold_reason == "safety hold: 3 videos >= 3"

    with pytest.raises(RequestRefused, match="not held"):
        override_held_removals(engine, [big.channel_id, live.channel_id], "checked", Cycle(NOW, actor="ops"))
    assert world.channel(big.channel_id) is not None

    result = override_held_removals(engine, [big.channel_id], "reviewed with the team", Cycle(NOW, actor="ops"))
    assert result.hard_deleted == 1 and world.channel(big.channel_id) is None
    assert world.count(Video, Video.channel_id.is_(None), Video.original_channel_metadata.is_not(None)) == 3
    assert world.count(ChannelUpdateLog, ChannelUpdateLog.update_type == "override",
                       ChannelUpdateLog.actor == "ops") == 1
    assert world.channel(plain.channel_id) is None


def test_crash_mid_cycle_leaves_whole_batches_and_next_run_completes(world, engine, monkeypatch):
    users = world.add_users(2)
    channels = [world.add_channel(inactive=users, videos=2, watchers=users, **SOFT) for _ in range(7)]
    videos, watch = world.count(Video), world.count(UserVideo)
    calls = {"n": 0}
    real = removal.write_events

    def crash_on_third_batch(conn, rows):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("killed mid-batch")
        return real(conn, rows)

    monkeypatch.setattr(removal, "write_events", crash_on_third_batch)
    with pytest.raises(RuntimeError, match="killed"):
        hard_delete_due(engine, Cycle(NOW), 7, LIMITS, batch_size=2)
    monkeypatch.undo()

    left = [c for c in channels if world.channel(c.channel_id) is not None]
    assert len(left) == 3  # two batches of two committed, the third rolled back whole
    for c in left:
        assert world.count(Video, Video.channel_id == c.uuid) == 2
        assert world.count(Video, Video.channel_id_snapshot == c.channel_id,
                           Video.original_channel_metadata.is_not(None)) == 0
    assert world.count(Video, Video.channel_id.is_(None), Video.original_channel_metadata.is_(None)) == 0

    again = hard_delete_due(engine, Cycle(NOW), 7, LIMITS, batch_size=2)
    assert again.hard_deleted == 3 and world.count(Channel) == 0
    assert (world.count(Video), world.count(UserVideo)) == (videos, watch)
    assert world.count(UserVideo, UserVideo.channel_context.is_(None)) == 0
