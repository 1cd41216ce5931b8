"""The freshness report's reads: one GROUP BY over tiers × age buckets and two short lists.

Grouped SQL only, so it stays cheap at 500k rows; the tier intervals and the buckets come from the caller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, case, func, select

from channel_assets.db.cleanup.holds import hold_label
from channel_assets.db.core.models import Channel


@dataclass(frozen=True)
class FreshnessRows:
    grouped: list[tuple]  # (tier, bucket label or "never", channels, within their interval)
    total: int
    unavailable: int
    failing: int
    due: int
    stale: list[tuple]  # (channel_id, title, tier, last_updated), oldest first
    failing_channels: list[tuple]  # (channel_id, title, failed_update_count, last_error)


def freshness_rows(engine: Engine, now: datetime, intervals: Mapping[str, timedelta], priority_interval: timedelta,
                   buckets: Sequence[tuple[str, timedelta | None]], listed: int = 10) -> FreshnessRows:
    """`intervals` maps update_frequency to its interval (unknown ones count as weekly); a bucket with a
    None limit collects every older age."""
    c = Channel.__table__.c
    tier = case((c.is_critical.is_(True), "critical"), (c.is_priority.is_(True), "priority"),
                (c.update_frequency.in_(list(intervals)), c.update_frequency), else_="weekly").label("tier")
    interval = case((c.is_critical.is_(True) | c.is_priority.is_(True), now - priority_interval),
                    *((c.update_frequency == f, now - iv) for f, iv in intervals.items() if f != "weekly"),
                    else_=now - intervals["weekly"])
    oldest = next(label for label, limit in buckets if limit is None)
    bucket = case((c.last_updated.is_(None), "never"),
                  *((c.last_updated >= now - limit, label) for label, limit in buckets if limit is not None),
                  else_=oldest).label("bucket")
    live = [c.soft_deleted_at.is_(None)]
    with engine.connect() as conn:
        grouped = conn.execute(
            select(tier, bucket, func.count(), func.sum(case((c.last_updated >= interval, 1), else_=0)))
            .where(*live, c.is_available.is_(True)).group_by(tier, bucket)).all()
        totals = conn.execute(select(
            func.count(), func.sum(case((c.is_available.is_(False), 1), else_=0)),
            func.sum(case((c.failed_update_count > 0, 1), else_=0)),
            func.sum(case(((c.next_refresh_at.is_(None)) | (c.next_refresh_at <= now), 1), else_=0)),
        ).where(*live)).one()
        stale = conn.execute(
            select(c.channel_id, c.title, tier, c.last_updated)
            .where(*live, c.is_available.is_(True), c.last_updated.is_not(None))
            .order_by(c.last_updated, c.channel_id).limit(listed)).all()
        failing = conn.execute(
            select(c.channel_id, c.title, c.failed_update_count, c.last_error)
            .where(*live, c.failed_update_count > 0)
            .order_by(c.failed_update_count.desc(), c.channel_id).limit(listed)).all()
    total, unavailable, failing_n, due = (int(v or 0) for v in totals)
    return FreshnessRows([tuple(r) for r in grouped], total, unavailable, failing_n, due,
                         [tuple(r) for r in stale], [tuple(r) for r in failing])


@dataclass(frozen=True)
class AttentionRows:
    """What the status summary shows beside freshness: today's refreshes and what waits for a human."""

    updated_today: int
    capped: list[tuple]  # (channel_id, title, failed_update_count, is_available, last_error): failure cap reached
    held: list[tuple]  # (channel_id, title, hold_label): safety and operator holds, soft-deleted ones too


def attention_rows(engine: Engine, now: datetime, failure_cap: int, listed: int = 20) -> AttentionRows:
    """Channels refreshed since 00:00 UTC of `now`'s day, capped channels (most failures first), held removals
    (also those held at the hard delete, already soft-deleted)."""
    c = Channel.__table__.c
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    live = c.soft_deleted_at.is_(None)
    with engine.connect() as conn:
        updated = conn.execute(select(func.count()).where(live, c.last_updated >= midnight,
                                                          c.last_updated <= now)).scalar_one()
        capped = conn.execute(
            select(c.channel_id, c.title, c.failed_update_count, c.is_available, c.last_error)
            .where(live, c.failed_update_count >= failure_cap)
            .order_by(c.failed_update_count.desc(), c.channel_id).limit(listed)).all()
        held = conn.execute(
            select(c.channel_id, c.title, c.removal_hold_reason, c.soft_deleted_at)
            .where(c.removal_hold_reason.is_not(None)).order_by(c.channel_id).limit(listed)).all()
    return AttentionRows(updated, [tuple(r) for r in capped],
                         [(cid, title, hold_label(reason, deleted is not None)) for cid, title, reason, deleted in held])
