"""Thin Dagster orchestration of alerts: read the instance's runs, checks, freshness and ticks and the
app's quota ledger and update log, then record and deliver through channel_assets.alerts.service.

Sensors here only watch and send; they never do pipeline work and never launch runs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta

import dagster as dg
from dagster._core.definitions.selector import InstigatorSelector
from dagster._core.scheduler.instigation import TickStatus
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from sqlalchemy import Engine

from channel_assets.alerts import conditions as cond
from channel_assets.alerts.config import AlertConfig
from channel_assets.alerts.resources import AlertChannels
from channel_assets.alerts.service import Delivery, deliver, digest_due, failing_since, record
from channel_assets.db import alerts as db
from channel_assets.db.quota_ledger import QuotaLedger
from channel_assets.db.update_log import success_rate
from channel_assets.resources import AppDatabase
from channel_assets.youtube.redaction import redact

ALERTS_ASSET = dg.AssetKey("alerts")
CIRCUIT_WINDOW = timedelta(hours=1)
SPIKE_WINDOW = timedelta(hours=1)
LOCATION = "channel_assets"
REPOSITORY = "__repository__"


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
    found = []
    for kind, defs_ in (("schedule", repo.schedule_defs), ("sensor", repo.sensor_defs)):
        for d in defs_:
            selector_id = InstigatorSelector(location_name=location, repository_name=REPOSITORY, name=d.name).get_id()
            # Ticks are found by selector id; the origin id only matters for ticks older than that column.
            ticks = instance.get_ticks(selector_id, selector_id, limit=1,
                                       statuses=[TickStatus.SUCCESS, TickStatus.SKIPPED, TickStatus.FAILURE])
            if ticks:
                t = ticks[0]
                error = " ".join(redact(t.error.message).split())[:300] if t.error else ""
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


def alerts_tick(instance: dg.DagsterInstance, repo: dg.RepositoryDefinition, engine: Engine, quota_limit: int,
                config: AlertConfig, now: datetime, location: str = LOCATION) -> list[Delivery]:
    """One evaluation of every watched condition, the daily digest when due, then delivery."""
    ui = config.ui_url
    checks = check_outcomes(instance, repo)
    rate = success_rate(engine, now, SPIKE_WINDOW)
    observations = [
        *cond.quota_observations(QuotaLedger(engine, quota_limit, now=lambda: now).status(), ui),
        *cond.check_observations(checks, ui),
        *cond.freshness_observations(freshness_states(instance, repo), ui),
        *cond.tick_observations(latest_ticks(instance, repo, location), ui),
        cond.circuit_observation(db.circuit_open_runs(engine, now - CIRCUIT_WINDOW, now), CIRCUIT_WINDOW, ui),
        cond.failure_spike_observation(rate.attempts, rate.failed, rate.recent_failures, SPIKE_WINDOW, ui),
        *run_recoveries(instance, failing_since(engine, "run:")),
    ]
    events = []
    key = f"digest:{now.date()}"
    if now.hour >= config.digest_hour and digest_due(engine, key):
        end = datetime.combine(now.date(), time(config.digest_hour), UTC)
        digest = cond.Digest(day=now.date(), **db.digest_facts(engine, end - timedelta(days=1), end),
                             warn_checks=[f"{c.name} on {c.asset}" for c in checks
                                          if c.severity == "WARN" and not c.passed])
        events.append(cond.Outgoing(key, cond.digest_message(digest, ui)))
    record(engine, config, now, observations, events)
    return deliver(engine, config, now)


def materializations(deliveries: Sequence[Delivery]) -> list[dg.AssetMaterialization]:
    """One `alerts` materialization per message handled on this tick, with what each channel did."""
    by_key: dict[str, list[Delivery]] = defaultdict(list)
    for d in deliveries:
        by_key[d.dedup_key].append(d)
    events = []
    for key, ds in by_key.items():
        m = ds[0].message
        channels = {d.channel: d.outcome + (f": {d.error}" if d.error else "") for d in ds}
        if "none" in channels:
            channels = {"none": "recorded only: no alert channel configured (see README, Alerts)"}
        events.append(dg.AssetMaterialization(ALERTS_ASSET, description=m.title, metadata={
            "condition": m.condition, "severity": m.severity, "title": m.title,
            "text": dg.MetadataValue.text(m.text),
            "link": dg.MetadataValue.url(m.link) if m.link else "", "channels": dg.MetadataValue.json(channels),
            "dedup_key": key}))
    return events


@dg.sensor(minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Quota, ERROR checks, freshness, failed ticks, open circuit breaker, run recoveries and the "
                       "daily digest: records alerts and delivers them (never launches runs).")
def alerts_sensor(context: dg.SensorEvaluationContext, app_db: AppDatabase,
                  alert_channels: AlertChannels) -> dg.SensorResult:
    origin = context.code_location_origin
    deliveries = alerts_tick(context.instance, context.repository_def, app_db.engine,
                             app_db.settings.quota_pipeline_limit, alert_channels.config(), datetime.now(UTC),
                             origin.location_name if origin else LOCATION)
    for d in deliveries:
        context.log.info(f"alert {d.message.title!r} on {d.channel}: {d.outcome}" + (f" ({d.error})" if d.error else ""))
    return dg.SensorResult(asset_events=materializations(deliveries))


def _launched_by(run: dg.DagsterRun) -> str | None:
    if run.tags.get("dagster/schedule_name"):
        return f"schedule {run.tags['dagster/schedule_name']}"
    if run.tags.get("dagster/sensor_name"):
        return f"sensor {run.tags['dagster/sensor_name']}"
    return None


def run_failure_observation(run: dg.DagsterRun, failure: dg.DagsterEvent, step_errors: Sequence[str],
                            ui_url: str) -> cond.Observation | None:
    """Only runs a schedule or sensor launched: a human who launched one by hand watches it already."""
    launched_by = _launched_by(run)
    if launched_by is None:
        return None
    data = failure.event_specific_data
    reason = getattr(getattr(data, "failure_reason", None), "value", "") or ""
    error = " ".join(redact(" ".join([failure.message or "", *step_errors])).split())[:500]
    message = cond.run_failure_message(run.job_name, run.run_id, launched_by, reason, error, ui_url)
    return cond.Observation(message.condition, True, message)


def _root_cause(error) -> str:
    """Dagster wraps the op's exception ("Error occurred while executing op"): show the op's own."""
    while error.cause is not None:
        error = error.cause
    return f"{error.cls_name}: {error.message}"


@dg.run_failure_sensor(minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
                       description="A scheduled or sensor-launched run failed or overran: recorded as an alert "
                                   "(alerts_sensor delivers it).")
def run_failure_alerts(context: dg.RunFailureSensorContext, app_db: AppDatabase,
                       alert_channels: AlertChannels) -> None:
    config = alert_channels.config()
    step_errors = [_root_cause(e.event_specific_data.error) for e in context.get_step_failure_events()
                   if e.event_specific_data.error]
    observation = run_failure_observation(context.dagster_run, context.failure_event, step_errors, config.ui_url)
    if observation is not None:
        record(app_db.engine, config, datetime.now(UTC), [observation])
