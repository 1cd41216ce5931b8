"""next_scheduled_update: from the schedules' states (running ones only, the cleanup's counted), null with a
reason when they cannot be read; the adapter reads the instance's stored states over the code's defaults."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest
from dagster._core.remote_origin import (
    InProcessCodeLocationOrigin,
    RemoteInstigatorOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.scheduler.instigation import (
    InstigatorState,
    InstigatorStatus,
    InstigatorType,
    ScheduleInstigatorData,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

from channel_assets.app import api
from channel_assets.defs.requests.schedule_states import schedule_states
from channel_assets.requests.schedules import ScheduleState, next_scheduled_update

NOW = datetime(2026, 3, 2, 1, 50, tzinfo=UTC)
DAILY = ScheduleState("daily_full_refresh", True, "0 2 * * *", "UTC")
PRIORITY = ScheduleState("priority_refresh", True, "*/30 * * * *", "UTC")
CLEANUP = ScheduleState("daily_cleanup", True, "0 3 * * *", "UTC")
CATCH_UP = ScheduleState("quota_reset_catch_up", True, "15 0 * * *", "America/Los_Angeles")


def stopped(state: ScheduleState) -> ScheduleState:
    return ScheduleState(state.name, False, state.cron, state.timezone)


def test_the_next_running_schedule_wins_and_a_stopped_one_is_not_next():
    assert next_scheduled_update(lambda: [DAILY, PRIORITY, CLEANUP], NOW) == \
        (datetime(2026, 3, 2, 2, 0, tzinfo=UTC), "daily_full_refresh", None)
    later = datetime(2026, 3, 2, 2, 10, tzinfo=UTC)
    assert next_scheduled_update(lambda: [DAILY, PRIORITY, CLEANUP], later)[:2] == \
        (datetime(2026, 3, 2, 2, 30, tzinfo=UTC), "priority_refresh")
    assert next_scheduled_update(lambda: [stopped(DAILY), stopped(PRIORITY), CLEANUP], later)[:2] == \
        (datetime(2026, 3, 2, 3, 0, tzinfo=UTC), "daily_cleanup")  # the cleanup schedule counts
    # 00:15 in Los Angeles on 2 March 2026 (PST, UTC-8) is 08:15 UTC
    assert next_scheduled_update(lambda: [stopped(DAILY), CATCH_UP], later)[0] == datetime(2026, 3, 2, 8, 15, tzinfo=UTC)


@pytest.mark.parametrize(("schedules", "reason"), [
    (None, "the caller passed no `schedules`"),
    (lambda: [stopped(DAILY), stopped(CLEANUP)], "no schedule is running"),
    (lambda: [], "no schedules found"),
    (lambda: [ScheduleState("odd", True, "0 2 1 * *", "UTC")], "cron not understood for odd"),
])
def test_null_with_a_reason(schedules, reason):
    when, name, why = next_scheduled_update(schedules, NOW)
    assert when is None and name is None and reason in why


def test_unreadable_states_are_null_with_the_error_in_one_line(engine):
    def unreadable():
        raise RuntimeError("DAGSTER_HOME is not set\nsecond line")

    out = api.update_status(engine, schedules=unreadable)
    assert out["next_scheduled_update"] is None
    assert out["next_scheduled_update_reason"] == "schedule states unreadable: DAGSTER_HOME is not set second line"


def test_update_status_gives_the_next_run_as_iso(engine):
    out = api.update_status(engine, schedules=lambda: [PRIORITY])
    assert datetime.fromisoformat(out["next_scheduled_update"]).minute in (0, 30)
    assert out["next_scheduled_update_reason"] is None


def _store(instance: dg.DagsterInstance, name: str, status: InstigatorStatus) -> None:
    location = InProcessCodeLocationOrigin(LoadableTargetOrigin(module_name="channel_assets.definitions"),
                                           location_name="channel_assets")
    origin = RemoteInstigatorOrigin(RemoteRepositoryOrigin(location, "__repository__"), name)
    instance.add_instigator_state(InstigatorState(origin, InstigatorType.SCHEDULE, status,
                                                  ScheduleInstigatorData("0 0 * * *")))


def test_the_adapter_reads_the_instances_states_over_the_codes_defaults():
    with dg.instance_for_test() as instance:
        states = {s.name: s for s in schedule_states(instance)}
        assert set(states) >= {"daily_full_refresh", "quota_reset_catch_up", "priority_refresh", "daily_statistics",
                               "daily_freshness_report", "daily_cleanup", "daily_log_retention"}
        assert not states["daily_cleanup"].running and states["daily_full_refresh"].running  # code defaults
        from channel_assets.definitions import defs

        loaded = {n: defs.get_schedule_def(n) for n in states}
        for name, state in states.items():  # as the loaded code location has them
            assert (state.cron, state.timezone) == (loaded[name].cron_schedule, loaded[name].execution_timezone or "UTC")
        assert states["daily_cleanup"].cron == "0 3 * * *"
        _store(instance, "daily_cleanup", InstigatorStatus.RUNNING)  # turned on in the UI
        _store(instance, "priority_refresh", InstigatorStatus.STOPPED)  # turned off
        _store(instance, "daily_statistics", InstigatorStatus.DECLARED_IN_CODE)
        states = {s.name: s for s in schedule_states(instance)}
        assert states["daily_cleanup"].running and not states["priority_refresh"].running
        assert states["daily_statistics"].running
        when, name, _ = next_scheduled_update(lambda: list(states.values()), NOW)
        assert name != "priority_refresh"


def test_an_instance_without_schedule_storage_is_unreadable_for_update_status(engine):
    with dg.DagsterInstance.ephemeral() as instance:
        out = api.update_status(engine, schedules=lambda: schedule_states(instance))
    assert out["next_scheduled_update"] is None
    assert out["next_scheduled_update_reason"].startswith("schedule states unreadable:")
