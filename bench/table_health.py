"""Table health over a month: 30 daily cycles on N channels, then size, dead tuples and HOT updates of the app tables.

Population (derived from bench/populate.py ``uploads``, cached): N channels of the emulator's world with
their 15 newest uploads stored, the app's users, subscriptions and watch rows (``fill_app_rows``), and
tiers spread daily/weekly/weekly/monthly with next refreshes spread over each tier's interval, so every
day refreshes a steady share (a month of steady state, not one full refresh).

Each cycle d (the emulator's clock at day d, 02:00; Dagster's daily partition of that day):
1. the app's day, as set-based SQL stamped with the simulated time: ``--unfollow-pct`` of the active
   subscriptions end, as many new follows start (a tenth of them re-follows of channels in the cleanup
   lifecycle), ``--refollow-removed`` hard-deleted channels are re-created and followed, and
   ``--watches-per-user`` watch rows per user are inserted or updated;
2. refresh + uploads (one Dagster run, all shards, ``now`` = the clock), the video metadata refresh (all
   shards, within the videos' part of the day's quota), the statistics snapshot, the cleanup (detection,
   snapshots, removal; the default 7-day cool-down), each through Dagster;
3. the pipeline's connections closed (their statistics flushed), then the night: a month compressed into
   minutes would give autovacuum (one visit per naptime) almost no time between the days, so the cycle waits
   until no table is over its autovacuum threshold (dead tuples > threshold + scale factor x reltuples),
   ``--settle-max-s`` at most (skipped when autovacuum is off); then per table: heap and total size, live
   and dead tuples, updates and HOT updates, autovacuum runs.
``--app-load CLIENTS[:RATE]`` also runs AppLoad (bench/app_load.py) during step 2 of every cycle (its
timestamps are wall-clock, not simulated).

Autovacuum is the server's: nothing is vacuumed by the benchmark (the clone is ANALYZEd once before cycle 1,
so the live/dead estimates start from the real row counts). The machine's shared server runs with
``autovacuum = off`` (its CI configuration): ``--private-server`` runs the whole benchmark on a throw-away
server with the stock configuration (bench/private_pg.py), which is what "default autovacuum" means.
The JSON records the server's autovacuum settings either way. The report gives each table
after cycle 1 and after the last cycle (size, n_dead_tup, the HOT share of that cycle's updates and of all),
a per-cycle series, and a verdict: a table grows without bound when its heap bytes per live row after
the last cycle exceed 1.5x those after cycle 1, or its dead tuples exceed 20% of its live ones.

Bytes per live row also grow when the rows themselves get wider (a video the refresh has read once gains
its description, tags and counts), which is data, not bloat. So each table is also measured with
``pgstattuple`` (contrib; skipped, saying so, where the server lacks it): the bytes of its heap and TOAST
that hold live tuples, against the bytes allocated to them, and the size of its indexes. The ``space``
verdict flags a table whose allocated bytes per live byte after the last cycle exceed 1.5x cycle 1's:
space that vacuum does not give back to new rows.

    .venv/bin/python bench/table_health.py --channels 100000 --days 30 --private-server [--app-load 4[:80]]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from bench.app_load import AppLoad, add_app_load_options, app_targets, libpq_dsn  # noqa: E402
from bench.cleanup import ASSETS as CLEANUP_ASSETS  # noqa: E402
from bench.common import (  # noqa: E402
    Emulator,
    Measure,
    all_shards_tags,
    cloned_database,
    emit,
    ensure_template,
    log,
    materialize,
    template_name,
)
from bench.populate import fill_app_rows, uploads_template  # noqa: E402
from bench.refresh import configure_env  # noqa: E402

TABLES = ("videos_channel", "users_userchannel", "videos_video", "users_uservideo", "channel_update_logs",
          "video_refresh_schedule")
WORLD_START = datetime(2026, 1, 1, tzinfo=UTC)  # the emulator's default start, which the uploads template assumes
CYCLE_HOUR = 2  # the seed's 02:00 daily refresh
BYTES_PER_ROW_LIMIT = 1.5
ALLOCATED_PER_LIVE_LIMIT = 1.5
DEAD_SHARE_LIMIT = 0.2

TIERS_SQL = """
UPDATE videos_channel c SET update_frequency = t.freq, next_refresh_at = t.due, last_updated = t.due - t.period
FROM (SELECT s.uuid, f.freq, f.period,
             %(start)s::timestamptz + ((s.n * 7919) %% (extract(epoch FROM f.period)::bigint / 3600)) * interval '1 hour'
             AS due
      FROM (SELECT uuid, row_number() OVER (ORDER BY uuid) AS n FROM videos_channel) s
      CROSS JOIN LATERAL (SELECT (ARRAY['daily', 'weekly', 'weekly', 'monthly'])[s.n %% 4 + 1] AS freq,
                                 (ARRAY[interval '1 day', interval '7 days', interval '7 days',
                                        interval '30 days'])[s.n %% 4 + 1] AS period) f) t
WHERE c.uuid = t.uuid
"""
PENDING_VACUUM_SQL = """
SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
WHERE s.relname = ANY(%s)
  AND s.n_dead_tup > current_setting('autovacuum_vacuum_threshold')::float
                     + current_setting('autovacuum_vacuum_scale_factor')::float * greatest(c.reltuples, 0)
"""
STATS_SQL = """
SELECT relname, pg_relation_size(relid), pg_total_relation_size(relid), n_live_tup, n_dead_tup, n_tup_ins, n_tup_upd,
       n_tup_hot_upd, n_tup_del, autovacuum_count, vacuum_count, last_autovacuum
FROM pg_stat_user_tables WHERE relname = ANY(%s)
"""


def health_template(channels: int, seed: int) -> tuple[str, dict]:
    base, base_info = uploads_template(channels, seed)
    name = template_name("health", str(channels), seed)

    def build(url: str) -> dict:
        with psycopg.connect(libpq_dsn(url)) as conn:
            added = fill_app_rows(conn)
            conn.execute(TIERS_SQL, {"start": WORLD_START})
        with psycopg.connect(libpq_dsn(url), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        return {"derived_from": base, "app_rows_added": added}

    info = ensure_template(name, build, base=base)
    return name, {**info, "base_populate_s": base_info["populate_s"]}


def app_day(dsn: str, day: int, now: datetime, args: argparse.Namespace) -> dict:
    """The app's writes of one day, set-based, deterministic per day, stamped with the simulated time."""
    with psycopg.connect(dsn, application_name="gallery_app_day") as conn:
        active = conn.execute("SELECT count(*) FROM users_userchannel WHERE is_active").fetchone()[0]
        users = conn.execute("SELECT count(*) FROM users_user").fetchone()[0]
        changes = int(active * args.unfollow_pct / 100)
        unfollowed = conn.execute(
            "UPDATE users_userchannel SET is_active = false, updated_at = %s WHERE id IN (SELECT id FROM users_userchannel "
            "WHERE is_active ORDER BY md5(id::text || %s) LIMIT %s)", (now, f"u{day}", changes)).rowcount
        refollows = changes // 10
        followed = conn.execute(
            "INSERT INTO users_userchannel (user_id, channel_id, subscribed_at, is_active, created_at, updated_at) "
            "SELECT (hashtext(c.uuid::text || %s) & 2147483647) %% %s + 1, c.uuid, %s, true, %s, %s FROM ("
            "  (SELECT uuid FROM videos_channel WHERE orphaned_at IS NOT NULL ORDER BY md5(uuid::text || %s) LIMIT %s)"
            "  UNION"
            "  (SELECT uuid FROM videos_channel WHERE soft_deleted_at IS NULL ORDER BY md5(uuid::text || %s) LIMIT %s)"
            ") AS c ON CONFLICT (user_id, channel_id) DO UPDATE SET is_active = true, updated_at = EXCLUDED.updated_at",
            (f"f{day}", users, now, now, now, f"r{day}", refollows, f"f{day}", changes - refollows)).rowcount
        gone = [r[0] for r in conn.execute(
            "SELECT DISTINCT v.channel_id_snapshot FROM videos_video v WHERE v.channel_id IS NULL "
            "AND v.channel_id_snapshot IS NOT NULL AND NOT EXISTS (SELECT 1 FROM videos_channel c "
            "WHERE c.channel_id = v.channel_id_snapshot) ORDER BY 1 LIMIT %s", (args.refollow_removed,))]
        conn.execute("INSERT INTO videos_channel (uuid, channel_id, title, description, url, update_frequency, "
                     "is_available, failed_update_count, created_at, updated_at) SELECT md5(g || %s)::uuid, g, "
                     "'followed again', '', 'https://www.youtube.com/channel/' || g, 'weekly', true, 0, %s, %s "
                     "FROM unnest(%s::text[]) AS g", (str(day), now, now, gone))
        conn.execute("INSERT INTO users_userchannel (user_id, channel_id, subscribed_at, is_active, created_at, updated_at) "
                     "SELECT (hashtext(c.uuid::text) & 2147483647) %% %s + 1, c.uuid, %s, true, %s, %s "
                     "FROM videos_channel c WHERE c.channel_id = ANY(%s) ON CONFLICT DO NOTHING",
                     (users, now, now, now, gone))
        videos = conn.execute("SELECT count(*) FROM videos_video").fetchone()[0]
        watched = conn.execute(
            "INSERT INTO users_uservideo (user_id, video_id, is_watched, watched_at, created_at, updated_at) "
            "SELECT DISTINCT ON (u, v.uuid) u, v.uuid, true, %s, %s, %s FROM ("
            "  SELECT g %% %s + 1 AS u, (hashtext(g::text || %s) & 2147483647) %% %s + 1 AS k"
            "  FROM generate_series(0, %s) AS g) AS w "
            "JOIN (SELECT uuid, row_number() OVER (ORDER BY uuid) AS n FROM videos_video) v ON v.n = w.k "
            "ON CONFLICT (user_id, video_id) DO UPDATE SET is_watched = true, watched_at = EXCLUDED.watched_at, "
            "updated_at = EXCLUDED.updated_at",
            (now, now, now, users, f"w{day}", videos, users * args.watches_per_user - 1)).rowcount
    return {"unfollowed": unfollowed, "followed": followed, "removed_refollowed": len(gone), "watches": watched}


def pipeline_day(day: int, now: datetime) -> dict:
    """Refresh + uploads, statistics and cleanup through Dagster for the day's partition; wall per step."""
    import dagster as dg

    clock = now.isoformat()
    partition = now.date().isoformat()
    walls: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as home:
        instance = dg.DagsterInstance.local_temp(home)
        steps = [
            ("refresh_uploads", lambda: materialize(
                ["channel_metadata", "channel_uploads"], tags=all_shards_tags(), instance=instance,
                config={"channel_metadata": {"now": clock}, "channel_uploads": {"now": clock}})),
            ("videos", lambda: materialize(["video_metadata"], tags=all_shards_tags(), instance=instance,
                                           config={"video_metadata": {"now": clock}})),
            ("statistics", lambda: materialize(["channel_statistics"], partition_key=partition, instance=instance)),
            ("cleanup", lambda: materialize(CLEANUP_ASSETS, partition_key=partition, instance=instance,
                                            config={name: {"now": clock} for name in CLEANUP_ASSETS})),
        ]
        for name, step in steps:
            started = time.perf_counter()
            step()
            walls[f"{name}_s"] = round(time.perf_counter() - started, 2)
        instance.dispose()
    return walls


def table_stats(dsn: str) -> dict:
    with psycopg.connect(dsn, autocommit=True, application_name="table_health") as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        rows = conn.execute(STATS_SQL, (list(TABLES),)).fetchall()
    out = {}
    for (name, heap, total, live, dead, ins, upd, hot, dele, autovacuums, vacuums, last_auto) in rows:
        out[name] = {"heap_mb": round(heap / 2**20, 2), "total_mb": round(total / 2**20, 2), "n_live_tup": live,
                     "n_dead_tup": dead, "n_tup_ins": ins, "n_tup_upd": upd, "n_tup_hot_upd": hot, "n_tup_del": dele,
                     "autovacuum_count": autovacuums, "vacuum_count": vacuums,
                     "last_autovacuum": last_auto.isoformat() if last_auto else None, "heap_bytes": heap}
    return out


SPACE_SQL = """
SELECT c.relname, h.table_len, h.tuple_len, h.dead_tuple_len, h.free_space,
       coalesce(t.table_len, 0), coalesce(t.tuple_len, 0), pg_indexes_size(c.oid)
FROM pg_class c CROSS JOIN LATERAL pgstattuple(c.oid) h
LEFT JOIN LATERAL pgstattuple(nullif(c.reltoastrelid, 0)) t ON c.reltoastrelid <> 0
WHERE c.relname = ANY(%s) AND c.relkind = 'r'
"""


def space(dsn: str) -> dict:
    """Per table: heap and TOAST bytes allocated against the bytes of their live tuples (pgstattuple, a full
    read of each table), and index bytes; {} where the server has no pgstattuple."""
    with psycopg.connect(dsn, autocommit=True, application_name="table_health") as conn:
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pgstattuple")
        except psycopg.Error as exc:
            log(f"no pgstattuple on this server ({exc.sqlstate}): live-data sizes not measured")
            return {}
        rows = conn.execute(SPACE_SQL, (list(TABLES),)).fetchall()
    mb = 2**20
    return {name: {"heap_live_mb": round(live / mb, 2), "heap_dead_mb": round(dead / mb, 2),
                   "heap_free_mb": round(free / mb, 2), "toast_mb": round(toast / mb, 2),
                   "toast_live_mb": round(toast_live / mb, 2), "indexes_mb": round(idx / mb, 2),
                   "allocated_per_live_byte": round((heap + toast) / (live + toast_live), 3) if live else None}
            for name, heap, live, dead, free, toast, toast_live, idx in rows}


def settle(dsn: str, max_s: float) -> dict:
    """Wait (polling every 2 s) until autovacuum has no table of ours over its threshold, max_s at most."""
    started = time.monotonic()
    with psycopg.connect(dsn, autocommit=True, application_name="table_health") as conn:
        while True:
            conn.execute("SELECT pg_stat_clear_snapshot()")
            pending = [r[0] for r in conn.execute(PENDING_VACUUM_SQL, (list(TABLES),))]
            waited = time.monotonic() - started
            if not pending or waited >= max_s:
                return {"settle_s": round(waited, 1), "over_threshold_after": pending}
            time.sleep(2)


def with_shares(now: dict, previous: dict | None) -> dict:
    """Each table's figures with the HOT share of this cycle's updates and of all updates so far."""
    out = {}
    for name, t in now.items():
        before = (previous or {}).get(name) or {"n_tup_upd": 0, "n_tup_hot_upd": 0}
        upd = t["n_tup_upd"] - before["n_tup_upd"]
        hot = t["n_tup_hot_upd"] - before["n_tup_hot_upd"]
        out[name] = {**{k: v for k, v in t.items() if k != "heap_bytes"},
                     "updates_this_cycle": upd,
                     "hot_share_this_cycle": round(hot / upd, 3) if upd else None,
                     "hot_share_total": round(t["n_tup_hot_upd"] / t["n_tup_upd"], 3) if t["n_tup_upd"] else None,
                     "heap_bytes_per_live_row": round(t["heap_bytes"] / t["n_live_tup"], 1) if t["n_live_tup"] else None,
                     "dead_share": round(t["n_dead_tup"] / t["n_live_tup"], 3) if t["n_live_tup"] else None}
    return out


def verdict(first: dict, last: dict, cycles: int, autovacuum: str) -> dict:
    """Per table: bounded or growing (see the module doc), with the two figures behind it."""
    out = {}
    for name in TABLES:
        a, b = first.get(name) or {}, last.get(name) or {}
        ratio = (b["heap_bytes_per_live_row"] / a["heap_bytes_per_live_row"]
                 if a.get("heap_bytes_per_live_row") and b.get("heap_bytes_per_live_row") else None)
        dead = b.get("dead_share")
        growing = (ratio is not None and ratio > BYTES_PER_ROW_LIMIT) or (dead is not None and dead > DEAD_SHARE_LIMIT)
        out[name] = {"bytes_per_live_row_ratio": None if ratio is None else round(ratio, 2), "dead_share": dead,
                     "verdict": "growing without bound" if growing else "bounded"}
        a_space, b_space = a.get("allocated_per_live_byte"), b.get("allocated_per_live_byte")
        if a_space and b_space:
            space_ratio = b_space / a_space
            out[name] |= {"allocated_per_live_byte": [a_space, b_space],
                          "space_verdict": "growing without bound" if space_ratio > ALLOCATED_PER_LIVE_LIMIT
                          else "bounded"}
    out["judged_over_cycles"] = cycles
    out["server_autovacuum"] = autovacuum
    notes = [f"growing: heap bytes per live row > {BYTES_PER_ROW_LIMIT}x cycle 1's or dead tuples > "
             f"{DEAD_SHARE_LIMIT:.0%} of live ones after the last cycle",
             f"space_verdict (pgstattuple): heap + TOAST bytes per live tuple byte > {ALLOCATED_PER_LIVE_LIMIT}x "
             "cycle 1's"]
    if cycles < 10:
        notes.append("too few cycles to judge a steady state (use >= 10)")
    if autovacuum != "on":
        notes.append("autovacuum is off on this server: this is growth WITHOUT vacuum; use --private-server")
    out["note"] = "; ".join(notes)
    return out


def rerun_on_private_server() -> int:
    """This benchmark again, in a child process pointed at a throw-away stock server; its output relayed."""
    from bench.private_pg import private_server

    argv = [a for a in sys.argv[1:] if a != "--private-server"]
    with private_server() as env:
        return subprocess.run([sys.executable, __file__, *argv], env={**os.environ, **env}).returncode


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--channels", type=int, default=100_000)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--unfollow-pct", type=float, default=0.5, help="active subscriptions ended per day (and as "
                                                                     "many follows started)")
    p.add_argument("--refollow-removed", type=int, default=20, help="hard-deleted channels re-created per day")
    p.add_argument("--watches-per-user", type=int, default=1, help="watch rows inserted or updated per user per day")
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--in-flight", type=int, default=16)
    p.add_argument("--settle-max-s", type=float, default=150.0,
                   help="after each cycle, wait at most this long for autovacuum to catch up (0: no wait)")
    p.add_argument("--private-server", action="store_true",
                   help="run on a throw-away PostgreSQL with the stock configuration (autovacuum on)")
    add_app_load_options(p)
    args = p.parse_args()
    if args.private_server and "BENCH_PRIVATE_PG" not in os.environ:
        sys.exit(rerun_on_private_server())

    template, pop = health_template(args.channels, args.seed)
    result: dict = {"scenario": "table_health", "channels": args.channels, "days": args.days,
                    "unfollow_pct_per_day": args.unfollow_pct, "refollow_removed_per_day": args.refollow_removed,
                    "watches_per_user_per_day": args.watches_per_user, "population": pop,
                    "populate_s": pop["populate_s"], "populate_cache_hit": pop["cache_hit"],
                    "private_server": "BENCH_PRIVATE_PG" in os.environ}
    cycles: list[dict] = []
    measure = Measure()
    with Emulator(args.channels, args.seed, args.latency_ms) as emulator, \
            cloned_database(template, "health") as (url, clone_s), measure.run():
        result["clone_s"] = round(clone_s, 2)
        configure_env(url, emulator, args.in_flight)
        from channel_assets.db.core.engine import engine_for

        dsn = libpq_dsn(url)
        with psycopg.connect(dsn, autocommit=True) as conn:
            result["server_autovacuum"] = {k: conn.execute(f"SHOW {k}").fetchone()[0] for k in (
                "server_version", "autovacuum", "autovacuum_naptime", "autovacuum_vacuum_scale_factor",
                "autovacuum_vacuum_threshold")}
            for table in TABLES:  # a clone's table statistics start at zero: estimate live rows once
                conn.execute(f"ANALYZE {table}")
        previous = table_stats(dsn)
        result["before_cycle_1"] = with_shares(previous, None)
        for day in range(1, args.days + 1):
            now = WORLD_START + timedelta(days=day - 1, hours=CYCLE_HOUR)
            emulator.set_clock(now.isoformat())
            cycle: dict = {"cycle": day, "clock": now.isoformat(), "app_day": app_day(dsn, day, now, args)}
            if args.app_load:
                clients, rate = args.app_load
                with AppLoad(url, clients, rate, mix=args.app_mix, doomed_share=args.doomed_share,
                             admin_columns=args.admin_columns, seed=day) as load:
                    cycle["pipeline"] = pipeline_day(day, now)
                report = load.report()
                cycle["app"] = {"requests": report["requests"], "all": report["all"], "errors": report["errors"],
                                "max_wait_on_pipeline_lock_s": report["lock_waits"]["max_wait_on_pipeline_lock_s"],
                                "targets_pass": all(t["pass"] is not False for t in app_targets(report).values())}
            else:
                cycle["pipeline"] = pipeline_day(day, now)
            engine_for(url).dispose()  # the pipeline's backends exit and flush their table statistics
            if args.settle_max_s > 0 and result["server_autovacuum"]["autovacuum"] == "on":
                time.sleep(1)  # exiting backends flush their statistics
                cycle["night"] = settle(dsn, args.settle_max_s)
            stats = table_stats(dsn)
            cycle["tables"] = with_shares(stats, previous)
            for name, figures in space(dsn).items():
                cycle["tables"][name] |= figures
            previous = stats
            cycles.append(cycle)
            log(f"cycle {day}/{args.days} ({now:%Y-%m-%d}): {cycle['pipeline']} "
                + ", ".join(f"{n} {t['total_mb']} MB dead {t['n_dead_tup']} live {t['n_live_tup']} allocated/live "
                            f"{t.get('allocated_per_live_byte')}" for n, t in cycle["tables"].items()))
        engine_for(url).dispose()
    first, last = cycles[0]["tables"], cycles[-1]["tables"]
    result.update({
        "after_cycle_1": first, f"after_cycle_{args.days}": last,
        "verdict": verdict(first, last, args.days, result["server_autovacuum"]["autovacuum"]),
        "series": {name: {"total_mb": [c["tables"][name]["total_mb"] for c in cycles],
                          "n_dead_tup": [c["tables"][name]["n_dead_tup"] for c in cycles],
                          "hot_share_this_cycle": [c["tables"][name]["hot_share_this_cycle"] for c in cycles],
                          "autovacuum_count": [c["tables"][name]["autovacuum_count"] for c in cycles],
                          "n_live_tup": [c["tables"][name]["n_live_tup"] for c in cycles],
                          "allocated_per_live_byte": [c["tables"][name].get("allocated_per_live_byte")
                                                      for c in cycles]}
                   for name in TABLES if name in first},
        "cycles": [{k: v for k, v in c.items() if k != "tables"} for c in cycles],
        **measure.as_dict(),
    })
    emit(result)


if __name__ == "__main__":
    main()
