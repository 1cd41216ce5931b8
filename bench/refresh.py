"""Full metadata refresh of N never-fetched channels through Dagster, beside the seed-style baseline.

The emulator runs as a SUBPROCESS (its CPU is not the pipeline's GIL), with ``--latency-ms`` added
to every API answer. The database (PostgreSQL, the only engine) is a clone of a cached COPY-built template
holding N channels whose ids are the emulator world's. The measured block is ONE Dagster run that
materializes ``channel_metadata`` for all 16 shards (partition-range tags, single-run backfill
policy). Afterwards every channel row is compared with the emulator's ``/_emulator/state``.

The baseline (bench/baseline.py, seed style: one call per channel, one commit per row, serial) runs
on a second clone under the same latency on ``--baseline-channels`` channels.

    .venv/bin/python bench/refresh.py --channels 100000 [--latency-ms 0]
        [--baseline-channels 5000] [--direct]

``--direct`` measures the domain function ``refresh_shards`` without Dagster (labelled as such);
without it a missing ``channel_metadata`` asset is a loud failure, never a fake figure.

``--app-load CLIENTS[:RATE]`` (bench/app_load.py): the population gets the app's users, subscriptions,
videos and watch rows (``app_ready_template``), the quiet run above is measured on it, then a second clone
runs the app load alone for ``--idle-seconds`` (the idle baseline) and the same refresh beside it (a
fresh emulator each run); the JSON gains ``app_load`` (app latencies, errors, lock waits, the refresh's
figures under load against the quiet ones, the targets).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
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
from bench.populate import app_ready_template, refresh_template  # noqa: E402

API_KEY = "local-emulator-key"


def configure_env(db_url: str, emulator: Emulator, in_flight: int, feeds_in_flight: int | None = None) -> None:
    """The pipeline's settings for the run; feeds_in_flight None keeps YOUTUBE_MAX_FEEDS_IN_FLIGHT's default."""
    os.environ.update({
        "CHANNEL_ASSETS_DATABASE_URL": db_url,
        "YOUTUBE_API_KEY": API_KEY,
        "YOUTUBE_API_BASE_URL": emulator.base_url,
        "YOUTUBE_FEED_BASE_URL": emulator.base_url,
        "YOUTUBE_MAX_CALLS_IN_FLIGHT": str(in_flight),
    })
    if feeds_in_flight is not None:
        os.environ["YOUTUBE_MAX_FEEDS_IN_FLIGHT"] = str(feeds_in_flight)
    from channel_assets.db.core.engine import engine_for

    engine_for.cache_clear()


def compare_with_world(engine, emulator: Emulator, total: int) -> dict:
    """Every channel row against the emulator's ground truth; returns counts and a few mismatches."""
    from sqlalchemy import select

    from channel_assets.db.core.models import Channel

    c = Channel.__table__.c
    with engine.connect() as conn:
        rows = {r.channel_id: r for r in conn.execute(select(
            c.channel_id, c.title, c.description, c.subscriber_count, c.hidden_subscriber_count, c.video_count,
            c.view_count, c.is_available, c.last_updated, c.missing_since))}
    checked = mismatched = refreshed = gone_ok = 0
    examples: list[str] = []
    for offset in range(0, total, 10_000):
        for ch in emulator.state(offset, 10_000)["channels"]:
            row = rows.get(ch["id"])
            checked += 1
            if row is None:
                mismatched += 1
                examples.append(f"{ch['id']}: not in the database")
                continue
            if ch["status"] != "active":
                # gone: believed after the second pass (is_available false) or pending (missing_since set)
                if row.is_available is False or row.missing_since is not None:
                    gone_ok += 1
                else:
                    mismatched += 1
                    examples.append(f"{ch['id']}: {ch['status']} in the world, available in the DB")
                continue
            if row.last_updated is not None:
                refreshed += 1
            want = (ch["title"], ch["description"], ch["subscriberCount"], ch["hiddenSubscriberCount"],
                    ch["videoCount"], ch["viewCount"], True)
            got = (row.title, row.description, row.subscriber_count, row.hidden_subscriber_count, row.video_count,
                   row.view_count, row.is_available)
            if want != got:
                mismatched += 1
                if len(examples) < 5:
                    examples.append(f"{ch['id']}: world {want!r:.200} db {got!r:.200}")
    return {"checked": checked, "mismatched": mismatched, "refreshed_active": refreshed, "gone_ok": gone_ok,
            "examples": examples[:5]}


def run_pipeline(direct: bool, db_url: str, emulator: Emulator, in_flight: int) -> dict:
    """The measured refresh: one Dagster run over all shards (or the bare domain function)."""
    if direct:
        from channel_assets.cycle import Cycle
        from channel_assets.db.core.engine import engine_for
        from channel_assets.defs.resources import PipelinePolicy
        from channel_assets.refresh.metadata import refresh_shards
        from channel_assets.refresh.quota_gate import CountingGate
        from channel_assets.settings import load_settings
        from channel_assets.youtube import YouTubeClient

        engine = engine_for(db_url)
        gate = CountingGate(PipelinePolicy.from_settings(load_settings()).ledger(engine))
        with YouTubeClient(emulator.base_url, API_KEY, quota=gate, max_connections=in_flight * 2) as client:
            summary = refresh_shards(engine, client, gate, Cycle.starting_now(actor="bench"), list(range(16)),
                                     in_flight=in_flight)
        return {"through_dagster": False, "summary_wall_s": summary.wall_s, "summary_quota_units": summary.quota_units}
    import dagster as dg

    with tempfile.TemporaryDirectory() as home:
        instance = dg.DagsterInstance.local_temp(home)
        result = materialize(["channel_metadata"], tags=all_shards_tags(), instance=instance)
        metas = materialization_metadata(result, "channel_metadata")
        instance.dispose()
    return {"through_dagster": True, "run_success": result.success, "materializations": len(metas),
            "asset_metadata": {k: metas[0][k] for k in ("due", "refreshed", "changed", "gone", "failed",
                                                        "quota_units", "wall_s") if metas and k in metas[0]}}


def measured_refresh(template: str, args: argparse.Namespace, label: str, app: bool = False) -> dict:
    """One refresh on a fresh clone against a fresh emulator, checked against the world afterwards; with
    ``app``, the app load alone first (idle baseline), then the refresh beside it."""
    out: dict = {}
    with Emulator(args.channels, args.seed, args.latency_ms) as emulator, \
            cloned_database(template, label) as (db_url, clone_s):
        out["clone_s"] = round(clone_s, 2)
        configure_env(db_url, emulator, args.in_flight)
        from channel_assets.db.core.engine import engine_for

        if args.app_load:  # the quiet run too, so neither figure pays the process's first-run costs
            warm_up()
        if app:
            out["app_idle"] = idle_baseline(db_url, args)
        stats0 = emulator.stats()
        log(f"refresh of {args.channels} channels at {args.latency_ms} ms{' beside the app load' if app else ''} ...")
        measure = Measure()

        def job(exclude: set[int]) -> dict:
            with measure.run(exclude):
                return run_pipeline(args.direct, db_url, emulator, args.in_flight)

        if app:
            info, out["app_under_job"] = under_load(db_url, args, job)
        else:
            info = job(set())
        stats1 = emulator.stats()
        calls = stats1.get("api.channels", 0) - stats0.get("api.channels", 0)
        check = compare_with_world(engine_for(db_url), emulator, args.channels)
        refreshed = check["refreshed_active"] + check["gone_ok"]
        out.update(info)
        out.update({
            "refreshed": refreshed, "channels_list_calls": calls, "quota_units": calls,
            "channels_per_unit": round(refreshed / calls, 2) if calls else 0.0,
            **measure.as_dict(),
            "channels_per_s": round(args.channels / measure.wall_s, 1),
            # the run's cost beyond the refresh itself: run/instance setup, apply_tiers, events
            "outside_refresh_s": round(measure.wall_s - (info.get("asset_metadata") or {}).get(
                "wall_s", info.get("summary_wall_s", measure.wall_s)), 2),
            "db_matches_world": check["mismatched"] == 0 and check["checked"] == args.channels,
            "world_check": check,
        })
        engine_for(db_url).dispose()
    return out


def seed_baseline(template: str, args: argparse.Namespace, baseline_n: int) -> dict:
    with Emulator(args.channels, args.seed, args.latency_ms) as emulator, \
            cloned_database(template, "baseline") as (db_url, _):
        from bench.baseline import seed_refresh
        from channel_assets.db.core.engine import make_engine
        from channel_assets.emulator.world import channel_ids
        from channel_assets.youtube import YouTubeClient

        engine = make_engine(db_url)
        ids = channel_ids(args.channels, args.seed)[:baseline_n]
        log(f"seed-style baseline on {baseline_n} channels ...")
        with YouTubeClient(emulator.base_url, API_KEY) as client:
            base = seed_refresh(engine, client, ids)
        engine.dispose()
    return base


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--channels", type=int, default=100_000)
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--baseline-channels", type=int, default=None,
                   help="default: 2000 at < 50 ms latency, 200 above")
    p.add_argument("--in-flight", type=int, default=16, help="YOUTUBE_MAX_CALLS_IN_FLIGHT (production default 16)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--direct", action="store_true", help="measure refresh_shards without Dagster (labelled)")
    p.add_argument("--no-baseline", action="store_true")
    add_app_load_options(p)
    args = p.parse_args()
    baseline_n = args.baseline_channels or (2000 if args.latency_ms < 50 else 200)
    baseline_n = min(baseline_n, args.channels)

    template, pop = refresh_template(args.channels, args.seed)
    if args.app_load:
        template, app_pop = app_ready_template(template, "refresh", str(args.channels), args.seed)
        pop = {**pop, "app_rows": app_pop}
    result: dict = {"scenario": "refresh", "channels": args.channels, "latency_ms": args.latency_ms,
                    "backend": "postgres", "in_flight": args.in_flight, "emulator": "subprocess",
                    "populate_s": pop["populate_s"], "populate_cache_hit": pop["cache_hit"]}
    if args.app_load:
        result["app_rows"] = pop["app_rows"]
    result.update(measured_refresh(template, args, "refresh"))
    if args.app_load:
        loaded = measured_refresh(template, args, "refresh_load", app=True)
        idle, under_job = loaded.pop("app_idle"), loaded.pop("app_under_job")
        result["app_load"] = app_load_result(args, idle, under_job, result, loaded, ("wall_s", "cpu_s"))
        matches = loaded.get("db_matches_world")  # an admin's full-row save racing the refresh would show here
        result["app_load"]["targets"]["db_matches_world_under_load"] = {"value": matches, "pass": matches is True}
    if not args.no_baseline:
        base = seed_baseline(template, args, baseline_n)
        result["baseline"] = base
        result["baseline_channels_per_s"] = base["channels_per_s"]
        result["speedup_vs_baseline"] = round(result["channels_per_s"] / base["channels_per_s"], 1)
    require(result.get("run_success", True), "the Dagster run failed")
    emit(result)


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
