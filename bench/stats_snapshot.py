"""The daily statistics snapshot (``channel_statistics``) of N channels through Dagster, quiet and beside the app.

(Not named statistics.py: run as a script, bench/ is first on sys.path and would shadow the stdlib module.)

Population: bench/populate.py ``uploads`` (N channels of the emulator's world, refreshed, available), with
the app's users, subscriptions and watch rows added under ``--app-load``. The measured block is
``--repeat`` Dagster runs materializing today's partition of ``channel_statistics`` (each replaces the
day's rows: one DELETE + INSERT ... SELECT of every available channel, totals and top movers). Repeats
give the app load a window long enough to be measured; ``wall_s`` covers all of them.

    .venv/bin/python bench/stats_snapshot.py --channels 100000 [--repeat 5] [--app-load 4[:80]]

``--app-load CLIENTS[:RATE]`` (bench/app_load.py): after the quiet runs, a second clone runs the app load
alone for ``--idle-seconds`` (idle baseline), then the same runs beside it; the JSON gains ``app_load``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.app_load import add_app_load_options, app_load_result, idle_baseline, under_load  # noqa: E402
from bench.common import (  # noqa: E402
    Measure,
    cloned_database,
    emit,
    log,
    materialization_metadata,
    materialize,
    require,
    warm_up,
)
from bench.populate import app_ready_template, uploads_template  # noqa: E402


def measured_snapshots(template: str, args: argparse.Namespace, label: str, day: str, app: bool = False) -> dict:
    """``--repeat`` snapshot runs on a fresh clone; with ``app``, the app load alone first, then beside it."""
    import dagster as dg

    from channel_assets.db.core.engine import engine_for

    out: dict = {}
    with cloned_database(template, label) as (url, clone_s):
        out["clone_s"] = round(clone_s, 2)
        os.environ["CHANNEL_ASSETS_DATABASE_URL"] = url
        engine_for.cache_clear()
        warm_up()  # before either figure, so neither pays the process's first-run costs
        if app:
            out["app_idle"] = idle_baseline(url, args)
        log(f"statistics snapshot of {args.channels} channels x {args.repeat}{' beside the app load' if app else ''} ...")
        measure = Measure()

        def job(exclude: set[int]) -> dict:
            walls, metas, success = [], [], True
            with tempfile.TemporaryDirectory() as home:
                instance = dg.DagsterInstance.local_temp(home)
                # an untimed run first (the day is replaced anyway): neither figure pays Dagster's first-run costs
                materialize(["channel_statistics"], partition_key=day, instance=instance)
                with measure.run(exclude):
                    for _ in range(args.repeat):
                        one = Measure()
                        with one.run(exclude):
                            run = materialize(["channel_statistics"], partition_key=day, instance=instance)
                        walls.append(round(one.wall_s, 3))
                        success = success and run.success
                        metas = materialization_metadata(run, "channel_statistics")
                instance.dispose()
            return {"run_success": success, "wall_per_run_s": walls,
                    "channels_snapshotted": (metas[0] if metas else {}).get("channels")}

        if app:
            ran, out["app_under_job"] = under_load(url, args, job)
        else:
            ran = job(set())
        with engine_for(url).connect() as conn:
            rows = conn.exec_driver_sql("SELECT count(*) FROM channel_statistics_daily WHERE day = %s",
                                        (day,)).scalar_one()
        engine_for(url).dispose()
        engine_for.cache_clear()
    out.update({"through_dagster": True, "partition": day, "repeat": args.repeat, **ran, "day_rows": rows,
                **measure.as_dict()})
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--channels", type=int, default=100_000)
    p.add_argument("--repeat", type=int, default=5, help="snapshot runs in the measured block")
    p.add_argument("--seed", type=int, default=7)
    add_app_load_options(p)
    args = p.parse_args()

    template, pop = uploads_template(args.channels, args.seed)
    result: dict = {"scenario": "stats_snapshot", "channels": args.channels, "backend": "postgres",
                    "populate_s": pop["populate_s"], "populate_cache_hit": pop["cache_hit"]}
    if args.app_load:
        template, result["app_rows"] = app_ready_template(template, "uploads", str(args.channels), args.seed)
    day = datetime.now(UTC).date().isoformat()
    os.environ.update({"YOUTUBE_API_KEY": "unused-by-statistics", "YOUTUBE_API_BASE_URL": "http://127.0.0.1:9",
                       "YOUTUBE_FEED_BASE_URL": "http://127.0.0.1:9"})
    result.update(measured_snapshots(template, args, "statistics", day))
    if args.app_load:
        loaded = measured_snapshots(template, args, "statistics_load", day, app=True)
        idle, under_job = loaded.pop("app_idle"), loaded.pop("app_under_job")
        result["app_load"] = app_load_result(args, idle, under_job, result, loaded, ("wall_s", "cpu_s"))
    require(result["run_success"] and result["day_rows"] > 0, "the statistics snapshot wrote no rows")
    emit(result)


if __name__ == "__main__":
    main()
