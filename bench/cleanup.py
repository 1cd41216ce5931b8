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

    .venv/bin/python bench/cleanup.py --channels 1000000 --orphans 20000 --watch-rows 10000000 [--app-load 4[:80]]

``--app-load CLIENTS[:RATE]`` (bench/app_load.py): after the quiet cycle, a second clone runs the app load
alone for ``--idle-seconds`` (idle baseline), then the same cycle beside it, with ``--doomed-share`` of the
app's channel requests aimed at the orphans being removed (pages, watches and imports of their videos,
admin saves, re-follows). ``rows_lost`` then counts rows that existed before the cycle and are gone
(the app adds rows meanwhile); the JSON gains ``app_load``.
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
from bench.populate import channel_uuid, cleanup_layout, cleanup_template, synthetic_channel_id  # noqa: E402

ASSETS = ["orphaned_channels", "preserved_video_snapshots", "removed_channels"]


def counts(engine, before: dict | None = None) -> dict:
    """Row counts; with ``before`` (an earlier result), videos and watch rows count only those that existed
    then (created no later, id no higher), so rows the app adds meanwhile do not hide a lost one."""
    with engine.connect() as conn:
        one = lambda q, *a: conn.exec_driver_sql(q, *a).scalar_one()  # noqa: E731
        if before is None:
            mark = {"at": one("SELECT now()"), "max_watch_id": one("SELECT coalesce(max(id), 0) FROM users_uservideo")}
            videos = one("SELECT count(*) FROM videos_video")
            watch_rows = one("SELECT count(*) FROM users_uservideo")
        else:
            mark = before["mark"]
            videos = one("SELECT count(*) FROM videos_video WHERE created_at <= %s", (mark["at"],))
            watch_rows = one("SELECT count(*) FROM users_uservideo WHERE id <= %s", (mark["max_watch_id"],))
        return {
            "mark": mark,
            "channels": one("SELECT count(*) FROM videos_channel"),
            "videos": videos,
            "watch_rows": watch_rows,
            "held": one("SELECT count(*) FROM videos_channel WHERE removal_hold_reason IS NOT NULL"),
            "channel_less_videos": one("SELECT count(*) FROM videos_video WHERE channel_id IS NULL"),
            "snapshotted_videos": one("SELECT count(*) FROM videos_video WHERE channel_id IS NULL "
                                      "AND original_channel_metadata IS NOT NULL"),
            "watch_rows_with_context": one("SELECT count(*) FROM users_uservideo WHERE channel_context IS NOT NULL"),
        }


def measured_cycle(template: str, args: argparse.Namespace, label: str, day: str, app: bool = False,
                   doomed: list[tuple[str, str]] | None = None) -> dict:
    """One cleanup cycle on a fresh clone, rows counted before and after; with ``app``, the app load alone
    first (idle baseline), then the cycle beside it."""
    import dagster as dg

    from channel_assets.db.core.engine import engine_for

    out: dict = {}
    with cloned_database(template, label) as (url, clone_s):
        out["clone_s"] = round(clone_s, 2)
        os.environ["CHANNEL_ASSETS_DATABASE_URL"] = url
        engine_for.cache_clear()
        engine = engine_for(url)
        if args.app_load:  # the quiet run too, so neither figure pays the process's first-run costs
            warm_up()
        if app:
            out["app_idle"] = idle_baseline(url, args, doomed)
        before = counts(engine)
        log(f"cleanup cycle for {day}: {args.orphans} orphans among {args.channels} channels"
            f"{' beside the app load' if app else ''} ...")
        measure = Measure()

        def job(exclude: set[int]) -> dict:
            with tempfile.TemporaryDirectory() as home:
                instance = dg.DagsterInstance.local_temp(home)
                with measure.run(exclude):
                    run = materialize(ASSETS, partition_key=day, instance=instance)
                metadata = {name: materialization_metadata(run, name) for name in ASSETS}
                instance.dispose()
            return {"run_success": run.success, "metadata": metadata}

        if app:
            ran, out["app_under_job"] = under_load(url, args, job, doomed)
        else:
            ran = job(set())
        after = counts(engine, before)
        out.update({
            "through_dagster": True, "run_success": ran.get("run_success", False),
            **({"run_error": ran["run_error"]} if "run_error" in ran else {}), "partition": day,
            "channels_before": before["channels"], "channels_after": after["channels"],
            "held_for_review": after["held"],
            "videos_snapshotted": after["snapshotted_videos"] - before["snapshotted_videos"],
            "watch_rows_with_context": after["watch_rows_with_context"],
            "watch_rows_before": before["watch_rows"], "watch_rows_after": after["watch_rows"],
            "videos_before": before["videos"], "videos_after": after["videos"],
            "rows_lost": (before["watch_rows"] - after["watch_rows"]) + (before["videos"] - after["videos"]),
            **measure.as_dict(),
            "dagster_metadata": {k: v[:1] for k, v in (ran.get("metadata") or {}).items()},
        })
        removed = (out["dagster_metadata"].get("removed_channels") or [{}])[0].get("hard_deleted")
        out["orphans_removed"] = removed if app else before["channels"] - after["channels"]
        out["channels_per_s"] = round(args.orphans / measure.wall_s, 1) if measure.wall_s else None
        engine.dispose()
        engine_for.cache_clear()
    return out


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
    add_app_load_options(p)
    args = p.parse_args()

    template, pop = cleanup_template(args.channels, args.orphans, args.watch_rows)
    layout = cleanup_layout(args.channels, args.orphans)
    result: dict = {"scenario": "cleanup", "channels": args.channels, "orphans": args.orphans,
                    "watch_rows": args.watch_rows, "backend": "postgres", "population": pop,
                    "populate_s": pop["populate_s"], "populate_cache_hit": pop["cache_hit"],
                    "expected_held": pop.get("expected_held")}
    day = datetime.now(UTC).date().isoformat()
    os.environ.update({"CHANNEL_ASSETS_COOLDOWN_DAYS": "0", "YOUTUBE_API_KEY": "unused-by-cleanup",
                       "YOUTUBE_API_BASE_URL": "http://127.0.0.1:9", "YOUTUBE_FEED_BASE_URL": "http://127.0.0.1:9"})
    result.update(measured_cycle(template, args, "cleanup", day))
    if args.app_load:
        doomed = [(channel_uuid(i), synthetic_channel_id(i)) for i in layout["orphans"]]
        loaded = measured_cycle(template, args, "cleanup_load", day, app=True, doomed=doomed)
        idle, under_job = loaded.pop("app_idle"), loaded.pop("app_under_job")
        result["app_load"] = app_load_result(args, idle, under_job, result, loaded, ("wall_s", "cpu_s"))

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
    if args.app_load:
        lost = result["app_load"]["pipeline_under_load"].get("rows_lost")
        result["app_load"]["targets"]["rows_lost_under_load==0"] = {"value": lost, "pass": lost == 0}
    emit(result)


if __name__ == "__main__":
    main()
