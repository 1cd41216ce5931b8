"""Due selection per shard: what a cycle refreshes, in the order quota is spent on it."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, case, func, or_, select

from channel_assets.db.core.models import Channel
from channel_assets.db.core.sharding import SHARD_COUNT, assign_missing_shards


@dataclass(frozen=True, slots=True)
class DueChannel:
    uuid: uuid.UUID
    channel_id: str
    tier: str


def due_rank():
    """critical → priority → never fetched → daily → weekly → monthly."""
    c = Channel.__table__.c
    return case(
        (c.is_critical.is_(True), 0),
        (c.is_priority.is_(True), 1),
        (c.next_refresh_at.is_(None), 2),
        (c.update_frequency == "daily", 3),
        (c.update_frequency == "monthly", 5),
        else_=4,
    )


def tier_label():
    """The tier a due channel is spent in, named as in the reports (unknown frequencies count as weekly)."""
    c = Channel.__table__.c
    return case(
        (c.is_critical.is_(True), "critical"),
        (c.is_priority.is_(True), "priority"),
        (c.next_refresh_at.is_(None), "new"),
        (c.update_frequency.in_(("daily", "monthly")), c.update_frequency),
        else_="weekly",
    ).label("tier")


def due_filter(now: datetime):
    c = Channel.__table__.c
    return [c.soft_deleted_at.is_(None), or_(c.next_refresh_at.is_(None), c.next_refresh_at <= now)]


def select_due(engine: Engine, shards: Sequence[int], now: datetime, priority_only: bool = False) -> list[DueChannel]:
    """Due channels of the shards, in spending order (uses the (shard, next_refresh_at) index).
    Channels the app inserted without a shard get theirs first, so they are due (never fetched) now."""
    assign_missing_shards(engine)
    c = Channel.__table__.c
    query = (
        select(c.uuid, c.channel_id, tier_label())
        .where(c.shard.in_(list(shards)), *due_filter(now))
        .order_by(due_rank(), c.next_refresh_at.asc().nulls_first(), c.channel_id)
    )
    if priority_only:  # the 30-minute run: due critical/priority channels and due retries of failed ones
        query = query.where(or_(c.is_priority.is_(True), c.is_critical.is_(True), c.failed_update_count > 0))
    with engine.connect() as conn:
        return [DueChannel(r.uuid, r.channel_id, r.tier) for r in conn.execute(query)]


def live_channels(engine: Engine, channel_ids: Sequence[str]) -> dict[str, DueChannel]:
    """The named channels that exist and are not soft-deleted, with the tier each is spent in."""
    c = Channel.__table__.c
    with engine.connect() as conn:
        rows = conn.execute(select(c.uuid, c.channel_id, tier_label())
                            .where(c.channel_id.in_(list(channel_ids)), c.soft_deleted_at.is_(None)))
        return {r.channel_id: DueChannel(r.uuid, r.channel_id, r.tier) for r in rows}


def count_by_tier(channels: Sequence[DueChannel]) -> dict[str, int]:
    counts = Counter(ch.tier for ch in channels)
    return {tier: counts[tier] for tier in sorted(counts)}


def upload_candidate_rows(engine: Engine, shards: Sequence[int], checked_before: datetime,
                          channel_ids: Sequence[str] | None = None) -> list:
    """Live, available channels of the shards whose uploads were never checked or not since `checked_before`
    (the shortest tier interval ago; the caller applies each channel's own interval), oldest check first."""
    assign_missing_shards(engine)
    c = Channel.__table__.c
    query = (
        select(c.uuid, c.channel_id, c.uploads_playlist_id, c.uploads_checked_at, c.last_upload_at,
               c.update_frequency, c.is_priority, c.is_critical)
        .where(c.shard.in_(list(shards)), c.soft_deleted_at.is_(None), c.is_available.is_(True),
               or_(c.uploads_checked_at.is_(None), c.uploads_checked_at <= checked_before))
        .order_by(c.uploads_checked_at.asc().nulls_first(), c.channel_id)
    )
    if channel_ids is not None:
        query = query.where(c.channel_id.in_(list(channel_ids)))
    with engine.connect() as conn:
        return conn.execute(query).all()


def count_due_channels(engine: Engine, now: datetime) -> int:
    """How many live channels of any shard are due at `now` (the (shard, next_refresh_at) index)."""
    c = Channel.__table__.c
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Channel.__table__).where(
            c.shard.in_(range(SHARD_COUNT)), *due_filter(now))).scalar()
