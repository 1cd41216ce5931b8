"""Tick time of the subscription sensors at --subscriptions rows, and rows they miss.

Population (bench/populate.py ``sensor``, cached template): --subscriptions active subscriptions over
500k fetched channels, ``updated_at`` spread over December 2025. Each run clones it and sets up,
with old timestamps (outside every lookback window), the channels the changes will touch.

Both sensors are evaluated the Dagster way, ``sensor(dg.build_sensor_context(instance=..., cursor=...,
resources=...))``: ``new_subscription_sensor`` (refresh: new subscriptions to never-fetched channels →
forced-refresh runs) and ``subscription_cleanup_sensor`` (cleanup: unsubscriptions that orphan a
channel → a detection run; re-subscriptions → a resubscription_restore run). Sensors only request runs:
after the last tick the requested resubscription runs are executed (untimed), as the daemon would.

Sequence: tick 0 (cursor None: establishes the cursors; timed as first_tick_s), 90% of --changes
committed with updated_at = now, tick 1, then the remaining 10% committed LATE with an updated_at
two minutes older than tick 1's high-water mark, tick 2. Changes are split 60% new subscriptions to
never-fetched channels, 20% last unsubscriptions, 20% re-subscriptions to soft-deleted channels.
``missed_rows`` counts changes not acted on (never-fetched channel not in any run request, orphaning
unsubscription in a tick without a detection run, re-subscribed channel still soft-deleted after the
requested runs).

    .venv/bin/python bench/sensor.py --subscriptions 10000000 --changes 1000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from bench.common import cloned_database, emit, log, pg_dsn, require  # noqa: E402
from bench.populate import channel_uuid, sensor_template, synthetic_channel_id  # noqa: E402

BASE = 50_000_000  # channel indexes of the changes, above any population index
OLD = "2025-11-01 00:00:00+00"


def load_sensors():
    try:
        from channel_assets.defs.cleanup.sensors import subscription_cleanup_sensor
        from channel_assets.defs.refresh.sensors import new_subscription_sensor
    except ImportError as exc:
        require(False, f"a subscription sensor is missing: {exc}")
        raise
    return new_subscription_sensor, subscription_cleanup_sensor


def setup(dsn: str, n_new: int, n_unsub: int, n_resub: int) -> dict:
    """Channels the changes will touch, with old timestamps; returns their ids per group."""
    groups = {"new": [BASE + j for j in range(n_new)],
              "unsub": [BASE + n_new + j for j in range(n_unsub)],
              "resub": [BASE + n_new + n_unsub + j for j in range(n_resub)]}
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        with cur.copy("COPY videos_channel (uuid, channel_id, url, shard, last_updated, next_refresh_at, "
                      "orphaned_at, soft_deleted_at, created_at, updated_at) FROM STDIN") as copy:
            for group, idx in groups.items():
                for i in idx:
                    cid = synthetic_channel_id(i)
                    fetched = "\\N" if group == "new" else OLD
                    nxt = "\\N" if group == "new" else "2099-01-01 00:00:00+00"
                    gone = OLD if group == "resub" else "\\N"
                    copy.write(f"{channel_uuid(i)}\t{cid}\thttps://www.youtube.com/channel/{cid}\t{i % 16}\t"
                               f"{fetched}\t{nxt}\t{gone}\t{gone}\t{OLD}\t{OLD}\n")
        # the one subscription each unsub/resub channel has (active / inactive), old
        with cur.copy("COPY users_userchannel (user_id, channel_id, subscribed_at, is_active, created_at, "
                      "updated_at) FROM STDIN") as copy:
            for group in ("unsub", "resub"):
                for i in groups[group]:
                    copy.write(f"1\t{channel_uuid(i)}\t{OLD}\t{'t' if group == 'unsub' else 'f'}\t{OLD}\t{OLD}\n")
        conn.commit()
    return groups


def apply_changes(dsn: str, groups: dict, share: slice, ts: datetime | None) -> None:
    """Commit the changes of ``share`` of every group; ts None = now() (on time), else this (late) stamp."""
    stamp = "now()" if ts is None else "%(ts)s"
    with psycopg.connect(dsn) as conn:
        new = [channel_uuid(i) for i in groups["new"][share]]
        conn.execute(f"INSERT INTO users_userchannel (user_id, channel_id, subscribed_at, is_active, created_at, "
                     f"updated_at) SELECT 2, u::uuid, {stamp}, true, {stamp}, {stamp} FROM unnest(%(ids)s::text[]) u",
                     {"ids": new, "ts": ts})
        conn.execute(f"UPDATE users_userchannel SET is_active = false, updated_at = {stamp} "
                     "WHERE channel_id = ANY(%(ids)s::uuid[])",
                     {"ids": [channel_uuid(i) for i in groups["unsub"][share]], "ts": ts})
        conn.execute(f"UPDATE users_userchannel SET is_active = true, updated_at = {stamp} "
                     "WHERE channel_id = ANY(%(ids)s::uuid[])",
                     {"ids": [channel_uuid(i) for i in groups["resub"][share]], "ts": ts})
        conn.commit()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--subscriptions", type=int, default=10_000_000)
    p.add_argument("--changes", type=int, default=1000)
    args = p.parse_args()
    refresh_sensor, cleanup_sensor = load_sensors()
    import dagster as dg

    from channel_assets.db.core.engine import engine_for
    from channel_assets.defs.cleanup.jobs import resubscription_restore_job
    from channel_assets.defs.resources import AppDatabase

    template, pop = sensor_template(args.subscriptions)
    n_new = args.changes * 6 // 10
    n_unsub = args.changes * 2 // 10
    n_resub = args.changes - n_new - n_unsub
    result: dict = {"scenario": "sensor", "subscriptions": args.subscriptions, "changes": args.changes,
                    "backend": "postgres", "populate_s": pop["populate_s"], "populate_cache_hit": pop["cache_hit"]}
    with cloned_database(template, "sensor") as (url, clone_s), tempfile.TemporaryDirectory() as home:
        result["clone_s"] = round(clone_s, 2)
        dbname = url.rsplit("/", 1)[1]
        dsn = pg_dsn(dbname)
        groups = setup(dsn, n_new, n_unsub, n_resub)
        instance = dg.DagsterInstance.local_temp(home)
        resources = {"app_db": AppDatabase(database_url=url)}
        cursors: dict[str, str | None] = {"refresh": None, "cleanup": None}
        ticks: dict[str, list[float]] = {"refresh": [], "cleanup": []}
        requests: dict[str, list] = {"refresh": [], "cleanup": []}

        def tick(label: str) -> dict[str, int]:
            made = {}
            for name, sensor in (("refresh", refresh_sensor), ("cleanup", cleanup_sensor)):
                ctx = dg.build_sensor_context(instance=instance, cursor=cursors[name], resources=resources)
                t0 = time.perf_counter()
                out = sensor(ctx)
                ticks[name].append(time.perf_counter() - t0)
                cursors[name] = out.cursor
                reqs = list(out.run_requests or [])
                requests[name].append(reqs)
                made[name] = len(reqs)
            log(f"{label}: refresh {ticks['refresh'][-1]:.3f} s, cleanup {ticks['cleanup'][-1]:.3f} s, "
                f"requests {made}")
            return made

        tick("tick 0 (no cursor)")
        on_time = slice(0, None)
        late = {g: ids[int(len(ids) * 0.9):] for g, ids in groups.items()}
        early = {g: ids[: int(len(ids) * 0.9)] for g, ids in groups.items()}
        apply_changes(dsn, early, on_time, None)
        tick("tick 1 (on-time changes)")
        # the late ones: committed after tick 1, stamped before its high-water mark
        with psycopg.connect(dsn) as conn:
            hw = conn.execute("SELECT max(updated_at) FROM users_userchannel").fetchone()[0]
        apply_changes(dsn, late, on_time, hw - timedelta(minutes=2))
        tick("tick 2 (late changes)")

        requested_ids: set[str] = set()
        for reqs in requests["refresh"]:
            for r in reqs:
                requested_ids |= set(r.run_config["ops"]["force_refresh_op"]["config"]["channel_ids"])
        missed_new = sum(synthetic_channel_id(i) not in requested_ids for i in groups["new"])
        detections = [sum(r.job_name == "orphan_detection" for r in reqs) for reqs in requests["cleanup"]]
        missed_unsub = (len(early["unsub"]) if detections[1] == 0 else 0) + \
                       (len(late["unsub"]) if detections[2] == 0 else 0)
        for reqs in requests["cleanup"]:
            for r in reqs:
                if r.job_name == resubscription_restore_job.name:
                    assert resubscription_restore_job.execute_in_process(
                        run_config=r.run_config, resources=resources, instance=instance).success
        with psycopg.connect(dsn) as conn:
            still_deleted = conn.execute(
                "SELECT count(*) FROM videos_channel WHERE uuid = ANY(%s::uuid[]) AND soft_deleted_at IS NOT NULL",
                ([channel_uuid(i) for i in groups["resub"]],)).fetchone()[0]
        instance.dispose()
        engine_for(url).dispose()
        engine_for.cache_clear()
    measured = ticks["refresh"][1:] + ticks["cleanup"][1:]
    result.update({
        "tick_s": round(max(measured), 3),
        "first_tick_s": round(max(ticks["refresh"][0], ticks["cleanup"][0]), 3),
        "refresh_sensor_ticks_s": [round(t, 3) for t in ticks["refresh"]],
        "cleanup_sensor_ticks_s": [round(t, 3) for t in ticks["cleanup"]],
        "runs_requested": sum(len(r) for v in requests.values() for r in v),
        "refresh_runs_requested": sum(len(r) for r in requests["refresh"]),
        "cleanup_runs_requested": sum(len(r) for r in requests["cleanup"]),
        "missed_rows": missed_new + missed_unsub + still_deleted,
        "missed_detail": {"new_subscriptions": missed_new, "orphaning_unsubscriptions": missed_unsub,
                          "resubscriptions_not_restored": still_deleted},
        "late_rows": sum(len(v) for v in late.values()),
        "measured_at": datetime.now(UTC).isoformat(),
    })
    emit(result)


if __name__ == "__main__":
    main()
