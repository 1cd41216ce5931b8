"""Seed 000: a watch row's channel context is the channel as the user knew it. A snapshot written by an
earlier removal (the channel was removed, re-created, its videos re-linked) is kept by the next one."""

from datetime import timedelta

import sqlalchemy as sa

from channel_assets.cycle import Cycle
from channel_assets.db.cleanup.removal import snapshot_due
from channel_assets.db.core.engine import transaction
from channel_assets.db.core.models import UserVideo, Video
from channel_assets_tests.cleanup.conftest import LIMITS, NOW


def test_snapshot_step_fills_only_missing_context_and_snapshots(world, engine):
    users = world.add_users(2)
    ch = world.add_channel(videos=2, watchers=users, soft_deleted_at=NOW - timedelta(days=8),
                           orphaned_at=NOW - timedelta(days=8), title="Renamed since")
    earlier = {"channel_id": ch.channel_id, "title": "As the user knew it", "cleanup_reason": "earlier"}
    with transaction(engine) as conn:
        first = conn.execute(sa.select(Video.uuid).where(Video.channel_id == ch.uuid).limit(1)).scalar_one()
        conn.execute(sa.update(Video).where(Video.uuid == first).values(original_channel_metadata=earlier))
        conn.execute(sa.update(UserVideo).where(UserVideo.video_id == first, UserVideo.user_id == users[0])
                     .values(channel_context=earlier))

    snapshot_due(engine, Cycle(NOW), 7, LIMITS)

    with engine.connect() as conn:
        kept = conn.execute(sa.select(UserVideo.channel_context).where(
            UserVideo.video_id == first, UserVideo.user_id == users[0])).scalar_one()
        video = conn.execute(sa.select(Video.original_channel_metadata).where(Video.uuid == first)).scalar_one()
        others = conn.execute(sa.select(UserVideo.channel_context).where(UserVideo.video_id != first)).scalars().all()
    assert kept == earlier and video == earlier
    assert others and all(c["title"] == "Renamed since" for c in others)
