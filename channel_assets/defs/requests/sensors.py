"""app_requests_sensor: queued requests -> runs of serve_app_requests; requests a dead run left -> failed.

It reads the request table and the instance's runs and requests runs; the one write it makes is the
failure of requests whose run can no longer serve them (a handful of rows, one statement), so the app
learns of it within a tick and can send them again. If the daemon is down nothing happens: the requests
stay queued and the first tick after it is back serves them.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from channel_assets.db.requests.session import session
from channel_assets.db.requests.store import fail_requests, pending_requests
from channel_assets.defs.requests.jobs import serve_app_requests
from channel_assets.defs.resources import AppDatabase
from channel_assets.requests.dispatch import dispatch

MAX_PENDING_READ = 2_000


def _run_status(instance: dg.DagsterInstance):
    def status(run_id: str) -> str | None:
        run = instance.get_run_by_id(run_id)
        return run.status.name if run is not None else None

    return status


def _run_by_key(instance: dg.DagsterInstance):
    def by_key(key: str) -> tuple[str, str] | None:
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/run_key": key}), limit=1)
        return (runs[0].run_id, runs[0].status.name) if runs else None

    return by_key


@dg.sensor(job=serve_app_requests, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
           description="The gallery app's queued requests (channel_pipeline_requests) become runs of "
                       "serve_app_requests, many requests a run; requests a crashed run left are failed.")
def app_requests_sensor(context: dg.SensorEvaluationContext, app_db: AppDatabase) -> dg.SensorResult:
    with session(app_db.engine) as s:
        pending = pending_requests(s, MAX_PENDING_READ)
    plan = dispatch(pending, context.cursor, run_status=_run_status(context.instance),
                    run_by_key=_run_by_key(context.instance))
    if plan.failed:
        with session(app_db.engine) as s:
            for ids, reason in plan.failed:
                fail_requests(s, ids, reason, datetime.now(UTC))
                context.log.warning(f"request(s) {ids} failed: {reason}")
    runs = [dg.RunRequest(run_key=r.run_key,
                          run_config={"ops": {"serve_app_requests_op": {"config": {"request_ids": list(r.request_ids)}}}},
                          tags={"channel_assets/trigger": "app_requests",
                                "channel_assets/requests": str(len(r.request_ids))})
            for r in plan.runs]
    return dg.SensorResult(run_requests=runs, cursor=plan.cursor)
