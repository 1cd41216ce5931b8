"""The sensors against a real Dagster instance: a failed scheduled run, an ERROR check, a freshness
state change and a failed tick, read back from the instance and delivered to a local webhook."""

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from dagster._core.definitions.freshness import FreshnessState, FreshnessStateChange
from dagster._core.definitions.selector import InstigatorSelector
from dagster._core.scheduler.instigation import InstigatorType, TickData, TickStatus
from dagster._utils.error import SerializableErrorInfo

from channel_assets.alerts.conditions import LOCATION, REPOSITORY
from channel_assets.alerts.config import load_alert_config
from channel_assets.alerts.service import record
from channel_assets.defs.alerts.resources import AlertChannels
from channel_assets.defs.alerts.sensors import alerts_sensor, alerts_tick, run_failure_alerts
from channel_assets.defs.resources import AppDatabase, PipelinePolicy

T0 = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)  # before the digest hour
HOOK = "/hook/dagster-secret"


class FailConfig(dg.Config):
    fail: bool = True


@dg.op
def fetch(config: FailConfig) -> None:
    if config.fail:
        raise RuntimeError("API said no (url ...?key=AIzaNOTSHOWN123)")


@dg.job
def flaky_job():
    fetch()


@dg.asset
def thing() -> None:
    return None


@dg.asset_check(asset=thing)
def thing_complete() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.ERROR, description="3 rows lost")


@dg.asset_check(asset=thing)
def thing_tidy() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN)


REPO = dg.Definitions(assets=[thing], asset_checks=[thing_complete, thing_tidy], jobs=[flaky_job]).get_repository_def()


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


@pytest.fixture
def setup(pg_engine, instance, http_receiver):
    cfg = load_alert_config({"CHANNEL_ASSETS_UI_URL": "http://ui:3000",
                             "CHANNEL_ASSETS_ALERTS_WEBHOOK_URL": http_receiver.url + HOOK})

    def tick(now):
        alerts_tick(instance, REPO, pg_engine, PipelinePolicy(), cfg, now)
        return [r["json"] for r in http_receiver.received]
    return cfg, tick


def _run(instance, fail: bool, tags: dict):
    return flaky_job.execute_in_process(instance=instance, raise_on_error=False, tags=tags,
                                        run_config={"ops": {"fetch": {"config": {"fail": fail}}}})


def _failure_sensor(instance, result, pg_url, receiver):
    run = instance.get_run_by_id(result.run_id)
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_alerts", dagster_event=result.get_run_failure_event(), dagster_instance=instance,
        dagster_run=run, resources={"app_db": AppDatabase(database_url=pg_url),
                                    "alert_channels": AlertChannels(ui_url="http://ui:3000",
                                                                    webhook_url=receiver.url + HOOK)},
    ).for_run_failure()
    run_failure_alerts(context)


def test_failed_scheduled_run_alerts_once_and_recovers(pg_url, instance, setup, http_receiver):
    _, tick = setup
    tags = {"dagster/schedule_name": "daily_full_refresh"}
    first, second = _run(instance, True, tags), _run(instance, True, tags)
    manual = _run(instance, True, {})
    for result in (first, second, manual):
        _failure_sensor(instance, result, pg_url, http_receiver)
    sent = tick(T0)
    assert [s["condition"] for s in sent] == ["run:flaky_job"]
    assert sent[0]["title"] == "Run of flaky_job failed"
    assert "launched by schedule daily_full_refresh" in sent[0]["text"] and "API said no" in sent[0]["text"]
    assert "AIzaNOTSHOWN123" not in sent[0]["text"]
    assert sent[0]["link"] == f"http://ui:3000/runs/{first.run_id}"
    _run(instance, False, tags)
    sent = tick(T0 + timedelta(minutes=1))
    assert [s["severity"] for s in sent] == ["error", "resolved"]


def test_error_check_alerts_at_once_warn_check_waits_for_the_digest(instance, setup):
    _, tick = setup
    dg.materialize([thing, thing_complete, thing_tidy], instance=instance)
    sent = tick(T0)
    assert [s["condition"] for s in sent] == ["check:thing:thing_complete"]
    assert "3 rows lost" in sent[0]["text"] and sent[0]["link"] == "http://ui:3000/assets/thing?view=checks"
    sent = tick(T0.replace(hour=8))
    assert [s["condition"] for s in sent] == ["check:thing:thing_complete", "digest"]
    assert "WARN checks failing: thing_tidy on thing" in sent[1]["text"]


def _freshness(instance, previous, new):
    instance._report_runless_asset_event(asset_event=FreshnessStateChange(  # what the freshness daemon does
        key=dg.AssetKey("thing"), previous_state=previous, new_state=new,
        state_change_timestamp=datetime.now(UTC).timestamp()))


def test_freshness_pass_to_fail_alerts_and_back_to_pass_resolves(instance, setup):
    _, tick = setup
    _freshness(instance, FreshnessState.UNKNOWN, FreshnessState.PASS)
    assert tick(T0) == []
    _freshness(instance, FreshnessState.PASS, FreshnessState.FAIL)
    tick(T0 + timedelta(minutes=1))
    sent = tick(T0 + timedelta(minutes=2))
    assert [(s["condition"], s["severity"]) for s in sent] == [("freshness:thing", "error")]
    _freshness(instance, FreshnessState.FAIL, FreshnessState.PASS)
    sent = tick(T0 + timedelta(minutes=3))
    assert sent[-1]["severity"] == "resolved" and sent[-1]["title"] == "Resolved: Freshness policy failing: thing"


def test_failed_sensor_tick_alerts_until_a_tick_succeeds(pg_engine, instance, setup, http_receiver):
    cfg, _ = setup
    selector_id = InstigatorSelector(location_name=LOCATION, repository_name=REPOSITORY, name="alerts_sensor").get_id()
    repo = dg.Definitions(sensors=[alerts_sensor], resources={
        "app_db": AppDatabase(), "policy": PipelinePolicy(), "alert_channels": AlertChannels()}).get_repository_def()

    def tick_after(status, at):
        instance.create_tick(TickData(
            instigator_origin_id="origin", instigator_name="alerts_sensor", instigator_type=InstigatorType.SENSOR,
            status=status, timestamp=at.timestamp(), selector_id=selector_id, run_ids=[], run_keys=[],
            error=SerializableErrorInfo(message="boom: database unreachable", stack=[], cls_name="OperationalError")
            if status == TickStatus.FAILURE else None))
        alerts_tick(instance, repo, pg_engine, PipelinePolicy(), cfg, at + timedelta(seconds=5))

    tick_after(TickStatus.FAILURE, T0)
    tick_after(TickStatus.FAILURE, T0 + timedelta(minutes=1))
    tick_after(TickStatus.SUCCESS, T0 + timedelta(minutes=2))
    sent = [r["json"] for r in http_receiver.received]
    assert [(s["condition"], s["severity"]) for s in sent] == [("tick:alerts_sensor", "error"),
                                                             ("tick:alerts_sensor", "resolved")]
    assert "database unreachable" in sent[0]["text"]
    assert sent[0]["link"] == f"http://ui:3000/locations/{REPOSITORY}@{LOCATION}/sensors/alerts_sensor"


def test_alerts_sensor_delivers_what_was_recorded_and_reports_it_in_the_ui(pg_url, pg_engine, instance,
                                                                           http_receiver):
    from channel_assets.alerts.conditions import Observation, run_failure_message

    cfg = load_alert_config({"CHANNEL_ASSETS_ALERTS_WEBHOOK_URL": http_receiver.url + HOOK})
    message = run_failure_message("refresh_all_shards", "r1", "schedule daily_full_refresh", "", "boom", "http://ui")
    record(pg_engine, cfg, datetime.now(UTC), [Observation(message.condition, True, message)])
    context = dg.build_sensor_context(instance=instance, repository_def=REPO, resources={
        "app_db": AppDatabase(database_url=pg_url), "policy": PipelinePolicy(),
        "alert_channels": AlertChannels(webhook_url=http_receiver.url + HOOK)})
    result = alerts_sensor(context)  # on the wall clock: past 07:00 UTC the day's digest comes along
    events = {e.metadata["condition"].value: e for e in result.asset_events}
    event = events["run:refresh_all_shards"]
    assert event.asset_key == dg.AssetKey("alerts") and set(events) <= {"run:refresh_all_shards", "digest"}
    assert event.metadata["channels"].value == {"webhook": "sent"}
    assert HOOK not in str([e.metadata for e in events.values()])
    assert "run:refresh_all_shards" in [r["json"]["condition"] for r in http_receiver.received]
