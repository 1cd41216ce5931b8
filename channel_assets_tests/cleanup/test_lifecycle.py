"""Detection, impact rules, snapshots and the soft → cool-down → hard delete lifecycle, on both backends."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from channel_assets.cycle import Cycle
from channel_assets.db.cleanup.orphans import detect_orphans
from channel_assets.db.cleanup.removal import hard_delete_due, run_removal
from channel_assets.db.core.models import (
    Channel,
    ChannelOrphanDaily,
    ChannelUpdateLog,
    UserChannel,
    UserVideo,
    Video,
)
from channel_assets_tests.cleanup.conftest import LIMITS, NOW


def test_detection_marks_orphans_releases_followed_and_records_the_day(world, engine):
    users = world.add_users(3)
    followed = world.add_channel(active=[users[0]], inactive=[users[1]])
    lost_last = world.add_channel(inactive=[users[0], users[1]])
    never = world.add_channel()
    back = world.add_channel(active=[users[2]], orphaned_at=NOW - timedelta(days=3),
                             removal_hold_reason="safety hold: x")

    result = detect_orphans(engine, Cycle(NOW), NOW.date())

    assert (result.orphans, result.new, result.regained) == (2, 2, 1)
    assert world.channel(followed.channel_id).orphaned_at is None
    assert world.channel(lost_last.channel_id).orphaned_at == NOW
    assert world.channel(never.channel_id).orphaned_at == NOW
    assert world.channel(back.channel_id).orphaned_at is None
    assert world.channel(back.channel_id).removal_hold_reason is None
    day_set = {r.channel_id for r in _rows(engine, ChannelOrphanDaily)}
    assert day_set == {lost_last.channel_id, never.channel_id}

    later = NOW + timedelta(hours=2)
    again = detect_orphans(engine, Cycle(later), NOW.date())
    assert (again.orphans, again.new) == (2, 0)
    assert world.channel(never.channel_id).orphaned_at == NOW  # first detection time is kept
    assert world.count(ChannelOrphanDaily) == 2  # idempotent per day


def test_dry_run_reports_and_changes_nothing(world, engine):
    users = world.add_users(1)
    world.add_channel(inactive=users, videos=3, watchers=users)
    world.add_channel(videos=2, soft_deleted_at=NOW - timedelta(days=8), orphaned_at=NOW - timedelta(days=8))

    detection = detect_orphans(engine, Cycle(NOW), NOW.date(), dry_run=True)
    removal = run_removal(engine, Cycle(NOW), 7, LIMITS, dry_run=True)

    assert (detection.orphans, detection.new) == (2, 1)
    assert (removal.soft_deleted, removal.hard_deleted) == (1, 1)
    assert world.count(Channel) == 2
    assert world.count(Channel, Channel.orphaned_at.is_(None)) == 1
    assert world.count(Video, Video.original_channel_metadata.is_not(None)) == 0
    assert world.count(ChannelOrphanDaily) == 0 and world.count(ChannelUpdateLog) == 0


def test_full_lifecycle_keeps_every_video_and_watch_row_with_snapshots(world, engine):
    users = world.add_users(4)
    kept = world.add_channel(active=users[:1], videos=2, watchers=users)
    gone = world.add_channel(inactive=users[:2], videos=3, watchers=users[1:], title="Gone <b>|x|</b>",
                             last_updated=NOW - timedelta(days=40))
    videos, watch = world.count(Video), world.count(UserVideo)

    detect_orphans(engine, Cycle(NOW), NOW.date())
    first = run_removal(engine, Cycle(NOW), 7, LIMITS)
    assert (first.soft_deleted, first.hard_deleted) == (1, 0)
    assert world.channel(gone.channel_id).soft_deleted_at == NOW

    day6 = NOW + timedelta(days=6, hours=23)
    assert run_removal(engine, Cycle(day6), 7, LIMITS).hard_deleted == 0  # still cooling down

    day7 = NOW + timedelta(days=7)
    detect_orphans(engine, Cycle(day7), day7.date())
    second = run_removal(engine, Cycle(day7), 7, LIMITS)
    assert second.hard_deleted == 1
    assert (second.videos_before, second.videos_preserved) == (3, 3)
    assert (second.watch_rows_before, second.watch_rows_preserved) == (9, 9)
    assert world.channel(gone.channel_id) is None and world.channel(kept.channel_id) is not None
    assert (world.count(Video), world.count(UserVideo)) == (videos, watch)
    assert world.count(UserChannel, UserChannel.channel_id == gone.uuid) == 0

    with engine.connect() as conn:
        snaps = conn.execute(
            sa.select(Video.original_channel_metadata, Video.channel_title_snapshot, Video.channel_id_snapshot)
            .where(Video.channel_id.is_(None))
        ).all()
        contexts = conn.execute(
            sa.select(UserVideo.channel_context).join(Video).where(Video.channel_id.is_(None))
        ).scalars().all()
        log = conn.execute(
            sa.select(ChannelUpdateLog).where(ChannelUpdateLog.update_type == "removal",
                                              ChannelUpdateLog.channel_id == gone.channel_id)
            .order_by(ChannelUpdateLog.id)
        ).all()
    assert len(snaps) == 3
    expected = {
        "channel_uuid": str(gone.uuid), "channel_id": gone.channel_id, "title": "Gone <b>|x|</b>",
        "description": gone.description, "url": gone.url, "subscriber_count": gone.subscriber_count,
        "video_count": 3, "view_count": gone.view_count,
        "last_updated": (NOW - timedelta(days=40)).isoformat(timespec="microseconds"),
        "snapshot_created_at": day7.isoformat(), "cleanup_reason": "orphaned_channel_removal",
    }
    assert all(s == (expected, "Gone <b>|x|</b>", gone.channel_id) for s in snaps)
    assert len(contexts) == 9 and all(c == expected for c in contexts)
    assert [entry.changes_made["phase"] for entry in log] == ["soft_delete", "hard_delete"]
    assert log[1].changes_made["impact"] == {"videos": 3, "watch_rows": 9, "users": 3}
    assert log[1].changes_made["snapshot"]["channel_id"] == gone.channel_id


def test_thresholds_hold_before_soft_and_before_hard_delete(world, engine):
    users = world.add_users(3)
    big = world.add_channel(videos=4)
    watched = world.add_channel(videos=1, watchers=users)
    cooled = world.add_channel(videos=2, watchers=users[:2], orphaned_at=NOW - timedelta(days=9),
                               soft_deleted_at=NOW - timedelta(days=8))
    small = world.add_channel(videos=1)
    limits = type(LIMITS)(max_watch_rows=100, max_users=3, max_videos=4)

    detect_orphans(engine, Cycle(NOW), NOW.date())
    result = run_removal(engine, Cycle(NOW), 7, limits)

    held = {i.channel_id: reason for i, reason in result.held}
    assert held == {big.channel_id: "safety hold: 4 videos >= 4", watched.channel_id: "safety hold: 3 users >= 3"}
    assert world.channel(big.channel_id).soft_deleted_at is None
    assert world.channel(small.channel_id).soft_deleted_at == NOW
    assert world.channel(cooled.channel_id) is None  # 2 users < 3
    assert world.count(ChannelUpdateLog, ChannelUpdateLog.update_type == "hold") == 2

    # Watch history grew during the cool-down: the hard delete re-checks and holds.
    world.set_channel(small.channel_id, soft_deleted_at=NOW - timedelta(days=8))
    with engine.begin() as conn:
        vid = conn.execute(sa.select(Video.uuid).where(Video.channel_id == small.uuid)).scalar_one()
        conn.execute(sa.insert(UserVideo), [{"user_id": u, "video_id": vid} for u in users])
    again = hard_delete_due(engine, Cycle(NOW), 7, limits)
    assert again.hard_deleted == 0 and [i.channel_id for i, _ in again.held] == [small.channel_id]
    assert world.channel(small.channel_id).removal_hold_reason == "safety hold: 3 users >= 3"
    # A held channel is left alone by later cycles (no log spam, no removal).
    assert run_removal(engine, Cycle(NOW + timedelta(days=1)), 7, limits).held == []
    assert world.count(ChannelUpdateLog, ChannelUpdateLog.update_type == "hold") == 3


def _rows(engine, model):
    with engine.connect() as conn:
        return conn.execute(sa.select(model)).all()
