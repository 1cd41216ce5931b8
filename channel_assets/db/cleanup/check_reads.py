"""What the cleanup's asset checks read: the same predicates and safety rule the removal itself uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import Engine

from channel_assets.db.cleanup.followed import has_active_subscription
from channel_assets.db.cleanup.removal import due_for_hard_delete
from channel_assets.db.cleanup.safety import Impact, Limits, analyze, split
from channel_assets.db.core.batching import committed_before
from channel_assets.db.core.models import Channel, ChannelUpdateLog, UserVideo, Video

MAX_LISTED = 50


@dataclass(frozen=True)
class HardDeleteReadiness:
    over_threshold: list[tuple[Impact, str]]
    videos_without_snapshot: int
    watch_rows_without_context: int


def hard_delete_readiness(engine: Engine, now: datetime, cooldown_days: int, limits: Limits, *,
                          check_snapshots: bool, snapshot_horizon: int | None = None) -> HardDeleteReadiness:
    """Channels about to be hard-deleted that break the safety rule (Impact.hold_reason, the removal's own
    rule), and the videos/watch rows among them the snapshot step saw (committed before its horizon,
    db.core.batching.commit_horizon) but left without their snapshot. Rows the app wrote later are the hard
    delete's own work: it snapshots whatever it detaches."""
    due = (*due_for_hard_delete(now, cooldown_days), ~has_active_subscription())
    with engine.connect() as conn:
        rows = conn.execute(sa.select(Channel.uuid, Channel.channel_id, Channel.title).where(*due)).all()
        _, held = split(analyze(conn, rows), limits)
        missing_videos = missing_watch = 0
        if check_snapshots:
            missing_videos = conn.execute(
                sa.select(sa.func.count()).select_from(Video).join(Channel, Video.channel_id == Channel.uuid)
                .where(*due, Video.original_channel_metadata.is_(None), committed_before(Video.__table__, snapshot_horizon))
            ).scalar_one()
            missing_watch = conn.execute(
                sa.select(sa.func.count()).select_from(UserVideo).join(Video)
                .join(Channel, Video.channel_id == Channel.uuid)
                .where(*due, UserVideo.channel_context.is_(None),
                       committed_before(UserVideo.__table__, snapshot_horizon))
            ).scalar_one()
    return HardDeleteReadiness(held[:MAX_LISTED], missing_videos, missing_watch)


def removed_without_snapshot(engine: Engine, sweep_horizon: int | None = None) -> tuple[int, int]:
    """(videos, watch rows) of removed channels that lost their channel link without keeping a snapshot;
    watch rows the app wrote after the removal's sweep began (`sweep_horizon`) are the next sweep's."""
    removed = sa.select(ChannelUpdateLog.id).where(
        ChannelUpdateLog.update_type == "removal", ChannelUpdateLog.channel_id == Video.channel_id_snapshot
    ).exists()
    with engine.connect() as conn:
        videos = conn.execute(
            sa.select(sa.func.count()).select_from(Video)
            .where(Video.channel_id.is_(None), Video.original_channel_metadata.is_(None), removed)
        ).scalar_one()
        watch = conn.execute(
            sa.select(sa.func.count()).select_from(UserVideo).join(Video)
            .where(Video.channel_id.is_(None), UserVideo.channel_context.is_(None), removed,
                   committed_before(UserVideo.__table__, sweep_horizon))
        ).scalar_one()
    return videos, watch


@dataclass(frozen=True)
class OrphanBacklog:
    """Orphans nobody handled yet: unfollowed, not soft-deleted, not held for review."""

    waiting: int
    overdue: int  # orphaned longer ago than the deadline
    oldest_orphaned_at: datetime | None

    def oldest_age(self, now: datetime) -> timedelta | None:
        return now - self.oldest_orphaned_at if self.oldest_orphaned_at else None


def orphan_backlog(engine: Engine, now: datetime, deadline: timedelta) -> OrphanBacklog:
    """One aggregate over the orphaned_at index; cheap enough for a check and the daily report."""
    c = Channel.__table__.c
    with engine.connect() as conn:
        waiting, overdue, oldest = conn.execute(
            sa.select(sa.func.count(), sa.func.count().filter(c.orphaned_at < now - deadline), sa.func.min(c.orphaned_at))
            .where(c.orphaned_at.is_not(None), c.soft_deleted_at.is_(None), c.removal_hold_reason.is_(None),
                   ~has_active_subscription())
        ).one()
    return OrphanBacklog(waiting, overdue, oldest)


def followed_but_soft_deleted(engine: Engine, detection_horizon: int | None = None) -> list[str]:
    """Soft-deleted channels someone follows (the restore path failed), at most MAX_LISTED; a follow the app
    committed after the detection began (`detection_horizon`) is the next detection's (the subscription
    sensor requests it within a minute), not a failure."""
    with engine.connect() as conn:
        return list(conn.execute(
            sa.select(Channel.channel_id).where(Channel.soft_deleted_at.is_not(None),
                                                has_active_subscription(detection_horizon))
            .limit(MAX_LISTED)
        ).scalars())
