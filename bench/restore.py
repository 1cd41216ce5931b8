"""Re-subscription restore: the ``resubscription_restore`` job over channels users followed again, through Dagster.

Population (derived from bench/populate.py ``cleanup``, cached as its own template): the pipeline's own
cleanup removes the orphans in two cycles (all soft-deleted; then every other one, its soft delete moved
8 days back, hard-deleted with its video snapshots), then the app's users follow ``--resubscribed``
channels again: half of them soft-deleted (a subscription is added: restore), half hard-deleted (the app
re-creates the channel row from its YouTube id and subscribes: the preserved videos must re-link).

The measured block is what the subscription sensor requests: one ``resubscription_restore`` run per
1,000 channels (the sensor's MAX_PER_RUN), named by their YouTube ids. Afterwards: channels restored,
videos re-linked, rows lost (none may be).

    .venv/bin/python bench/restore.py --channels 1000000 --orphans 20000 --watch-rows 10000000 \\
        [--resubscribed 1000] [--app-load 4[:80]]

``--app-load CLIENTS[:RATE]`` (bench/app_load.py): after the quiet run, a second clone runs the app load
alone for ``--idle-seconds`` (idle baseline), then the same restore beside it, ``--doomed-share`` of the
channel requests aimed at the channels being restored; the JSON gains ``app_load``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from bench.app_load import add_app_load_options, app_load_result, idle_baseline, libpq_dsn, under_load  # noqa: E402
from bench.cleanup import ASSETS as CLEANUP_ASSETS  # noqa: E402
from bench.cleanup import counts  # noqa: E402
from bench.common import (  # noqa: E402
    Measure,
    cloned_database,
    code_location,
    emit,
    ensure_template,
    log,
    materialize,
    require,
    template_name,
)
from bench.populate import cleanup_template  # noqa: E402

JOB = "resubscription_restore"
PER_RUN = 1_000  # channel_assets.defs.cleanup.sensors.MAX_PER_RUN: what one requested run carries
COOLDOWN_DAYS = 7

# What the sensor would find: followed channels still in the cleanup lifecycle, and channels whose
# YouTube id has channel-less preserved videos (re-created by the app).
RESUBSCRIBED_SQL = """
SELECT c.uuid, c.channel_id, 'restore' FROM videos_channel c
WHERE (c.soft_deleted_at IS NOT NULL OR c.orphaned_at IS NOT NULL)
  AND EXISTS (SELECT 1 FROM users_userchannel s WHERE s.channel_id = c.uuid AND s.is_active)
UNION
SELECT DISTINCT c.uuid, c.channel_id, 'relink' FROM videos_video v JOIN videos_channel c ON c.channel_id = v.channel_id_snapshot
WHERE v.channel_id IS NULL
ORDER BY 2
"""


def _cleanup_cycle(url: str, day: str) -> None:
    from channel_assets.db.core.engine import engine_for

    os.environ["CHANNEL_ASSETS_DATABASE_URL"] = url
    engine_for.cache_clear()
    with tempfile.TemporaryDirectory() as home:
        import dagster as dg

        instance = dg.DagsterInstance.local_temp(home)
        materialize(CLEANUP_ASSETS, partition_key=day, instance=instance)
        instance.dispose()
    engine_for(url).dispose()
    engine_for.cache_clear()


def build_population(url: str, resubscribed: int) -> dict:
    """Two cleanup cycles of the pipeline itself, then the app's re-follows (see the module doc)."""
    day = datetime.now(UTC).date().isoformat()
    dsn = libpq_dsn(url)
    _cleanup_cycle(url, day)
    with psycopg.connect(dsn) as conn:
        conn.execute("UPDATE videos_channel SET soft_deleted_at = soft_deleted_at - %s * interval '1 day' WHERE uuid IN "
                     "(SELECT uuid FROM (SELECT uuid, row_number() OVER (ORDER BY uuid) AS n FROM videos_channel "
                     "WHERE soft_deleted_at IS NOT NULL) s WHERE n %% 2 = 0)", (COOLDOWN_DAYS + 1,))
    _cleanup_cycle(url, day)
    with psycopg.connect(dsn) as conn:
        users = conn.execute("SELECT count(*) FROM users_user").fetchone()[0]
        soft = [r[0] for r in conn.execute("SELECT uuid FROM videos_channel WHERE soft_deleted_at IS NOT NULL "
                                           "ORDER BY uuid LIMIT %s", (resubscribed // 2,))]
        gone = [r[0] for r in conn.execute(
            "SELECT DISTINCT v.channel_id_snapshot FROM videos_video v WHERE v.channel_id IS NULL "
            "AND v.channel_id_snapshot IS NOT NULL AND NOT EXISTS (SELECT 1 FROM videos_channel c "
            "WHERE c.channel_id = v.channel_id_snapshot) ORDER BY 1 LIMIT %s", (resubscribed - len(soft),))]
        # the app re-creates a removed channel the way its Channel.objects.create() does (its model's fields)
        conn.execute("INSERT INTO videos_channel (uuid, channel_id, title, description, url, update_frequency, "
                     "subscriber_count, video_count, view_count, is_available, failed_update_count, created_at, "
                     "updated_at) SELECT md5(g)::uuid, g, 'followed again', '', 'https://www.youtube.com/channel/' || g, "
                     "'weekly', NULL, NULL, NULL, true, 0, now(), now() FROM unnest(%s::text[]) AS g", (gone,))
        followed = soft + [r[0] for r in conn.execute(
            "SELECT uuid FROM videos_channel WHERE channel_id = ANY(%s)", (gone,))]
        conn.execute("INSERT INTO users_userchannel (user_id, channel_id, subscribed_at, is_active, created_at, updated_at) "
                     "SELECT (hashtext(c::text) & 2147483647) %% %s + 1, c, now(), true, now(), now() "
                     "FROM unnest(%s::uuid[]) AS c ON CONFLICT (user_id, channel_id) "
                     "DO UPDATE SET is_active = true, updated_at = now()", (users, followed))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return {"soft_deleted_followed_again": len(soft), "hard_deleted_followed_again": len(gone)}


def restore_template(args: argparse.Namespace) -> tuple[str, dict]:
    base, base_info = cleanup_template(args.channels, args.orphans, args.watch_rows)
    name = template_name("restore", f"{args.channels}_{args.orphans}_{args.watch_rows}_{args.resubscribed}", 0)
    info = ensure_template(name, lambda url: build_population(url, args.resubscribed), base=base)
    return name, {**info, "base_populate_s": base_info["populate_s"]}


def resubscribed(url: str) -> list[tuple[str, str, str]]:
    with psycopg.connect(libpq_dsn(url)) as conn:
        return [(str(u), c, kind) for u, c, kind in conn.execute(RESUBSCRIBED_SQL)]


def lifecycle(url: str, channels: list[tuple[str, str, str]]) -> dict:
    """Of the re-followed channels: how many are still soft-deleted, and how many preserved videos of their
    YouTube ids are still without a channel / linked to the channel row again."""
    ids = [c for _, c, _ in channels]
    with psycopg.connect(libpq_dsn(url)) as conn:
        still_soft = conn.execute("SELECT count(*) FROM videos_channel WHERE channel_id = ANY(%s) "
                                  "AND soft_deleted_at IS NOT NULL", (ids,)).fetchone()[0]
        unlinked, linked = conn.execute(
            "SELECT count(*) FILTER (WHERE v.channel_id IS NULL), count(*) FILTER (WHERE v.channel_id IS NOT NULL) "
            "FROM videos_video v WHERE v.channel_id_snapshot = ANY(%s) AND v.original_channel_metadata IS NOT NULL",
            (ids,)).fetchone()
    return {"still_soft_deleted": still_soft, "preserved_videos_unlinked": unlinked, "preserved_videos_linked": linked}


def measured_restore(template: str, args: argparse.Namespace, label: str, app: bool = False) -> dict:
    """The sensor's runs over the re-followed channels on a fresh clone; with ``app``, the app load alone
    first, then the runs beside it."""
    import dagster as dg

    from channel_assets.db.core.engine import engine_for

    out: dict = {}
    with cloned_database(template, label) as (url, clone_s):
        out["clone_s"] = round(clone_s, 2)
        os.environ["CHANNEL_ASSETS_DATABASE_URL"] = url
        engine_for.cache_clear()
        job_def = code_location().resolve_job_def(JOB)
        op_name = next(iter(job_def.graph.node_dict))
        channels = resubscribed(url)
        doomed = [(u, c) for u, c, _ in channels]
        if app:
            out["app_idle"] = idle_baseline(url, args, doomed)
            channels = resubscribed(url)  # the idle load may have followed or unfollowed some
        engine = engine_for(url)
        before = counts(engine)
        ids = [c for _, c, _ in channels]
        log(f"{JOB}: {len(ids)} channels followed again{' beside the app load' if app else ''} ...")
        measure = Measure()

        def job(exclude: set[int]) -> dict:
            success = True
            with tempfile.TemporaryDirectory() as home:
                instance = dg.DagsterInstance.local_temp(home)
                # an untimed run naming no channel first: neither figure pays Dagster's first-run costs
                job_def.execute_in_process(run_config={"ops": {op_name: {"config": {"channel_ids": []}}}},
                                           instance=instance)
                with measure.run(exclude):
                    for i in range(0, len(ids), PER_RUN):
                        run = job_def.execute_in_process(
                            run_config={"ops": {op_name: {"config": {"channel_ids": ids[i:i + PER_RUN]}}}},
                            instance=instance)
                        success = success and run.success
                instance.dispose()
            return {"run_success": success}

        if app:
            ran, out["app_under_job"] = under_load(url, args, job, doomed)
        else:
            ran = job(set())
        after = counts(engine, before)
        state = lifecycle(url, channels)
        engine.dispose()
        engine_for.cache_clear()
    out.update({
        "through_dagster": True, **ran, "runs": -(-len(ids) // PER_RUN),
        "channels_followed_again": len(ids),
        "to_restore": sum(1 for *_, kind in channels if kind == "restore"),
        "to_relink": sum(1 for *_, kind in channels if kind == "relink"),
        **state,
        "watch_rows_before": before["watch_rows"], "watch_rows_after": after["watch_rows"],
        "videos_before": before["videos"], "videos_after": after["videos"],
        "rows_lost": (before["watch_rows"] - after["watch_rows"]) + (before["videos"] - after["videos"]),
        **measure.as_dict(),
        "channels_per_s": round(len(ids) / measure.wall_s, 1) if measure.wall_s else None,
    })
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--channels", type=int, default=1_000_000)
    p.add_argument("--orphans", type=int, default=20_000)
    p.add_argument("--watch-rows", type=int, default=10_000_000)
    p.add_argument("--resubscribed", type=int, default=1_000,
                   help="channels followed again (half soft-deleted, half hard-deleted)")
    add_app_load_options(p)
    args = p.parse_args()

    os.environ.update({"CHANNEL_ASSETS_COOLDOWN_DAYS": str(COOLDOWN_DAYS), "YOUTUBE_API_KEY": "unused-by-restore",
                       "YOUTUBE_API_BASE_URL": "http://127.0.0.1:9", "YOUTUBE_FEED_BASE_URL": "http://127.0.0.1:9"})
    template, pop = restore_template(args)
    result: dict = {"scenario": "restore", "channels": args.channels, "orphans": args.orphans,
                    "watch_rows": args.watch_rows, "resubscribed": args.resubscribed, "backend": "postgres",
                    "population": pop, "populate_s": pop["populate_s"], "populate_cache_hit": pop["cache_hit"]}
    result.update(measured_restore(template, args, "restore"))
    if args.app_load:
        loaded = measured_restore(template, args, "restore_load", app=True)
        idle, under_job = loaded.pop("app_idle"), loaded.pop("app_under_job")
        result["app_load"] = app_load_result(args, idle, under_job, result, loaded, ("wall_s", "cpu_s"))
        lost = loaded.get("rows_lost")
        result["app_load"]["targets"]["rows_lost_under_load==0"] = {"value": lost, "pass": lost == 0}
    require(result["run_success"], "the restore run failed")
    require(result["rows_lost"] == 0, f"rows were lost: {result['rows_lost']}")
    require(result["still_soft_deleted"] == 0 and result["preserved_videos_unlinked"] == 0,
            f"the restore left {result['still_soft_deleted']} channels soft-deleted and "
            f"{result['preserved_videos_unlinked']} preserved videos unlinked")
    emit(result)


if __name__ == "__main__":
    main()
