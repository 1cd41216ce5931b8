"""The next scheduled update, from the schedules' states as the Dagster instance holds them.

The app's API is Dagster-free: it is handed a callable returning ScheduleState rows (the Dagster-side
adapter, channel_assets.defs.requests.schedule_states, reads them from the instance). A stopped schedule
is not next; every running one counts, the cleanup's included. The next fire time is computed from the
schedule's cron string and time zone; the crons this project uses ("M H * * *", "*/N * * * *") are
understood, any other makes that schedule's next run unknown (said in the reason, never guessed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from channel_assets.reporting.freshness_report import next_runs
from channel_assets.youtube import one_line


@dataclass(frozen=True)
class ScheduleState:
    name: str
    running: bool
    cron: str
    timezone: str


def _simple(cron: str) -> tuple[int | None, int] | None:
    """(hour or None for every N minutes, minute or N) of a cron this module understands, else None."""
    parts = cron.split()
    if len(parts) != 5 or parts[2:] != ["*", "*", "*"]:
        return None
    minute, hour = parts[0], parts[1]
    if hour == "*" and minute.startswith("*/") and minute[2:].isdigit() and 60 % int(minute[2:]) == 0:
        return None, int(minute[2:])
    if hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60:
        return int(hour), int(minute)
    return None


def next_scheduled_update(schedules: Callable[[], Sequence[ScheduleState]] | None,
                          now: datetime) -> tuple[datetime | None, str | None, str | None]:
    """(when, which schedule, None) or (None, None, why it is not known)."""
    if schedules is None:
        return None, None, ("schedule states not read: the caller passed no `schedules` (see the README, "
                            "'Using it from the gallery app')")
    try:
        states = list(schedules())
    except Exception as exc:  # noqa: BLE001 - an unreadable instance only hides this one field
        return None, None, f"schedule states unreadable: {one_line(exc, limit=200)}"
    running = [s for s in states if s.running]
    if not running:
        return None, None, "no schedule is running" if states else "no schedules found"
    entries, unknown = [], []
    for s in running:
        simple = _simple(s.cron)
        if simple is None:
            unknown.append(s.name)
        else:
            entries.append((s.name, simple[0], simple[1], s.timezone))
    if not entries:
        return None, None, f"cron not understood for {', '.join(unknown)}"
    name, when = min(next_runs(now, entries), key=lambda e: e[1])
    return when, name, None
