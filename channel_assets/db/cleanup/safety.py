"""Impact analysis and the seed's safety rules, one GROUP BY per batch of channels."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Connection

from channel_assets.cycle import Cycle
from channel_assets.db.audit.update_log import AuditEvent, write_events
from channel_assets.db.cleanup.holds import SAFETY_HOLD
from channel_assets.db.core.batching import chunks, in_uuids
from channel_assets.db.core.models import Channel, UserVideo, Video, channel_written

# Channels per impact query: at 5,000 (the soft delete's page) the planner expects ~35k videos and hash-joins
# a sequential scan of the whole watch table (10M rows: 0.9 s a page on the benchmark); at 500 it walks
# users_uservideo(video_id) for the page's videos only (~30 ms).
ANALYZE_CHUNK = 500


@dataclass(frozen=True)
class Limits:
    """A removal at or over any of these is held for manual review (seed: 10,000 / 1,000 / 100)."""

    max_watch_rows: int
    max_users: int
    max_videos: int


@dataclass(frozen=True)
class Impact:
    channel_uuid: uuid.UUID
    channel_id: str
    title: str | None
    videos: int
    watch_rows: int
    users: int

    def hold_reason(self, limits: Limits) -> str | None:
        """One line naming every rule broken, or None when the removal is within the limits."""
        broken = []
        if self.watch_rows >= limits.max_watch_rows:
            broken.append(f"{self.watch_rows} watch rows >= {limits.max_watch_rows}")
        if self.users >= limits.max_users:
            broken.append(f"{self.users} users >= {limits.max_users}")
        if self.videos >= limits.max_videos:
            broken.append(f"{self.videos} videos >= {limits.max_videos}")
        return SAFETY_HOLD + "; ".join(broken) if broken else None

    def as_dict(self) -> dict:
        return {"videos": self.videos, "watch_rows": self.watch_rows, "users": self.users}


def analyze(conn: Connection, channels: Sequence) -> list[Impact]:
    """Impact of removing each of `channels` (rows with uuid, channel_id, title): videos that would become
    channel-less, watch rows on them and distinct users who watched them."""
    if not channels:
        return []
    stats = {
        row.channel_id: row
        for ids in chunks([c.uuid for c in channels], ANALYZE_CHUNK)
        for row in conn.execute(
            sa.select(
                Video.channel_id,
                sa.func.count(sa.distinct(Video.uuid)).label("videos"),
                sa.func.count(UserVideo.id).label("watch_rows"),
                sa.func.count(sa.distinct(UserVideo.user_id)).label("users"),
            )
            .select_from(Video)
            .outerjoin(UserVideo, UserVideo.video_id == Video.uuid)
            .where(in_uuids(Video.channel_id, ids))
            .group_by(Video.channel_id)
        )
    }
    impacts = []
    for c in channels:
        s = stats.get(c.uuid)
        impacts.append(
            Impact(c.uuid, c.channel_id, c.title, s.videos if s else 0, s.watch_rows if s else 0, s.users if s else 0)
        )
    return impacts


def split(impacts: Sequence[Impact], limits: Limits) -> tuple[list[Impact], list[tuple[Impact, str]]]:
    allowed, held = [], []
    for impact in impacts:
        reason = impact.hold_reason(limits)
        if reason:
            held.append((impact, reason))
        else:
            allowed.append(impact)
    return allowed, held


def hold(conn: Connection, held: Sequence[tuple[Impact, str]], cycle: Cycle) -> int:
    """Mark channels held for review (one executemany) and log 'hold' once per newly held channel."""
    if not held:
        return 0
    conn.execute(
        sa.update(Channel)
        .where(Channel.uuid == sa.bindparam("b_uuid"), Channel.removal_hold_reason.is_(None))
        .values(removal_hold_reason=sa.bindparam("b_reason"), **channel_written(cycle.now)),
        [{"b_uuid": i.channel_uuid, "b_reason": reason} for i, reason in held],
    )
    write_events(conn, [
        AuditEvent.of(cycle, "hold", "skipped", i.channel_uuid, i.channel_id, changes={"impact": i.as_dict()},
                      error=reason)
        for i, reason in held
    ])
    return len(held)
