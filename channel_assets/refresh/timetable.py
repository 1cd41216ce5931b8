"""When the refresh schedules fire, each in its own time zone (UTC, but the quota-reset catch-up in
Pacific time), defined once for the schedules and the report's "next runs", and what the freshness
report measures against. The cleanup schedules' times are the cleanup domain's own."""

from __future__ import annotations

from datetime import timedelta

from channel_assets.db.cleanup.orphans import ORPHAN_DEADLINE
from channel_assets.refresh.tiers import FAILURE_CAP, INTERVALS, POLICY_MAX_AGE, PRIORITY_INTERVAL
from channel_assets.reporting.freshness_report import ReportRules

# (schedule name, hour, minute, time zone); hour None = every `minute` minutes.
SCHEDULE_TIMES: tuple[tuple[str, int | None, int, str], ...] = (
    ("daily_full_refresh", 2, 0, "UTC"),
    # 15 minutes after the YouTube quota resets (midnight Pacific, DST included): what the spent quota
    # deferred is refreshed at once instead of waiting for 02:00 UTC; fresh channels are not due.
    ("quota_reset_catch_up", 0, 15, "America/Los_Angeles"),
    ("priority_refresh", None, 30, "UTC"),
    ("daily_statistics", 3, 30, "UTC"),
    ("daily_freshness_report", 4, 0, "UTC"),
)
# Run monitoring cancels a scheduled run that overruns (tag dagster/max_runtime; run_monitoring is on in
# dagster.yaml and deploy/dagster.postgres.yaml); the run_failure_alerts sensor tells a human. Seed 000:
# the daily update is finished within 2 hours of its schedule.
RUN_TIME_LIMITS: dict[str, timedelta] = {
    "daily_full_refresh": timedelta(hours=2),
    "quota_reset_catch_up": timedelta(hours=2),
    "priority_refresh": timedelta(minutes=30),
    "daily_statistics": timedelta(hours=1),
    "daily_freshness_report": timedelta(hours=1),
}
# Every schedule of the code location, for the report's "last runs" (the cleanup domain's two included).
REPORTED_SCHEDULES = (*(name for name, *_ in SCHEDULE_TIMES), "daily_cleanup", "daily_log_retention")
AGE_BUCKETS = (("≤30 min", timedelta(minutes=30)), ("≤1 d", timedelta(days=1)), ("≤7 d", timedelta(days=7)),
               ("≤27 d", timedelta(days=27)), ("≤30 d", POLICY_MAX_AGE), (">30 d", None))
REPORT_RULES = ReportRules(INTERVALS, PRIORITY_INTERVAL, AGE_BUCKETS, SCHEDULE_TIMES, FAILURE_CAP, ORPHAN_DEADLINE)


def _entry(name: str) -> tuple[str, int | None, int, str]:
    return next(entry for entry in SCHEDULE_TIMES if entry[0] == name)


def cron(name: str) -> str:
    """The cron string of one of SCHEDULE_TIMES."""
    _, hour, minute, _ = _entry(name)
    return f"*/{minute} * * * *" if hour is None else f"{minute} {hour} * * *"


def timezone(name: str) -> str:
    """The execution time zone of one of SCHEDULE_TIMES."""
    return _entry(name)[3]


def run_time_limit_tags(name: str) -> dict[str, str]:
    """The tag run monitoring reads (dagster's MAX_RUNTIME_SECONDS_TAG) for a run of this schedule."""
    return {"dagster/max_runtime": str(int(RUN_TIME_LIMITS[name].total_seconds()))}
