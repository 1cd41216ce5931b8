"""What the alerts read from the Dagster instance: asset check evaluations, freshness states,
schedule and sensor ticks, and runs. Each reader turns instance records into plain condition inputs.

The one module allowed to import Dagster's private modules (an import-linter contract in pyproject.toml
keeps it so): tick statuses, check-evaluation statuses and the selector id of a schedule's or sensor's ticks
have no public API in dagster 1.13. A Dagster upgrade that moves them breaks here, and only here.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
from dagster._core.definitions.selector import InstigatorSelector
from dagster._core.scheduler.instigation import TickStatus
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from channel_assets.alerts import conditions as cond
from channel_assets.youtube.redaction import one_line


def check_outcomes(instance: dg.DagsterInstance, repo: dg.RepositoryDefinition) -> list[cond.CheckOutcome]:
    """The latest finished evaluation of every asset check in the code location."""
    keys = list(repo.asset_graph.asset_check_keys)
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    finished = (AssetCheckExecutionRecordStatus.SUCCEEDED, AssetCheckExecutionRecordStatus.FAILED)
    found = []
    for key, rec in sorted(latest.items(), key=lambda kv: kv[0].to_user_string()):
        if rec.status not in finished or rec.event is None or rec.event.dagster_event is None:
            continue
        evaluation = rec.event.dagster_event.event_specific_data
        found.append(cond.CheckOutcome(key.asset_key.to_user_string(), key.name, evaluation.severity.value,
                                       evaluation.passed, rec.run_id, evaluation.description or ""))
    return found


def freshness_states(instance: dg.DagsterInstance, repo: dg.RepositoryDefinition) -> dict[str, str]:
    """Freshness states the daemon recorded for the code location's assets (FreshnessState values)."""
    records = instance.get_freshness_state_records(list(repo.asset_graph.get_all_asset_keys()))
    return {key.to_user_string(): r.freshness_state.value for key, r in records.items()}


def latest_ticks(instance: dg.DagsterInstance, repo: dg.RepositoryDefinition,
                 location: str) -> list[cond.TickOutcome]:
    """The latest finished tick of each schedule and sensor of the code location (none yet: left out)."""
    found = []
    for kind, defs_ in (("schedule", repo.schedule_defs), ("sensor", repo.sensor_defs)):
        for d in defs_:
            selector_id = InstigatorSelector(location_name=location, repository_name=cond.REPOSITORY, name=d.name).get_id()
            # Ticks are found by selector id; the origin id only matters for ticks older than that column.
            ticks = instance.get_ticks(selector_id, selector_id, limit=1,
                                       statuses=[TickStatus.SUCCESS, TickStatus.SKIPPED, TickStatus.FAILURE])
            if ticks:
                t = ticks[0]
                error = one_line(t.error.message) if t.error else ""
                found.append(cond.TickOutcome(d.name, kind, t.status == TickStatus.FAILURE,
                                              datetime.fromtimestamp(t.timestamp, UTC), error))
    return found


def run_recoveries(instance: dg.DagsterInstance, failing: dict[str, datetime]) -> list[cond.Observation]:
    """A failing `run:<job>` condition recovers when a later run of that job succeeds."""
    found = []
    for condition, since in failing.items():
        job = condition.removeprefix("run:")
        ok = instance.get_runs(filters=dg.RunsFilter(job_name=job, statuses=[dg.DagsterRunStatus.SUCCESS],
                                                     created_after=since), limit=1)
        if ok:
            found.append(cond.Observation(condition, False))
    return found
