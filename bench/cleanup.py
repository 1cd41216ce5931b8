"""Orphan cleanup of --orphans channels among --channels with --watch-rows watch rows, through Dagster.

PostgreSQL only. The population (bench/populate.py ``cleanup``) is a cached COPY-built template:
orphans are every (channels/orphans)-th channel, half with an inactive subscription; 10 orphans have
120 videos watched 12,000 times by 12,000 users and 20 more have 120 videos (so 30 must be held by
the seed's safety rules); all other videos carry ~watch_rows/videos watch rows each, so orphans'
videos have watch history.

The measured block is ONE Dagster run materializing orphaned_channels → preserved_video_snapshots →
removed_channels for today's daily partition, with ``CHANNEL_ASSETS_COOLDOWN_DAYS=0`` so soft and
hard delete both happen in the cycle. Videos and watch rows are counted before and after.

The baseline (bench/baseline.py ``seed_cleanup``: seed 000's WatchHistoryPreservationService loop,
ORM row by row) runs on a separate clone over ``--baseline-orphans`` orphans (held ones excluded)
without the seed's "orphaned videos" NOT EXISTS query, and over ``--baseline-faithful-orphans`` with it.

    .venv/bin/python bench/cleanup.py --channels 1000000 --orphans 20000 --watch-rows 10000000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    Measure,
    cloned_database,
    emit,
    log,
    materialization_metadata,
    materialize,
    require,
)
from bench.populate import channel_uuid, cleanup_layout, cleanup_template  # noqa: E402

ASSETS = ["orphaned_channels", "preserved_video_snapshots", "removed_channels"]


def counts(engine) -> dict:
    with engine.connect() as conn:
        one = lambda q: conn.exec_driver_sql(q).scalar_one()  # noqa: E731
        return {
            "channels": one("SELECT count(*) FROM videos_channel"),
            "videos": one("SELECT count(*) FROM videos_video"),
            "watch_rows": one("SELECT count(*) FROM users_uservideo"),
            "held": one("SELECT count(*) FROM videos_channel WHERE removal_hold_reason IS NOT NULL"),
            "channel_less_videos": one("SELECT count(*) FROM videos_video WHERE channel_id IS NULL"),
            "snapshotted_videos": one("SELECT count(*) FROM videos_video WHERE channel_id IS NULL "
                                      "AND original_channel_metadata IS NOT NULL"),
            "watch_rows_with_context": one("SELECT count(*) FROM users_uservideo WHERE channel_context IS NOT NULL"),
        }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--channels", type=int, default=1_000_000)
    p.add_argument("--orphans", type=int, default=20_000)
    p.add_argument("--watch-rows", type=int, default=10_000_000)
    p.add_argument("--baseline-orphans", type=int, default=200)
    p.add_argument("--baseline-faithful-orphans", type=int, default=20,
                   help="orphans for the baseline variant that keeps the seed's per-channel NOT EXISTS on "
                        "video_id (a scan of videos_video per channel, so a small subset)")
    p.add_argument("--no-baseline", action="store_true")
    args = p.parse_args()

    template, pop = cleanup_template(args.channels, args.orphans, args.watch_rows)
    layout = cleanup_layout(args.channels, args.orphans)
    result: dict = {"scenario": "cleanup", "channels": args.channels, "orphans": args.orphans,
                    "watch_rows": args.watch_rows, "backend": "postgres", "population": pop,
                    "populate_s": pop["populate_s"], "populate_cache_hit": pop["cache_hit"]}
    day = datetime.now(UTC).date().isoformat()
    os.environ.update({"CHANNEL_ASSETS_COOLDOWN_DAYS": "0", "YOUTUBE_API_KEY": "unused-by-cleanup",
                       "YOUTUBE_API_BASE_URL": "http://127.0.0.1:9", "YOUTUBE_FEED_BASE_URL": "http://127.0.0.1:9"})
    from channel_assets.db.core.engine import engine_for

    with cloned_database(template, "cleanup") as (url, clone_s):
        result["clone_s"] = round(clone_s, 2)
        os.environ["CHANNEL_ASSETS_DATABASE_URL"] = url
        engine_for.cache_clear()
        engine = engine_for(url)
        before = counts(engine)
        log(f"cleanup cycle for {day}: {args.orphans} orphans among {args.channels} channels ...")
        import dagster as dg

        measure = Measure()
        with tempfile.TemporaryDirectory() as home:
            instance = dg.DagsterInstance.local_temp(home)
            with measure.run():
                run = materialize(ASSETS, partition_key=day, instance=instance)
            metadata = {name: materialization_metadata(run, name) for name in ASSETS}
            instance.dispose()
        after = counts(engine)
        removed = before["channels"] - after["channels"]
        result.update({
            "through_dagster": True, "run_success": run.success, "partition": day,
            "orphans_removed": removed, "held_for_review": after["held"],
            "expected_held": pop.get("expected_held"),
            "videos_snapshotted": after["snapshotted_videos"] - before["snapshotted_videos"],
            "watch_rows_with_context": after["watch_rows_with_context"],
            "watch_rows_before": before["watch_rows"], "watch_rows_after": after["watch_rows"],
            "videos_before": before["videos"], "videos_after": after["videos"],
            "rows_lost": (before["watch_rows"] - after["watch_rows"]) + (before["videos"] - after["videos"]),
            **measure.as_dict(),
            "channels_per_s": round(args.orphans / measure.wall_s, 1),
            "dagster_metadata": {k: v[:1] for k, v in metadata.items()},
        })
        engine.dispose()
        engine_for.cache_clear()

    if not args.no_baseline:
        from bench.baseline import seed_cleanup
        from channel_assets.db.core.engine import make_engine

        big = set(layout["heavy"]) | set(layout["wide"])
        subset = [uuid.UUID(channel_uuid(i)) for i in layout["orphans"] if i not in big]
        plain = subset[: args.baseline_orphans]
        faithful = subset[args.baseline_orphans: args.baseline_orphans + args.baseline_faithful_orphans]
        with cloned_database(template, "cleanup_base") as (url, _):
            engine = make_engine(url)
            log(f"seed-style baseline: {len(plain)} orphans without, {len(faithful)} with the orphan query ...")
            result["baseline"] = seed_cleanup(engine, plain, orphan_query=False)
            if faithful:
                result["baseline_with_orphan_query"] = seed_cleanup(engine, faithful, orphan_query=True)
            engine.dispose()
        # Headline ratio against the cheaper variant (the seed's NOT EXISTS on the unindexed video_id
        # costs a scan of videos_video per channel; any index would remove it): the conservative figure.
        result["baseline_channels_per_s"] = result["baseline"]["channels_per_s"]
        result["speedup_vs_baseline"] = round(result["channels_per_s"] / result["baseline_channels_per_s"], 1)
        if faithful:
            result["speedup_vs_baseline_with_orphan_query"] = round(
                result["channels_per_s"] / result["baseline_with_orphan_query"]["channels_per_s"], 1)
    require(result["rows_lost"] == 0, f"rows were lost: {result['rows_lost']}")
    emit(result)


if __name__ == "__main__":
    main()
