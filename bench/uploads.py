"""One new-upload detection cycle over N channels through Dagster's ``channel_uploads`` asset.

Population (bench/populate.py ``uploads``, cached template): N channels of the emulator's world,
already refreshed and checked for uploads one simulated day before the emulator's clock, with the
15 newest uploads of that moment stored, all on the daily tier. The emulator (a SUBPROCESS, with
``--latency-ms`` per answer) then shows one day of new uploads: a steady-state daily cycle, where
the public feed (0 units) should answer nearly everything and ``videos.list`` (50 ids/unit) the
details; overflows (15 new feed entries) and feed failures fall back to ``playlistItems.list``.

The measured block is ONE Dagster run materializing ``channel_uploads`` for all 16 shards.

    .venv/bin/python bench/uploads.py --channels 100000 [--latency-ms 0] [--app-load 4[:80]]

``--app-load CLIENTS[:RATE]`` (bench/app_load.py): on the population with the app's users, subscriptions and
watch rows added, the quiet cycle, then on a second clone the app load alone for ``--idle-seconds`` and the
same cycle beside it (a fresh emulator each run); the JSON gains ``app_load``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.app_load import add_app_load_options, app_load_result, idle_baseline, under_load  # noqa: E402
from bench.common import (  # noqa: E402
    Emulator,
    Measure,
    all_shards_tags,
    cloned_database,
    emit,
    log,
    materialization_metadata,
    materialize,
    require,
    warm_up,
)
from bench.populate import app_ready_template, uploads_template  # noqa: E402
from bench.refresh import configure_env  # noqa: E402


def measured_cycle(template: str, args: argparse.Namespace, label: str, app: bool = False) -> dict:
    """One uploads cycle on a fresh clone against a fresh emulator; with ``app``, the app load alone first
    (idle baseline), then the cycle beside it."""
    import dagster as dg

    out: dict = {}
    with Emulator(args.channels, args.seed, args.latency_ms) as emulator, \
            cloned_database(template, label) as (url, clone_s):
        out["clone_s"] = round(clone_s, 2)
        configure_env(url, emulator, args.in_flight, args.feeds_in_flight)
        from channel_assets.settings import load_settings

        out["feeds_in_flight"] = load_settings().max_feeds_in_flight
        if args.app_load:  # the quiet run too, so neither figure pays the process's first-run costs
            warm_up()
        if app:
            out["app_idle"] = idle_baseline(url, args)
        from channel_assets.db.core.engine import engine_for

        with engine_for(url).connect() as conn:
            videos_before = conn.exec_driver_sql("SELECT count(*) FROM videos_video").scalar_one()
        stats0 = emulator.stats()
        log(f"uploads cycle over {args.channels} channels at {args.latency_ms} ms"
            f"{' beside the app load' if app else ''} ...")
        measure = Measure()

        def job(exclude: set[int]) -> dict:
            with tempfile.TemporaryDirectory() as home:
                instance = dg.DagsterInstance.local_temp(home)
                with measure.run(exclude):
                    run = materialize(["channel_uploads"], tags=all_shards_tags(), instance=instance)
                metas = materialization_metadata(run, "channel_uploads")
                instance.dispose()
            return {"run_success": run.success, "metas": metas}

        if app:
            ran, out["app_under_job"] = under_load(url, args, job)
        else:
            ran = job(set())
        metas = ran.get("metas") or []
        stats1 = emulator.stats()
        served = {k: stats1.get(k, 0) - stats0.get(k, 0) for k in ("feed", "api.videos", "api.playlistItems",
                                                                  "api.channels")}
        units = served["api.videos"] + served["api.playlistItems"] + served["api.channels"]
        # one run over all shards: every shard's materialization carries the run's totals
        summed = {k: (metas[0].get(k, 0) if metas else 0) for k in
                  ("wall_s", "checked", "candidates", "videos_added", "feed_hits", "feed_failures", "overflows",
                   "playlist_pages", "video_calls", "failed", "quota_units")}
        with engine_for(url).connect() as conn:
            dupes = conn.exec_driver_sql(
                "SELECT count(*) FROM (SELECT 1 FROM videos_video GROUP BY channel_id_snapshot, video_id "
                "HAVING count(*) > 1) d").scalar_one()
            videos_after = conn.exec_driver_sql("SELECT count(*) FROM videos_video").scalar_one()
        engine_for(url).dispose()
        checked = summed["checked"]
        out.update({
            "through_dagster": True,             "run_success": ran.get("run_success", False), **({"run_error": ran["run_error"]} if "run_error" in ran else {}),
            "checked": checked, "videos_added": summed["videos_added"], "videos_before": videos_before,
            "videos_after": videos_after,
            "duplicate_videos": dupes, "quota_units": units, "quota_units_reported": summed["quota_units"],
            "units_per_channel": round(units / checked, 4) if checked else None,
            "feed_requests": served["feed"], "feed_failures": summed["feed_failures"],
            "feed_fallbacks": summed["feed_failures"] + summed["overflows"], "overflows": summed["overflows"],
            "playlist_pages": served["api.playlistItems"], "videos_list_calls": served["api.videos"],
            "failed": summed["failed"], **measure.as_dict(),
            "channels_per_s": round(checked / measure.wall_s, 1) if measure.wall_s else None,
            "outside_uploads_s": round(measure.wall_s - summed["wall_s"], 2),
        })
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--channels", type=int, default=100_000)
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--in-flight", type=int, default=16, help="YOUTUBE_MAX_CALLS_IN_FLIGHT (API calls)")
    p.add_argument("--feeds-in-flight", type=int, default=None,
                   help="YOUTUBE_MAX_FEEDS_IN_FLIGHT (feed requests, no quota); default: the setting's default")
    p.add_argument("--seed", type=int, default=7)
    add_app_load_options(p)
    args = p.parse_args()

    template, pop = uploads_template(args.channels, args.seed)
    result: dict = {"scenario": "uploads", "channels": args.channels, "latency_ms": args.latency_ms,
                    "backend": "postgres", "in_flight": args.in_flight, "emulator": "subprocess",
                    "populate_s": pop["populate_s"], "populate_cache_hit": pop["cache_hit"],
                    "videos_stored_before": pop.get("videos")}
    if args.app_load:
        template, result["app_rows"] = app_ready_template(template, "uploads", str(args.channels), args.seed)
    result.update(measured_cycle(template, args, "uploads"))
    if args.app_load:
        loaded = measured_cycle(template, args, "uploads_load", app=True)
        idle, under_job = loaded.pop("app_idle"), loaded.pop("app_under_job")
        result["app_load"] = app_load_result(args, idle, under_job, result, loaded, ("wall_s", "cpu_s"))
        dupes = loaded.get("duplicate_videos")
        result["app_load"]["targets"]["duplicate_videos_under_load==0"] = {"value": dupes, "pass": dupes == 0}
    require(result["checked"] > 0, "the uploads cycle checked no channel")
    emit(result)


if __name__ == "__main__":
    main()
