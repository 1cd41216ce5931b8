"""Update tiers (F3): refresh intervals per tier and the set-based automatic tiering.

Automatic tiering follows upload activity unless the frequency is pinned: an upload in the last
7 days → daily; a daily channel quiet for 30 days → weekly; no upload for 180 days → monthly.

Intervals keep the 30-day policy with margin: monthly is 27 days so that a failed run or a late
schedule still refreshes every available channel within 30 days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, bindparam, func, or_, select, update

from channel_assets.db.engine import transaction
from channel_assets.db.models import Channel, User, UserChannel

PRIORITY_INTERVAL = timedelta(minutes=30)
INTERVALS = {"daily": timedelta(days=1), "weekly": timedelta(days=7), "monthly": timedelta(days=27)}
UNAVAILABLE_RECHECK = INTERVALS["monthly"]
POLICY_MAX_AGE = timedelta(days=30)
PRIORITY_MIN_SUBSCRIBERS = 5
ACTIVE_USER_WINDOW = timedelta(days=30)
DORMANT_AFTER = timedelta(days=180)
QUIET_AFTER = timedelta(days=30)
ACTIVE_UPLOAD_WINDOW = timedelta(days=7)
TIER_ORDER = ("critical", "priority", "new", "daily", "weekly", "monthly")


def interval_for(update_frequency: str, is_priority: bool = False, is_critical: bool = False) -> timedelta:
    """Critical and priority channels share the 30-minute interval; unknown frequencies count as weekly."""
    if is_critical or is_priority:
        return PRIORITY_INTERVAL
    return INTERVALS.get(update_frequency, INTERVALS["weekly"])


def tier_of(update_frequency: str, is_priority: bool, is_critical: bool, never_fetched: bool) -> str:
    if is_critical:
        return "critical"
    if is_priority:
        return "priority"
    if never_fetched:
        return "new"
    return update_frequency if update_frequency in INTERVALS else "weekly"


def failure_backoff(failures: int) -> timedelta:
    """30 min × 2^(failures-1), capped at one day: a failing channel is retried, never hammered."""
    return min(PRIORITY_INTERVAL * (2 ** max(failures - 1, 0)), timedelta(days=1))


@dataclass(frozen=True)
class TierSummary:
    promoted: int
    demoted: int
    to_daily: int
    to_monthly: int
    rescheduled: int
    to_weekly: int = 0


def priority_channels_subquery(now: datetime):
    """Channels with ≥5 active subscriptions from users who logged in within 30 days (seed 004)."""
    return (
        select(UserChannel.channel_id)
        .join(User, User.id == UserChannel.user_id)
        .where(UserChannel.is_active.is_(True), User.is_active.is_(True),
               User.last_login >= now - ACTIVE_USER_WINDOW)
        .group_by(UserChannel.channel_id)
        .having(func.count() >= PRIORITY_MIN_SUBSCRIBERS)
    )


def apply_tiers(engine: Engine, now: datetime) -> TierSummary:
    """One SELECT of the channels whose tier changes, one executemany UPDATE; next_refresh_at follows
    (last refresh + the new interval) for healthy channels."""
    c = Channel.__table__.c
    new_priority = c.uuid.in_(priority_channels_subquery(now)).label("new_priority")
    dormant = and_(c.frequency_pinned.is_(False), c.last_upload_at < now - DORMANT_AFTER,
                   c.update_frequency != "monthly")
    active = and_(c.frequency_pinned.is_(False), c.last_upload_at >= now - ACTIVE_UPLOAD_WINDOW,
                  c.update_frequency != "daily")
    quiet = and_(c.frequency_pinned.is_(False), c.last_upload_at < now - QUIET_AFTER,
                 c.update_frequency == "daily")
    query = (
        select(c.channel_id, c.is_priority, c.is_critical, c.update_frequency, c.last_updated,
               c.next_refresh_at, c.last_upload_at, c.frequency_pinned, c.is_available, c.failed_update_count,
               new_priority)
        .where(c.soft_deleted_at.is_(None), or_(c.is_priority != new_priority, dormant, active, quiet))
    )
    promoted = demoted = to_daily = to_weekly = to_monthly = rescheduled = 0
    params = []
    with transaction(engine) as conn:
        for row in conn.execute(query):
            freq = row.update_frequency
            if not row.frequency_pinned and row.last_upload_at is not None:
                if row.last_upload_at < now - DORMANT_AFTER and freq != "monthly":
                    freq, to_monthly = "monthly", to_monthly + 1
                elif row.last_upload_at >= now - ACTIVE_UPLOAD_WINDOW and freq != "daily":
                    freq, to_daily = "daily", to_daily + 1
                elif row.last_upload_at < now - QUIET_AFTER and freq == "daily":
                    freq, to_weekly = "weekly", to_weekly + 1
            priority = bool(row.new_priority)
            promoted += priority and not row.is_priority
            demoted += row.is_priority and not priority
            next_at = row.next_refresh_at
            old = interval_for(row.update_frequency, row.is_priority, row.is_critical)
            new = interval_for(freq, priority, row.is_critical)
            # Only a healthy channel's schedule follows its tier: a failing one keeps its backoff and a gone
            # one its monthly recheck (the next success reschedules them on the new interval).
            healthy = row.is_available and not row.failed_update_count
            if healthy and row.last_updated is not None and next_at is not None and old != new:
                next_at = row.last_updated + new
                rescheduled += 1
            params.append({"b_id": row.channel_id, "v_freq": freq, "v_prio": priority, "v_next": next_at})
        if params:
            conn.execute(
                update(Channel.__table__)
                .where(c.channel_id == bindparam("b_id"))
                .values(update_frequency=bindparam("v_freq"), is_priority=bindparam("v_prio"),
                        next_refresh_at=bindparam("v_next", type_=c.next_refresh_at.type)),
                params,
            )
    return TierSummary(promoted, demoted, to_daily, to_monthly, rescheduled, to_weekly)
