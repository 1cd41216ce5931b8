"""Update tiers: refresh intervals per tier and the set-based automatic tiering.

Automatic tiering follows upload activity unless the frequency is pinned: an upload in the last
7 days → daily; a daily channel quiet for 30 days → weekly; no upload for 180 days → monthly.

Intervals keep the 30-day policy with margin: monthly is 27 days so that a failed run or a late
schedule still refreshes every available channel within 30 days.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from channel_assets.db.refresh.tiering import TieringRules, TierSummary, retier
from channel_assets.refresh.error_types import ACCESS_DENIED

PRIORITY_INTERVAL = timedelta(minutes=30)
INTERVALS = {"daily": timedelta(days=1), "weekly": timedelta(days=7), "monthly": timedelta(days=27)}
UNAVAILABLE_RECHECK = INTERVALS["monthly"]
POLICY_MAX_AGE = timedelta(days=30)
PRIORITY_MIN_SUBSCRIBERS = 5
FAILURE_CAP = 5  # seed 000: 5 failures cap a channel; 5 access-denied ones make it unavailable
CAPPED_RECHECK = timedelta(days=7)
UNAVAILABLE_AT_CAP = frozenset({ACCESS_DENIED})
PRIORITY_MAX_FAILURES = 3  # seed 000: priority needs fewer than 3 failed updates
ACTIVE_USER_WINDOW = timedelta(days=30)
DORMANT_AFTER = timedelta(days=180)
QUIET_AFTER = timedelta(days=30)
ACTIVE_UPLOAD_WINDOW = timedelta(days=7)


def interval_for(update_frequency: str, is_priority: bool = False, is_critical: bool = False) -> timedelta:
    """Critical and priority channels share the 30-minute interval; unknown frequencies count as weekly."""
    if is_critical or is_priority:
        return PRIORITY_INTERVAL
    return INTERVALS.get(update_frequency, INTERVALS["weekly"])


def failure_backoff(failures: int) -> timedelta:
    """30 min × 2^(failures-1), at most a day; from FAILURE_CAP failures on (seed 000: due selection skips
    them) only a weekly recheck, so a channel that comes back is noticed and a dead one costs little."""
    if failures >= FAILURE_CAP:
        return CAPPED_RECHECK
    return min(PRIORITY_INTERVAL * (2 ** max(failures - 1, 0)), timedelta(days=1))


TIERING = TieringRules(
    priority_min_subscribers=PRIORITY_MIN_SUBSCRIBERS, priority_max_failures=PRIORITY_MAX_FAILURES,
    active_user_window=ACTIVE_USER_WINDOW,
    dormant_after=DORMANT_AFTER, quiet_after=QUIET_AFTER, active_upload_window=ACTIVE_UPLOAD_WINDOW,
    interval_for=interval_for,
)


def apply_tiers(engine: Engine, now: datetime) -> TierSummary:
    """Re-tier every live channel set-based by these rules (db.tiering does the reads and the write)."""
    return retier(engine, now, TIERING)
