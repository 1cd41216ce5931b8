"""Each schedule's latest run, read from the Dagster instance, for the status summary of the report."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime

import dagster as dg

from channel_assets.reporting.freshness_report import LastRun


def last_scheduled_runs(instance: dg.DagsterInstance, schedules: Sequence[str]) -> list[LastRun]:
    """One indexed run-storage query per schedule (the schedule-name tag)."""
    out = []
    for name in schedules:
        records = instance.get_run_records(filters=dg.RunsFilter(tags={"dagster/schedule_name": name}), limit=1)
        if not records:
            out.append(LastRun(name, "never run", None, "-"))
            continue
        r = records[0]
        started = datetime.fromtimestamp(r.start_time, UTC) if r.start_time else None
        out.append(LastRun(name, r.dagster_run.status.value, started, r.dagster_run.run_id))
    return out


def instance_from_environment() -> dg.DagsterInstance | None:
    """The deployment's instance when DAGSTER_HOME names one (a terminal may have none: the report says so)."""
    if not os.environ.get("DAGSTER_HOME", "").strip():
        return None
    try:
        return dg.DagsterInstance.get()
    except Exception:  # noqa: BLE001 - an unreadable instance only hides the last runs, never the report
        return None
