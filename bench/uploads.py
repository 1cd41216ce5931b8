"""One new-upload detection cycle over N channels through Dagster's ``channel_uploads`` asset.

Population (bench/populate.py ``uploads``, cached template): N channels of the emulator's world,
already refreshed and checked for uploads one simulated day before the emulator's clock, with the
15 newest uploads of that moment stored, all on the daily tier. The emulator (a SUBPROCESS, with
``--latency-ms`` per answer) then shows one day of new uploads: a steady-state daily cycle, where
the public feed (0 units) should answer nearly everything and ``videos.list`` (50 ids/unit) the
details; overflows (15 new feed entries) and feed failures fall back to ``playlistItems.list``.

The measured block is ONE Dagster run materializing ``channel_uploads`` for all 16 shards.

    .venv/bin/python bench/uploads.py --channels 100000 [--latency-ms 0]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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
)
from bench.populate import uploads_template  # noqa: E402
from bench.refresh import configure_env  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--channels", type=int, default=100_000)
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--in-flight", type=int, default=16, help="YOUTUBE_MAX_CALLS_IN_FLIGHT (API calls)")
    p.add_argument("--feeds-in-flight", type=int, default=None,
                   help="YOUTUBE_MAX_FEEDS_IN_FLIGHT (feed requests, no quota); default: the setting's default")
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()

    template, pop = uploads_template(args.channels, args.seed)
    result: dict = {"scenario": "uploads", "channels": args.channels, "latency_ms": args.latency_ms,
                    "backend": "postgres", "in_flight": args.in_flight, "emulator": "subprocess",
                    "populate_s": pop["populate_s"], "populate_cache_hit": pop["cache_hit"],
                    "videos_stored_before": pop.get("videos")}
    import dagster as dg

    with Emulator(args.channels, args.seed, args.latency_ms) as emulator, \
            cloned_database(template, "uploads") as (url, clone_s):
        result["clone_s"] = round(clone_s, 2)
        configure_env(url, emulator, args.in_flight, args.feeds_in_flight)
        from channel_assets.settings import load_settings

        result["feeds_in_flight"] = load_settings().max_feeds_in_flight
        stats0 = emulator.stats()
        log(f"uploads cycle over {args.channels} channels at {args.latency_ms} ms ...")
        measure = Measure()
        with tempfile.TemporaryDirectory() as home:
            instance = dg.DagsterInstance.local_temp(home)
            with measure.run():
                run = materialize(["channel_uploads"], tags=all_shards_tags(), instance=instance)
            metas = materialization_metadata(run, "channel_uploads")
            instance.dispose()
        stats1 = emulator.stats()
        served = {k: stats1.get(k, 0) - stats0.get(k, 0) for k in ("feed", "api.videos", "api.playlistItems",
                                                                  "api.channels")}
        units = served["api.videos"] + served["api.playlistItems"] + served["api.channels"]
        # one run over all shards: every shard's materialization carries the run's totals
        summed = {k: (metas[0].get(k, 0) if metas else 0) for k in
                  ("wall_s", "checked", "candidates", "videos_added", "feed_hits", "feed_failures", "overflows",
                   "playlist_pages", "video_calls", "failed", "quota_units")}
        from channel_assets.db.core.engine import engine_for

        with engine_for(url).connect() as conn:
            dupes = conn.exec_driver_sql(
                "SELECT count(*) FROM (SELECT 1 FROM videos_video GROUP BY channel_id_snapshot, video_id "
                "HAVING count(*) > 1) d").scalar_one()
            videos_after = conn.exec_driver_sql("SELECT count(*) FROM videos_video").scalar_one()
        engine_for(url).dispose()
        checked = summed["checked"]
        result.update({
            "through_dagster": True, "run_success": run.success,
            "checked": checked, "videos_added": summed["videos_added"], "videos_after": videos_after,
            "duplicate_videos": dupes, "quota_units": units, "quota_units_reported": summed["quota_units"],
            "units_per_channel": round(units / checked, 4) if checked else None,
            "feed_requests": served["feed"], "feed_failures": summed["feed_failures"],
            "feed_fallbacks": summed["feed_failures"] + summed["overflows"], "overflows": summed["overflows"],
            "playlist_pages": served["api.playlistItems"], "videos_list_calls": served["api.videos"],
            "failed": summed["failed"], **measure.as_dict(),
            "channels_per_s": round(checked / measure.wall_s, 1),
            "outside_uploads_s": round(measure.wall_s - summed["wall_s"], 2),
        })
    require(result["checked"] > 0, "the uploads cycle checked no channel")
    emit(result)


if __name__ == "__main__":
    main()
