"""Automatic tiering's reads and writes: which channels change tier, in one SELECT and short UPDATE transactions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, bindparam, func, or_, select, update

from channel_assets.db.core.batching import chunks
from channel_assets.db.core.engine import Refused, with_retries
from channel_assets.db.core.models import Channel, User, UserChannel

CHUNK = 1_000  # channels per UPDATE transaction


@dataclass(frozen=True)
class TierSummary:
    promoted: int
    demoted: int
    to_daily: int
    to_monthly: int
    rescheduled: int
    to_weekly: int = 0
    app_saved: int = 0  # rows the app saved since the pipeline's last write: due at once
    left_for_next_run: int = 0  # channels whose new tier a busy app row kept from being written


@dataclass(frozen=True)
class TieringRules:
    """The tiering policy (refresh.tiers owns the values)."""

    priority_min_subscribers: int
    priority_max_failures: int
    active_user_window: timedelta
    dormant_after: timedelta
    quiet_after: timedelta
    active_upload_window: timedelta
    interval_for: Callable[[str, bool, bool], timedelta]


def priority_channels(now: datetime, rules: TieringRules):
    """Channels with enough active subscriptions from users who logged in recently (seed 004)."""
    return (
        select(UserChannel.channel_id)
        .join(User, User.id == UserChannel.user_id)
        .where(UserChannel.is_active.is_(True), User.is_active.is_(True),
               User.last_login >= now - rules.active_user_window)
        .group_by(UserChannel.channel_id)
        .having(func.count() >= rules.priority_min_subscribers)
    )


def retier(engine: Engine, now: datetime, rules: TieringRules) -> TierSummary:
    """One SELECT of the channels whose tier changes, or that the app saved since the pipeline last wrote
    them (Django's save() writes its possibly stale copy of every field: such a row is due at once, so the
    refresh puts YouTube's values back and logs them); then short UPDATE transactions of CHUNK channels in
    channel-id order (the pipeline's lock order). A chunk the database keeps refusing (a lock the app holds)
    is left for the next run. next_refresh_at follows (last refresh + the new interval) for healthy channels."""
    c = Channel.__table__.c
    # Seed 000: priority = enough active followers AND available AND fewer than `priority_max_failures`
    # failures (a failing channel backs off instead of taking a 30-minute slot).
    new_priority = and_(c.uuid.in_(priority_channels(now, rules)), c.is_available.is_(True),
                        c.failed_update_count < rules.priority_max_failures).label("new_priority")
    app_saved = and_(c.pipeline_written_at.is_not(None), c.updated_at.is_distinct_from(c.pipeline_written_at))
    dormant = and_(c.frequency_pinned.is_(False), c.last_upload_at < now - rules.dormant_after,
                   c.update_frequency != "monthly")
    active = and_(c.frequency_pinned.is_(False), c.last_upload_at >= now - rules.active_upload_window,
                  c.update_frequency != "daily")
    quiet = and_(c.frequency_pinned.is_(False), c.last_upload_at < now - rules.quiet_after,
                 c.update_frequency == "daily")
    query = (
        select(c.channel_id, c.is_priority, c.is_critical, c.update_frequency, c.last_updated,
               c.next_refresh_at, c.last_upload_at, c.frequency_pinned, c.is_available, c.failed_update_count,
               new_priority, app_saved.label("app_saved"))
        .where(c.soft_deleted_at.is_(None), or_(c.is_priority != new_priority, app_saved, dormant, active, quiet))
    )
    promoted = demoted = to_daily = to_weekly = to_monthly = rescheduled = saved = 0
    params = []
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    for row in rows:
        freq = row.update_frequency
        if not row.frequency_pinned and row.last_upload_at is not None:
            if row.last_upload_at < now - rules.dormant_after and freq != "monthly":
                freq, to_monthly = "monthly", to_monthly + 1
            elif row.last_upload_at >= now - rules.active_upload_window and freq != "daily":
                freq, to_daily = "daily", to_daily + 1
            elif row.last_upload_at < now - rules.quiet_after and freq == "daily":
                freq, to_weekly = "weekly", to_weekly + 1
        priority = bool(row.new_priority)
        promoted += priority and not row.is_priority
        demoted += row.is_priority and not priority
        next_at = row.next_refresh_at
        old = rules.interval_for(row.update_frequency, row.is_priority, row.is_critical)
        new = rules.interval_for(freq, priority, row.is_critical)
        # Only a healthy channel's schedule follows its tier: a failing one keeps its backoff and a gone
        # one its monthly recheck (the next success reschedules them on the new interval).
        healthy = row.is_available and not row.failed_update_count
        if healthy and row.last_updated is not None and next_at is not None and old != new:
            next_at = row.last_updated + new
            rescheduled += 1
        if row.app_saved:
            next_at, saved = (now if next_at is None else min(next_at, now)), saved + 1
        params.append({"b_id": row.channel_id, "v_freq": freq, "v_prio": priority, "v_next": next_at})
    params.sort(key=lambda p: p["b_id"])
    statement = (update(Channel.__table__).where(c.channel_id == bindparam("b_id"))
                 .values(update_frequency=bindparam("v_freq"), is_priority=bindparam("v_prio"),
                         next_refresh_at=bindparam("v_next", type_=c.next_refresh_at.type)))
    left = 0
    for chunk in chunks(params, CHUNK):
        try:
            with_retries(engine, lambda conn, chunk=chunk: conn.execute(statement, chunk))
        except Refused:
            left += len(chunk)
    return TierSummary(promoted, demoted, to_daily, to_monthly, rescheduled, to_weekly, saved, left)
