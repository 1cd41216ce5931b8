"""Thin Dagster orchestration of alerts: gather the conditions (channel_assets.defs.alerts.instance_reads for the
instance, the app's quota ledger and update log), then record and deliver through the service.

Sensors here only watch and send; they never do pipeline work and never launch runs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta

import dagster as dg
from sqlalchemy import Engine

from channel_assets.alerts import conditions as cond
from channel_assets.alerts.config import AlertConfig
from channel_assets.alerts.service import Delivery, deliver, digest_due, failing_since, record
from channel_assets.db.audit import alert_outbox as db
from channel_assets.db.audit.update_log import success_rate
from channel_assets.defs.alerts.instance_reads import (
    check_outcomes,
    freshness_states,
    latest_ticks,
    run_recoveries,
)
from channel_assets.defs.alerts.resources import AlertChannels
from channel_assets.defs.resources import AppDatabase, PipelinePolicy
from channel_assets.refresh.tiers import FAILURE_CAP
from channel_assets.youtube.redaction import one_line

ALERTS_ASSET = dg.AssetKey("alerts")
CIRCUIT_WINDOW = timedelta(hours=1)
SPIKE_WINDOW = timedelta(hours=1)


def alerts_tick(instance: dg.DagsterInstance, repo: dg.RepositoryDefinition, engine: Engine, policy: PipelinePolicy,
                config: AlertConfig, now: datetime, location: str = cond.LOCATION) -> list[Delivery]:
    """One evaluation of every watched condition, the daily digest when due, then delivery."""
    ui = config.ui_url
    checks = check_outcomes(instance, repo)
    rate = success_rate(engine, now, SPIKE_WINDOW)
    observations = [
        *cond.quota_observations(policy.ledger(engine, now=lambda: now).status(), policy.quota_daily_limit, ui),
        *cond.check_observations(checks, ui),
        *cond.freshness_observations(freshness_states(instance, repo), ui),
        *cond.tick_observations(latest_ticks(instance, repo, location), ui, location),
        cond.circuit_observation(db.circuit_open_runs(engine, now - CIRCUIT_WINDOW, now), CIRCUIT_WINDOW, ui),
        cond.failure_spike_observation(rate.attempts, rate.failed, rate.recent_failures, SPIKE_WINDOW, ui),
        *run_recoveries(instance, failing_since(engine, "run:")),
    ]
    events = []
    key = f"digest:{now.date()}"
    if now.hour >= config.digest_hour and digest_due(engine, key):
        end = datetime.combine(now.date(), time(config.digest_hour), UTC)
        digest = cond.Digest(day=now.date(), **db.digest_facts(engine, end - timedelta(days=1), end, FAILURE_CAP),
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
def alerts_sensor(context: dg.SensorEvaluationContext, app_db: AppDatabase, policy: PipelinePolicy,
                  alert_channels: AlertChannels) -> dg.SensorResult:
    origin = context.code_location_origin
    deliveries = alerts_tick(context.instance, context.repository_def, app_db.engine, policy,
                             alert_channels.config(), datetime.now(UTC),
                             origin.location_name if origin else cond.LOCATION)
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
    error = one_line(" ".join([failure.message or "", *step_errors]), limit=500)
    message = cond.run_failure_message(run.job_name, run.run_id, launched_by, reason, error, ui_url)
    return cond.Observation(message.condition, True, message)


def cancel_reasons(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """Why run monitoring canceled the run ("Canceling due to exceeding maximum runtime of N seconds."):
    when the launcher cannot terminate the process, the failure itself only says "forcibly marked as
    failed", so an overrun is told from this event."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_CANCELING).records
    return [r.event_log_entry.dagster_event.message or "" for r in records if r.event_log_entry.dagster_event]


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
                   if e.event_specific_data.error] + cancel_reasons(context.instance, context.dagster_run.run_id)
    observation = run_failure_observation(context.dagster_run, context.failure_event, step_errors, config.ui_url)
    if observation is not None:
        record(app_db.engine, config, datetime.now(UTC), [observation])
