"""Orphan detection: the newly orphaned marked in short pages, the re-followed released, the day's orphan set
recorded; the app's follows never wait on it (see _mark_new_orphans)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from channel_assets.cycle import Cycle
from channel_assets.db.cleanup.followed import has_active_subscription
from channel_assets.db.cleanup.restore import restore_followed
from channel_assets.db.core.batching import BATCH, chunks, commit_horizon, in_uuids
from channel_assets.db.core.engine import with_retries
from channel_assets.db.core.models import Channel, ChannelOrphanDaily

# Seed 000's metric: 100% of orphaned channels removed within 7 days. An orphan counts as removed when it
# leaves the active set (soft delete: no quota, not shown); the hard delete follows after the cool-down.
ORPHAN_DEADLINE = timedelta(days=7)
AGE_BUCKETS = ((1, "< 1 day"), (7, "1-7 days"), (30, "7-30 days"), (None, ">= 30 days"))


@dataclass
class Detection:
    dry_run: bool
    orphans: int
    new: int
    regained: int
    restored: int
    ages: dict[str, int] = field(default_factory=dict)
    oldest: list = field(default_factory=list)
    horizon: int | None = None  # subscriptions committed before it are what this detection saw (batching)


def detect_orphans(engine: Engine, cycle: Cycle, day: date, *, dry_run: bool = False,
                   oldest_limit: int = 20) -> Detection:
    """Mark newly orphaned channels, release those followed again, and record `day`'s orphan set.

    Idempotent per day. In dry run the same numbers are computed and nothing is written.
    """
    now = cycle.now
    unmarked_orphan = (Channel.orphaned_at.is_(None), ~has_active_subscription())
    followed_again = (sa.or_(Channel.orphaned_at.is_not(None), Channel.soft_deleted_at.is_not(None)), has_active_subscription())

    def detect(conn: Connection) -> Detection:
        horizon = commit_horizon(conn)
        if dry_run:
            new = _count(conn, *unmarked_orphan)
            regained = _count(conn, *followed_again)
            restored = _count(conn, *followed_again, Channel.soft_deleted_at.is_not(None))
        else:
            new = _mark_new_orphans(engine, conn, unmarked_orphan, now)
            regained, restored = with_retries(engine, lambda tx: _restore_and_record(tx, cycle, day))
        # In dry run the would-be orphans have no orphaned_at yet: they count as aged 0.
        orphaned_at = sa.func.coalesce(Channel.orphaned_at, sa.literal(now, Channel.orphaned_at.type))
        in_set = sa.or_(Channel.orphaned_at.is_not(None), ~has_active_subscription()) if dry_run else Channel.orphaned_at.is_not(None)
        ages = {}
        lower = None
        for days, label in AGE_BUCKETS:
            conds = [in_set]
            if lower is not None:
                conds.append(orphaned_at <= now - timedelta(days=lower))
            if days is not None:
                conds.append(orphaned_at > now - timedelta(days=days))
            ages[label] = _count(conn, *conds)
            lower = days
        oldest = conn.execute(
            sa.select(Channel.channel_id, Channel.title, Channel.orphaned_at, Channel.soft_deleted_at,
                      Channel.removal_hold_reason)
            .where(Channel.orphaned_at.is_not(None))
            .order_by(Channel.orphaned_at, Channel.channel_id)
            .limit(oldest_limit)
        ).all()
        orphans = sum(ages.values())
        return Detection(dry_run, orphans, new, regained, restored, ages, oldest, horizon)

    with engine.connect() as conn:
        return detect(conn)


def _mark_new_orphans(engine: Engine, reader: Connection, unmarked_orphan: tuple, now) -> int:
    """Mark the channels nobody follows any more: their ids read once without locks (the anti-join over every
    channel is the slow part), then marked BATCH at a time, each page in its own short transaction that
    re-checks the rule on rows locked FOR NO KEY UPDATE in channel-id order (the pipeline's lock order;
    a follow's FOR KEY SHARE never waits on it). A row the app holds right now is skipped: the next
    detection (the subscription sensor asks for one) marks it. Idempotent, so a refused page is run again."""
    candidates = list(reader.execute(
        sa.select(Channel.uuid).where(*unmarked_orphan).order_by(Channel.channel_id)).scalars())
    reader.commit()

    def mark(conn: Connection, page: list) -> int:
        newly = (sa.select(Channel.uuid).where(in_uuids(Channel.uuid, page), *unmarked_orphan)
                 .order_by(Channel.channel_id).with_for_update(key_share=True, skip_locked=True).scalar_subquery())
        return conn.execute(sa.update(Channel).where(Channel.uuid.in_(newly)).values(orphaned_at=now)).rowcount

    return sum(with_retries(engine, lambda conn, page=page: mark(conn, page)) for page in chunks(candidates, BATCH))


def _restore_and_record(conn: Connection, cycle: Cycle, day: date) -> tuple[int, int]:
    """Release the channels followed again and replace `day`'s orphan set, in one transaction; two detections
    at once would both replace the day's set: one at a time."""
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('channel_orphan_daily'))"))
    rows = restore_followed(conn, cycle)
    conn.execute(sa.delete(ChannelOrphanDaily).where(ChannelOrphanDaily.day == day))
    conn.execute(
        sa.insert(ChannelOrphanDaily).from_select(
            ["day", "channel_id", "channel_uuid", "orphaned_at", "action"],
            sa.select(
                sa.literal(day, sa.Date),
                Channel.channel_id,
                Channel.uuid,
                Channel.orphaned_at,
                sa.case(
                    (Channel.soft_deleted_at.is_not(None), "soft_deleted"),
                    (Channel.removal_hold_reason.is_not(None), "held"),
                    else_="detected",
                ),
            ).where(Channel.orphaned_at.is_not(None)),
        )
    )
    return len(rows), sum(r.soft_deleted_at is not None for r in rows)


def _count(conn, *where) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(Channel).where(*where)).scalar_one()
