"""The sensor and the job on the emulator: queued requests -> one run -> done with per-channel outcomes; each
channel once; run keys; a dead run's requests failed with the reason and sent again; requests waiting while
the daemon is down; cleanup requests; the user requests' quota cap in the run."""

from __future__ import annotations

import dagster as dg
import pytest
from sqlalchemy import func, select

from channel_assets.app import api
from channel_assets.db.core.models import ApiQuotaLedger, Channel, ChannelUpdateLog
from channel_assets.db.requests.session import session
from channel_assets.db.requests.store import claim_requests
from channel_assets.defs.requests.jobs import serve_app_requests
from channel_assets.defs.requests.sensors import app_requests_sensor
from channel_assets.defs.resources import AppDatabase, AppRequestsPolicy, PipelinePolicy, YouTubeApi
from channel_assets.emulator import DEFAULT_API_KEY

from .conftest import follow, insert_channels

MISSING = "UC" + "m" * 22


@pytest.fixture
def resources(url, emulator):
    return {"app_db": AppDatabase(database_url=url), "policy": PipelinePolicy(),
            "youtube": YouTubeApi(api_key=DEFAULT_API_KEY, base_url=emulator.base_url,
                                  feed_base_url=emulator.base_url, max_calls_in_flight=4),
            "requests_policy": AppRequestsPolicy()}


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


def tick(instance, resources, cursor=None) -> dg.SensorResult:
    return app_requests_sensor(dg.build_sensor_context(instance=instance, cursor=cursor,
                                                       resources={"app_db": resources["app_db"]}))


def launch(instance, resources, request: dg.RunRequest, now, **kwargs) -> dg.ExecuteInProcessResult:
    """What the daemon does with a run request: a run tagged with its key, here executed in process."""
    config = request.run_config["ops"]["serve_app_requests_op"]["config"] | {"now": now.isoformat()}
    return serve_app_requests.execute_in_process(
        run_config={"ops": {"serve_app_requests_op": {"config": config}}}, instance=instance, resources=resources,
        tags={**request.tags, "dagster/run_key": request.run_key}, **kwargs)


def status(url, request_id: int) -> dict:
    return api.request_status(url, request_id)


def metadata_rows(engine, run_id: str) -> dict[str, int]:
    log = ChannelUpdateLog.__table__.c
    with engine.connect() as conn:
        rows = conn.execute(select(log.channel_id, func.count()).where(log.run_id == run_id,
                                                                       log.update_type == "metadata",
                                                                       log.channel_id.is_not(None))
                            .group_by(log.channel_id)).all()
    return dict(rows)


def test_many_requests_one_run_each_channel_once_with_outcomes(engine, url, emulator, resources, instance):
    ids = emulator.ids(6)
    insert_channels(engine, ids)
    gone = ids[5]
    emulator.world.set_status(gone, "deleted")
    follow(engine, 7, ids[2:4])
    follow(engine, 8, ids[3:])
    reqs = [api.request_refresh(url, ids[0:2], "staff:alice", "support ticket"),
            api.request_refresh(url, ids[1:3], "operator:ops"),
            api.request_refresh(url, ids[2:4], 7),
            api.request_refresh(url, [ids[3], ids[4], gone], 8)]
    assert all(r["status"] == "queued" for r in reqs)
    first = tick(instance, resources)
    assert len(first.run_requests) == 1
    [request] = first.run_requests
    assert request.run_config["ops"]["serve_app_requests_op"]["config"]["request_ids"] == [r["id"] for r in reqs]
    again = tick(instance, resources, first.cursor)  # the daemon has not launched it yet: the same key again
    assert [r.run_key for r in again.run_requests] == [request.run_key]
    calls_before = emulator.calls("api.channels")
    result = launch(instance, resources, request, emulator.world.now)
    assert result.success
    run_id = result.run_id
    # each channel once: one metadata row per channel for the run, one channels.list call per group and pass
    assert metadata_rows(engine, run_id) == dict.fromkeys(ids, 1)
    assert emulator.calls("api.channels") - calls_before == 3  # staff group 1; users 1 + the gone one confirmed
    done = [status(url, r["id"]) for r in reqs]
    assert [d["status"] for d in done] == ["done"] * 4 and {d["run_id"] for d in done} == {run_id}
    assert done[0]["outcome"] == {ids[0]: "refreshed", ids[1]: "refreshed"}
    assert done[2]["outcome"] == {ids[2]: "refreshed", ids[3]: "refreshed"}
    assert done[3]["outcome"] == {ids[3]: "refreshed", ids[4]: "refreshed", gone: "gone"}
    assert done[3]["status_reason"] == "1 gone, 2 refreshed"
    assert all(d["started_at"] and d["finished_at"] for d in done)
    [output] = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    md = {k: v.value for k, v in output.step_output_data.metadata.items()}
    assert (md["requests_served"], md["requests_done"], md["channels"]) == (4, 4, 6)
    assert md["outcomes"] == {"refreshed": 5, "gone": 1}
    with engine.connect() as conn:  # ids[2..5] were asked by users only: paid from the users' cap
        user_units = conn.execute(select(ApiQuotaLedger.user_request_units)).scalar_one()
    assert user_units >= 1
    after = tick(instance, resources, again.cursor)
    assert after.run_requests == [] and after.cursor == "{}"
    rerun = launch(instance, resources, request, emulator.world.now)  # a second run of the same requests
    assert rerun.success and metadata_rows(engine, rerun.run_id) == {}  # took nothing: already served


def test_an_unchanged_channel_and_a_user_channel_answered_from_stored_in_the_run(engine, url, emulator, resources,
                                                                                  instance):
    ids = emulator.ids(2)
    insert_channels(engine, ids)
    first = api.request_refresh(url, ids, "staff:alice")
    launch(instance, resources, tick(instance, resources).run_requests[0], emulator.world.now)
    assert status(url, first["id"])["outcome"] == dict.fromkeys(ids, "refreshed")
    # The run's clock is the emulator's (in the past): at intake (wall clock) the channels look old, so the
    # user's request is queued; in the run (refreshed at its own `now`) it is answered from what is stored.
    # Staff's request is forced and finds nothing changed.
    follow(engine, 3, ids[:1])
    user = api.request_refresh(url, ids[:1], 3)
    staff = api.request_refresh(url, ids[1:], "staff:bob")
    assert user["status"] == "queued"
    calls = emulator.calls("api.channels")
    launch(instance, resources, tick(instance, resources).run_requests[0], emulator.world.now)
    assert status(url, user["id"])["outcome"] == {ids[0]: "answered_from_stored"}
    assert status(url, staff["id"])["outcome"] == {ids[1]: "unchanged"}
    assert emulator.calls("api.channels") - calls == 1  # staff's channel only


def test_the_user_requests_cap_defers_their_channels_in_the_run(engine, url, emulator, resources, instance):
    ids = emulator.ids(2)
    insert_channels(engine, ids)
    follow(engine, 5, ids)
    user = api.request_refresh(url, ids, 5)
    assert user["status"] == "queued"
    capped = resources | {"requests_policy": AppRequestsPolicy(user_quota_share="0.0001")}  # 0 units a day
    launch(instance, capped, tick(instance, resources).run_requests[0], emulator.world.now)
    got = status(url, user["id"])
    assert got["status"] == "done" and got["outcome"] == dict.fromkeys(ids, "deferred")
    assert got["status_reason"] == "2 deferred (deferred: today's quota for user requests is spent)"
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Channel).where(Channel.last_updated.is_not(None))
                            ).scalar_one() == 0


def test_a_request_left_running_by_a_crashed_run_fails_with_the_reason_and_can_be_sent_again(
        engine, url, emulator, resources, instance):
    ids = emulator.ids(2)
    insert_channels(engine, ids)
    req = api.request_refresh(url, ids, "staff:alice")

    @dg.op
    def dies():
        raise RuntimeError("worker process killed")

    @dg.job
    def crashed():
        dies()

    dead = crashed.execute_in_process(instance=instance, raise_on_error=False)
    assert not dead.success
    with session(engine) as s:  # the run had taken the request when it died
        claim_requests(s, [req["id"]], dead.run_id, emulator.world.now)
    result = tick(instance, resources)
    assert result.run_requests == []
    failed = status(url, req["id"])
    assert failed["status"] == "failed" and failed["run_id"] == dead.run_id
    assert failed["status_reason"] == f"its run {dead.run_id} ended (failure) before finishing the request; send it again"
    again = api.request_refresh(url, ids, "staff:alice")
    launch(instance, resources, tick(instance, resources, result.cursor).run_requests[0], emulator.world.now)
    assert status(url, again["id"])["status"] == "done"


def test_a_failing_run_fails_its_requests_in_one_line(engine, url, emulator, resources, instance):
    ids = emulator.ids(1)
    insert_channels(engine, ids)
    req = api.request_refresh(url, ids, "staff:alice")
    broken = resources | {"youtube": YouTubeApi(api_key="AIzaWRONG-secret", base_url=emulator.base_url,
                                                feed_base_url=emulator.base_url)}
    result = launch(instance, broken, tick(instance, resources).run_requests[0], emulator.world.now,
                    raise_on_error=False)
    assert not result.success
    failed = status(url, req["id"])
    assert failed["status"] == "failed" and failed["status_reason"].startswith("the run failed: ")
    assert "AIzaWRONG-secret" not in failed["status_reason"] and "\n" not in failed["status_reason"]
    assert api.request_refresh(url, ids, "staff:alice")["status"] == "queued"  # it can be sent again


def test_requests_wait_while_the_daemon_is_down_and_a_run_canceled_before_it_started(engine, url, emulator,
                                                                                      resources, instance):
    ids = emulator.ids(2)
    insert_channels(engine, ids)
    early = api.request_refresh(url, ids[:1], "staff:alice")
    # the daemon is down: no tick, nothing happens; the request just waits
    assert status(url, early["id"])["status"] == "queued"
    first = tick(instance, resources)  # back: the first tick requests its run
    [request] = first.run_requests
    # the run was queued, then canceled before its step started: the request was never taken
    run = instance.create_run_for_job(serve_app_requests, run_config=request.run_config,
                                      tags={"dagster/run_key": request.run_key})
    instance.report_run_canceled(run)
    late = api.request_refresh(url, ids[1:], "staff:bob")
    second = tick(instance, resources, first.cursor)
    assert status(url, early["id"])["status_reason"] == \
        f"its run {run.run_id} ended (canceled) before it took the request; send it again"
    [fresh] = second.run_requests  # the later request goes into a run of its own
    assert fresh.run_config["ops"]["serve_app_requests_op"]["config"]["request_ids"] == [late["id"]]
    assert launch(instance, resources, fresh, emulator.world.now).success
    assert status(url, late["id"])["status"] == "done"


def test_cleanup_and_dry_run_requests_in_one_run(engine, url, emulator, resources, instance):
    ids = emulator.ids(2)
    insert_channels(engine, ids)  # nobody follows them: orphans
    dry = api.request_cleanup(url, dry_run=True, requested_by="staff:alice")
    live = api.request_cleanup(url, requested_by="operator:ops", reason="after reading the dry run")
    assert launch(instance, resources, tick(instance, resources).run_requests[0], emulator.world.now).success
    dry_done, live_done = status(url, dry["id"]), status(url, live["id"])
    assert dry_done["status"] == live_done["status"] == "done"
    assert dry_done["status_reason"] == "dry run: nothing was changed" and dry_done["outcome"]["dry_run"] is True
    assert live_done["outcome"]["dry_run"] is False and live_done["outcome"]["orphans"] == 2
    assert dry_done["outcome"]["orphans"] == 2
    with engine.connect() as conn:
        orphaned = conn.execute(select(func.count()).select_from(Channel).where(Channel.orphaned_at.is_not(None))
                                ).scalar_one()
    assert orphaned == 2


def test_a_channel_removed_while_the_run_starts_is_an_outcome_not_a_failed_run(engine, url, emulator, resources,
                                                                                instance, monkeypatch):
    from sqlalchemy import update

    from channel_assets.db.core.engine import transaction
    from channel_assets.requests import serve

    ids = emulator.ids(2)
    insert_channels(engine, ids)
    req = api.request_refresh(url, ids, "staff:alice")
    stale = serve.known_channels

    def seen_before_the_delete(s, channel_ids):  # the run's check saw both; then the app removed one
        found = stale(s, channel_ids)
        with transaction(engine) as conn:
            conn.execute(update(Channel).where(Channel.channel_id == ids[1]).values(soft_deleted_at=emulator.world.now))
        return found

    monkeypatch.setattr(serve, "known_channels", seen_before_the_delete)
    assert launch(instance, resources, tick(instance, resources).run_requests[0], emulator.world.now).success
    done = status(url, req["id"])
    assert done["status"] == "done"
    assert done["outcome"] == {ids[0]: "refreshed", ids[1]: "failed: not in videos_channel (or soft-deleted)"}
