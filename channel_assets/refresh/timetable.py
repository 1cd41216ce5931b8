"""When the refresh's schedules fire (UTC), defined once for the schedules and the report's "next runs",
and what the freshness report measures against."""

from __future__ import annotations

from datetime import timedelta

from channel_assets.refresh.tiers import INTERVALS, POLICY_MAX_AGE, PRIORITY_INTERVAL
from channel_assets.reporting.freshness import ReportRules

# (schedule name, hour, minute); hour None = every `minute` minutes.
SCHEDULE_TIMES: tuple[tuple[str, int | None, int], ...] = (
    ("daily_full_refresh", 2, 0),
    ("priority_refresh", None, 30),
    ("daily_statistics", 3, 30),
    ("daily_freshness_report", 4, 0),
)
AGE_BUCKETS = (("≤30 min", timedelta(minutes=30)), ("≤1 d", timedelta(days=1)), ("≤7 d", timedelta(days=7)),
               ("≤27 d", timedelta(days=27)), ("≤30 d", POLICY_MAX_AGE), (">30 d", None))
REPORT_RULES = ReportRules(INTERVALS, PRIORITY_INTERVAL, AGE_BUCKETS, SCHEDULE_TIMES)


def cron(name: str) -> str:
    """The cron string of one of SCHEDULE_TIMES."""
    hour, minute = next((h, m) for n, h, m in SCHEDULE_TIMES if n == name)
    return f"*/{minute} * * * *" if hour is None else f"{minute} {hour} * * *"
