"""The schedules' states as the Dagster instance holds them, for the app's `update_status(schedules=...)`.

A schedule turned on or off in the UI has a stored state (RUNNING or STOPPED); one never touched is
governed by its `default_status` in code (daily_cleanup starts STOPPED). Public APIs only: the instance's
stored instigator states (read by their names, no private import) and the schedule definitions.

The app passes `instance_schedule_states` as `schedules`; it needs dagster installed and DAGSTER_HOME
pointing at the deployment's instance (its dagster.yaml, e.g. deploy/dagster.postgres.yaml). Without them
update_status says why next_scheduled_update is null.
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from channel_assets.defs.partitions import daily_partitions
from channel_assets.defs.schedules import all_schedules
from channel_assets.requests.schedules import ScheduleState


def schedule_states(instance: dg.DagsterInstance, schedules: Sequence = tuple(all_schedules)) -> list[ScheduleState]:
    stored = {state.name: state.status.name for state in instance.all_instigator_state()
              if state.instigator_type.name == "SCHEDULE"}
    out = []
    for definition in schedules:
        status = stored.get(definition.name, "DECLARED_IN_CODE")
        running = (definition.default_status == dg.DefaultScheduleStatus.RUNNING if status == "DECLARED_IN_CODE"
                   else status == "RUNNING")
        cron, timezone = _cron(definition)
        out.append(ScheduleState(definition.name, running, cron, timezone))
    return out


def _cron(definition) -> tuple[str, str]:
    """(cron, time zone). A partitioned asset job's schedule (daily_cleanup) is resolved only when the code
    location loads: its cron is its partitions' (the cleanup assets are daily_partitions; a test compares
    it with the loaded code location's)."""
    if not isinstance(definition, dg.ScheduleDefinition):
        return daily_partitions.get_cron_schedule(definition.minute_of_hour, definition.hour_of_day,
                                                  definition.day_of_week, definition.day_of_month), \
            daily_partitions.timezone or "UTC"
    cron = definition.cron_schedule
    return (cron if isinstance(cron, str) else " | ".join(cron)), definition.execution_timezone or "UTC"


def instance_schedule_states() -> list[ScheduleState]:
    """The deployment's instance (DAGSTER_HOME) and this code location's schedules."""
    with dg.DagsterInstance.get() as instance:
        return schedule_states(instance)
