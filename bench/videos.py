"""Video metadata refresh of M never-refreshed videos through Dagster, checked against the emulator's truth.

The population (bench/populate.py ``videos``, a cached COPY-built template cloned per run) holds M videos
whose ids are the emulator world's (the newest ``--per-channel`` uploads of its channels 0, 1, ...), all
due (each with its schedule row, due at once and never refreshed, unless ``--unscheduled``), with stale titles, descriptions and counts, their channels, users and 5% of the videos watched in
the last 30 days. The emulator runs as a SUBPROCESS serving a world of exactly those channels, its clock
moved ``--advance-days`` on first (counts grow; some videos are deleted, made private, rejected or
region-blocked, some channels go). The measured block is ONE Dagster run materializing ``video_metadata``
for all shards (partition-range tags), at ``--latency-ms`` per API answer with the run's calls in flight.
Its CPU is reported by party: the pipeline (``cpu_s``), the emulator (``cpu_tree_s`` minus ``cpu_s``) and,
when the PostgreSQL server runs on this machine, the server's processes (``server_cpu_s``).

The process is warmed first (``bench.common.warm_up``: imports, Dagster's first in-process run; its time is
reported) and the run is repeated with nothing due: that run's wall time is the fixed per-run cost, what the
full run costs beyond it the per-video cost (the cost curve compares it at 100k and 1M).

Afterwards (not measured): quota units (the emulator's ledger) and videos per unit over the pass; every
video row compared with ``/_emulator/videos/state`` (counts, title, description, availability), reported
as a count of mismatches; the videos and watch rows counted before and after (none may be lost).

    .venv/bin/python bench/videos.py --videos 1000000 [--latency-ms 0] [--per-channel 50]
    .venv/bin/python bench/videos.py --videos 10000 --check-template   # ids resolve; no pipeline run
    .venv/bin/python bench/videos.py --videos 1000000 --full-pages     # pages the app filled before adoption
    .venv/bin/python bench/videos.py --videos 10000 --unscheduled      # the run makes the schedule rows itself
    .venv/bin/python bench/videos.py --videos 1000000 --force-custom-plans  # no generic plan for the write
    .venv/bin/python bench/videos.py --videos 1000000 --steady-state   # the second pass, a day after the first

A missing ``video_metadata`` asset is a loud failure (exit 2, ``bench.common.find_asset``), never a fake figure.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from bench.common import (  # noqa: E402
    Emulator,
    Measure,
    all_shards_tags,
    cloned_database,
    emit,
    local_server_pid,
    log,
    materialization_metadata,
    materialize,
    pg_dsn,
    require,
    warm_up,
)
from bench.populate import videos_template  # noqa: E402
from bench.refresh import configure_env  # noqa: E402
from bench.video_truth import compare_with_truth, template_resolves  # noqa: E402
from channel_assets.db.core.engine import engine_for  # noqa: E402

ASSET = "video_metadata"
# The pipeline's quota must not be what stops a 1M-video pass (20,000 units): the day's limit is raised so
# the videos' share covers it; the emulator's own limit is 1e9. Labelled in the result.
QUOTA_DAILY_LIMIT = 10_000_000


def _counts(dsn: str) -> dict:
    with psycopg.connect(dsn) as conn:
        return {"videos": conn.execute("SELECT count(*) FROM videos_video").fetchone()[0],
                "watch_rows": conn.execute("SELECT count(*) FROM users_uservideo").fetchone()[0]}


def _lsn(dsn: str) -> str:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]


_COUNTERS = ("SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
             "WHERE n_tup_ins + n_tup_upd + n_tup_del > 0")


def table_counters(dsn: str) -> dict[str, tuple[int, int, int]]:
    """Each table's inserts, updates and HOT updates so far (this database's own counters)."""
    with psycopg.connect(dsn) as conn:
        return {name: tuple(counts) for name, *counts in conn.execute(_COUNTERS).fetchall()}


def settled_counters(dsn: str, timeout_s: float = 15.0) -> dict[str, tuple[int, int, int]]:
    """The counters once no closing backend is still adding to them (a backend flushes its own when it
    exits, after its client has gone): two reads half a second apart agree."""
    last, deadline = table_counters(dsn), time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = table_counters(dsn)
        if now == last:
            break
        last = now
    return last


def write_stats(dsn: str, lsn0: str, counters0: dict[str, tuple[int, int, int]]) -> dict:
    """What the run wrote, per table (this clone's own counters since `counters0`: inserts, updates, the HOT
    share; the size), and the WAL the server wrote meanwhile (server-wide: other sessions' writes are in it)."""
    with psycopg.connect(dsn) as conn:
        sizes = dict(conn.execute("SELECT relname, pg_total_relation_size(relid) FROM pg_stat_user_tables").fetchall())
        wal = conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s::pg_lsn)", (lsn0,)).fetchone()[0]
    tables = {}
    for name, counts in sorted(settled_counters(dsn).items()):
        ins, upd, hot = (now - before for now, before in zip(counts, counters0.get(name, (0, 0, 0)), strict=True))
        if ins or upd:
            tables[name] = {"inserted": ins, "updated": upd, "hot_share": round(hot / upd, 3) if upd else None,
                            "total_mb": round(sizes[name] / 2**20, 1)}
    return {"tables": tables, "wal_mb_server_wide": round(float(wal) / 2**20, 1)}


def a_day_later(dsn: str, emulator: Emulator) -> None:
    """Between two passes: what a day does to the database (autovacuum's VACUUM ANALYZE of the rewritten
    tables, checkpoints), the emulator's clock a day on (counts move; some videos go or come back), and
    every video due again at once, so the next pass refreshes all of them a second time."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        # The first pass's pooled backends, idle, would flush their table counters only ~10 s later: ended
        # now, they flush them as they exit, so the measured pass's counters start after them.
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        conn.execute("UPDATE video_refresh_schedule SET due_at = '-infinity'")
        for table in ("videos_video", "video_refresh_schedule", "channel_update_logs"):
            conn.execute(f"VACUUM (ANALYZE) {table}")
        conn.execute("CHECKPOINT")
    emulator.http.post("/_emulator/clock", json={"advance_days": 1}).raise_for_status()


def run_pipeline() -> dict:
    """The measured refresh: one Dagster run materializing ``video_metadata`` over all shards."""
    import dagster as dg

    with tempfile.TemporaryDirectory() as home:
        instance = dg.DagsterInstance.local_temp(home)
        result = materialize([ASSET], tags=all_shards_tags(), instance=instance)
        metas = materialization_metadata(result, ASSET)
        instance.dispose()
    return {"run_success": result.success, "materializations": len(metas), "asset_metadata": metas[0] if metas else {}}


def measured_refresh(template: str, channels: int, args: argparse.Namespace) -> dict:
    out: dict = {}
    with Emulator(channels, args.seed, args.latency_ms) as emulator, \
            cloned_database(template, f"videos{args.videos}") as (db_url, clone_s):
        out["clone_s"] = round(clone_s, 2)
        if args.force_custom_plans:
            with psycopg.connect(pg_dsn("postgres"), autocommit=True) as admin:
                admin.execute(f'ALTER DATABASE "{db_url.rsplit("/", 1)[1]}" SET plan_cache_mode = force_custom_plan')
        emulator.http.post("/_emulator/clock", json={"advance_days": args.advance_days}).raise_for_status()
        out["emulator_clock"] = emulator.clock()
        configure_env(db_url, emulator, args.in_flight)
        os.environ["YOUTUBE_QUOTA_DAILY_LIMIT"] = str(QUOTA_DAILY_LIMIT)
        dsn = pg_dsn(db_url.rsplit("/", 1)[1])
        before = _counts(dsn)
        t0 = time.perf_counter()
        warm_up()  # the process's one-time costs, so the run and the empty run below pay the same
        out["process_warm_up_s"] = round(time.perf_counter() - t0, 2)
        if args.steady_state:
            log(f"steady state: a first pass over the {args.videos} videos (not measured), then a day later ...")
            first = run_pipeline()
            require(first["run_success"], "the first (unmeasured) pass failed")
            engine_for(db_url).dispose()
            t0 = time.perf_counter()
            a_day_later(dsn, emulator)
            out["first_pass"] = {k: (first["asset_metadata"] or {}).get(k)
                                 for k in ("wall_s", "written", "title_changes", "went_unavailable")}
            out["a_day_later_s"] = round(time.perf_counter() - t0, 2)
            out["emulator_clock"] = emulator.clock()
        stats0, quota0, lsn0 = emulator.stats(), sum(emulator.quota()["used"].values()), _lsn(dsn)
        counters0 = settled_counters(dsn)
        log(f"video refresh of {args.videos} videos ({channels} channels) at {args.latency_ms} ms ...")
        server = local_server_pid()
        measure = Measure()
        with measure.run(server=server):
            info = run_pipeline()
        stats1, quota1 = emulator.stats(), sum(emulator.quota()["used"].values())
        after = _counts(dsn)
        # The fixed per-run cost: the same run again with nothing due (Dagster's run, the selection's
        # statements over the now-scheduled videos, the counts); what the full run costs beyond it is per video.
        log("the same run with nothing due (the fixed per-run cost) ...")
        empty = Measure()
        with empty.run(server=server):
            empty_info = run_pipeline()
        out["empty_run"] = {**empty.as_dict(), "due": (empty_info.get("asset_metadata") or {}).get("due"),
                            "videos_list_calls": emulator.stats().get("api.videos", 0) - stats1.get("api.videos", 0)}
        calls = stats1.get("api.videos", 0) - stats0.get("api.videos", 0)
        other = {k: stats1[k] - stats0.get(k, 0) for k in stats1
                 if k.startswith("api.") and k != "api.videos" and stats1[k] != stats0.get(k, 0)}
        units = quota1 - quota0
        log("comparing every video with the emulator's ground truth ...")
        check = compare_with_truth(dsn, emulator)
        asset_wall = (info.get("asset_metadata") or {}).get("wall_s")
        out.update(info)
        out.update({
            "videos_list_calls": calls, "other_api_calls": other, "quota_units": units,
            "videos_per_unit": round(args.videos / units, 2) if units else 0.0,
            **measure.as_dict(),
            "videos_per_s": round(args.videos / measure.wall_s, 1),
            # what the API's answers alone take: every call's latency, the run's calls in flight
            "latency_bound_s": round(calls * args.latency_ms / 1000 / args.in_flight, 2),
            "us_per_video": round(measure.wall_s / args.videos * 1e6, 2),
            "fixed_run_s": round(empty.wall_s, 3),
            "us_per_video_beyond_fixed": round((measure.wall_s - empty.wall_s) / args.videos * 1e6, 2),
            # the run's cost beyond the asset's own refresh: run/instance setup, selection outside it, events
            "asset_wall_s": asset_wall,
            "outside_asset_s": None if asset_wall is None else round(measure.wall_s - float(asset_wall), 2),
            "us_per_video_in_asset": None if asset_wall is None else round(float(asset_wall) / args.videos * 1e6, 2),
            "rows_before": before, "rows_after": after,
            "rows_lost": (before["videos"] - after["videos"]) + (before["watch_rows"] - after["watch_rows"]),
            "mismatches": check["mismatched"],
            "db_matches_truth": check["mismatched"] == 0 and check["checked"] == args.videos,
            "truth_check": check,
        })
        engine_for(db_url).dispose()
        out["writes"] = write_stats(dsn, lsn0, counters0)  # the pool's backends gone: their counters are flushed
    return out


def check_template(template: str, channels: int, args: argparse.Namespace) -> dict:
    """Without the pipeline: every template id is a video of the served world, published by its clock."""
    with Emulator(channels, args.seed) as emulator:
        emulator.http.post("/_emulator/clock", json={"advance_days": args.advance_days}).raise_for_status()
        return template_resolves(pg_dsn(template), emulator)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--videos", type=int, default=100_000)
    p.add_argument("--per-channel", type=int, default=50, help="newest uploads taken per channel")
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--in-flight", type=int, default=16, help="YOUTUBE_MAX_CALLS_IN_FLIGHT (production default 16)")
    p.add_argument("--advance-days", type=float, default=3.0, help="emulator clock moved before the run")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--full-pages", action="store_true",
                   help="videos_video's pages written full (fillfactor 100), as in an adopted app database")
    p.add_argument("--unscheduled", action="store_true",
                   help="no video_refresh_schedule rows: the run makes them (quadratic at the moment: 100k ~200 s)")
    p.add_argument("--force-custom-plans", action="store_true",
                   help="plan_cache_mode = force_custom_plan on the run's database: psycopg prepares a statement on "
                        "its 5th execution and PostgreSQL's generic plan of the video write (from its 11th) takes "
                        "~30 s per 5,000-row group instead of ~1 s")
    p.add_argument("--steady-state", action="store_true",
                   help="measure a second pass: a first pass (not measured), then VACUUM ANALYZE, the clock a day "
                        "on and every video due again; the rows no longer grow, so most updates are HOT")
    p.add_argument("--rebuild", action="store_true", help="rebuild the cached template")
    p.add_argument("--check-template", action="store_true", help="only check the template's ids against the world")
    args = p.parse_args()
    template, pop = videos_template(args.videos, args.seed, args.per_channel, args.full_pages,
                                    not args.unscheduled, args.rebuild)
    channels = pop["channels"]
    result: dict = {"scenario": "videos", "videos": args.videos, "channels": channels,
                    "pass": "second (steady state)" if args.steady_state else "first",
                    "latency_ms": args.latency_ms, "in_flight": args.in_flight, "advance_days": args.advance_days,
                    "backend": "postgres", "emulator": "subprocess", "quota_daily_limit": QUOTA_DAILY_LIMIT,
                    "plan_cache_mode": "force_custom_plan (database setting, not the pipeline's)"
                    if args.force_custom_plans else "server default (auto)",
                    "populate_s": pop["populate_s"], "populate_cache_hit": pop["cache_hit"],
                    "population": {k: pop.get(k) for k in ("users", "subscriptions", "watch_rows", "per_channel",
                                                           "watched_recently_as_of", "video_pages", "schedule_rows",
                                                           "db_size_mb")}}
    if args.check_template:
        result["template_check"] = check_template(template, channels, args)
        emit(result)
        return
    result.update(measured_refresh(template, channels, args))
    require(result.get("run_success", False), "the Dagster run failed")
    emit(result)


if __name__ == "__main__":
    main()
