"""Bulk population of benchmark databases with COPY, cached as PostgreSQL template databases.

Schema comes from ``channel_assets.db.core.migrate.upgrade``. Secondary indexes, unique/primary keys and
foreign keys of the bulk tables are dropped before COPY and recreated afterwards (then ANALYZE),
which ``--compare-index-modes`` measures against COPY into the fully indexed schema.

Populations (deterministic for their parameters):
- ``refresh``: N never-fetched channels whose ids are the emulator world's ``channel_ids(N, seed)``.
- ``cleanup``: C channels, O orphans (no active subscription; some with an inactive one), videos
  (3 per channel on average) and W watch rows spread over all videos, so orphans' videos carry
  watch history; a few orphans exceed the seed's safety limits (>=100 videos; >=10,000 watch rows
  by >=1,000 users) and must be held.
- ``sensor``: S subscriptions over 500k channels and S/20 users, ``updated_at`` spread over 30 days.
- ``videos``: M videos whose ids are the emulator world's (the newest ``per_channel`` uploads of its channels
  0, 1, ... at its start clock), never refreshed, with stale titles and counts; their channels (one follower
  each), M/50 users, 5% of the videos watched in the last 30 days before the build and 5% long before.
- ``app`` (derived from another template by ``app_ready_template``): the gallery app's rows a population
  lacks, so the app load has users to serve: users, subscriptions (every channel followed once except
  every 50th, the top 1% by 20 more users), 2 app-imported videos per channel, 5 watch rows per user.

Run alone to pre-build a template: ``python bench/populate.py cleanup --channels 1000000 ...``.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from bench.common import emit, ensure_template, log, pg_dsn, template_name  # noqa: E402

BASE_TS = "2026-01-01 00:00:00+00"
CHUNK_ROWS = 200_000
BULK_TABLES = ("users_user", "videos_channel", "users_userchannel", "videos_video", "users_uservideo")
# Safety-limit breakers among the cleanup orphans: (count, videos each, extra watch rows each, distinct users)
HEAVY_ORPHANS = 10        # 120 videos, 12,000 watch rows by 12,000 users: breaks all three rules
WIDE_ORPHANS = 20         # 120 videos, ordinary watch history: breaks the 100-video rule
HEAVY_VIDEOS = 120
HEAVY_WATCH = 12_000


def channel_uuid(i: int) -> str:
    return f"00000000-0000-4000-8000-{i:012x}"


def video_uuid(v: int) -> str:
    return f"00000001-0000-4000-8000-{v:012x}"


def synthetic_channel_id(i: int) -> str:
    return f"UCbench{i:017d}"  # UC + 22 chars of [A-Za-z0-9]


def video_key(v: int) -> str:
    return f"v{v:010d}"  # 11 chars like a YouTube video id


# -- index handling ------------------------------------------------------------------------------------

def _saved_ddl(conn: psycopg.Connection) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(constraints as (table, name, definition), plain index definitions) of the bulk tables."""
    tables = list(BULK_TABLES)
    constraints = conn.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype FROM pg_constraint "
        "WHERE conrelid::regclass::text = ANY(%s) AND contype IN ('p','u','f') ORDER BY contype = 'f', conname",
        (tables,)).fetchall()
    indexes = conn.execute(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid::regclass::text = ANY(%s) AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)", (tables,)).fetchall()
    return [(t, n, d) for t, n, d, _ in constraints], [r[0] for r in indexes]


def _drop_indexes(conn: psycopg.Connection) -> tuple[list[tuple[str, str, str]], list[str]]:
    constraints, indexes = _saved_ddl(conn)
    for table, name, _definition in sorted(constraints, key=lambda c: not c[2].startswith("FOREIGN")):
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT IF EXISTS "{name}" CASCADE')
    for definition in indexes:
        name = definition.split(" INDEX ", 1)[1].split(" ON ", 1)[0]
        conn.execute(f"DROP INDEX IF EXISTS {name}")
    return constraints, indexes


def _recreate_indexes(conn: psycopg.Connection, saved: tuple[list[tuple[str, str, str]], list[str]]) -> None:
    constraints, indexes = saved
    conn.execute("SET maintenance_work_mem = '1GB'")
    conn.execute("SET max_parallel_maintenance_workers = 2")
    for table, name, definition in constraints:
        if not definition.startswith("FOREIGN"):
            conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for definition in indexes:
        conn.execute(definition)
    for table, name, definition in constraints:
        if definition.startswith("FOREIGN"):
            conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


# -- COPY -----------------------------------------------------------------------------------------------

def _copy(conn: psycopg.Connection, table: str, columns: str, chunks: Iterator[str]) -> int:
    rows = 0
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for text in chunks:
            copy.write(text)
            rows += text.count("\n")
    return rows


def _ranges(n: int, size: int = CHUNK_ROWS) -> Iterator[range]:
    for start in range(0, n, size):
        yield range(start, min(n, start + size))


def _lines(rows: Iterator[str]) -> str:
    buf = io.StringIO()
    for line in rows:
        buf.write(line)
    return buf.getvalue()


def _setval(conn: psycopg.Connection, table: str) -> None:
    conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM {table}), false)")


def _bulk(url: str, fill: Callable[[psycopg.Connection], dict], drop_indexes: bool = True) -> dict:
    """Schema by migration, optional index drop, ``fill`` (COPYs), indexes back, ANALYZE; returns timings."""
    from channel_assets.db.core.engine import make_engine
    from channel_assets.db.core.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    dbname = url.rsplit("/", 1)[1]
    timings: dict = {}
    with psycopg.connect(pg_dsn(dbname)) as conn:
        conn.execute("SET synchronous_commit = off")
        saved = _drop_indexes(conn) if drop_indexes else None
        t0 = time.perf_counter()
        info = fill(conn)
        timings["copy_s"] = round(time.perf_counter() - t0, 2)
        for table in ("users_user", "users_userchannel", "users_uservideo"):
            _setval(conn, table)
        conn.commit()
        t0 = time.perf_counter()
        if saved is not None:
            _recreate_indexes(conn, saved)
            conn.commit()
        timings["index_s"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    with psycopg.connect(pg_dsn(dbname), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    timings["analyze_s"] = round(time.perf_counter() - t0, 2)
    return {**info, **timings, "db_size_mb": round(size / 2**20), "indexes_dropped_for_copy": drop_indexes}


# -- populations ----------------------------------------------------------------------------------------

def fill_refresh(channels: int, seed: int) -> Callable[[psycopg.Connection], dict]:
    def fill(conn: psycopg.Connection) -> dict:
        from channel_assets.db.core.sharding import shard_of
        from channel_assets.emulator.world import channel_ids

        ids = channel_ids(channels, seed)
        freqs = ("daily", "weekly", "weekly", "monthly")

        def chunks() -> Iterator[str]:
            for r in _ranges(channels):
                yield _lines(
                    f"{channel_uuid(i)}\t{ids[i]}\thttps://www.youtube.com/channel/{ids[i]}\t{freqs[i % 4]}\t"
                    f"{shard_of(ids[i])}\t{BASE_TS}\t{BASE_TS}\n" for i in r)

        n = _copy(conn, "videos_channel", "uuid, channel_id, url, update_frequency, shard, created_at, updated_at",
                  chunks())
        return {"channels": n}

    return fill


def fill_uploads(channels: int, seed: int, previous_check_days: float = 1.0) -> Callable[[psycopg.Connection], dict]:
    """Channels already refreshed and checked ``previous_check_days`` before the emulator's start clock,
    with the 15 newest uploads of that moment stored (what the previous cycle's feed showed); all
    channels daily, so one cycle checks each once and sees the uploads of the last day."""

    def fill(conn: psycopg.Connection) -> dict:
        from datetime import UTC, datetime

        from channel_assets.db.core.sharding import shard_of
        from channel_assets.emulator.world import World

        world = World(channels, seed)
        then = world.now_ts - previous_check_days * 86400
        checked = datetime.fromtimestamp(then, UTC).isoformat()
        video_lines: list[str] = []
        v = 0

        def channel_chunks() -> Iterator[str]:
            nonlocal v
            for r in _ranges(channels, 20_000):
                buf = io.StringIO()
                for i in r:
                    ch = world.channel(i, now=then)
                    ups = world.uploads(i, 0, 15, now=then) if ch.status == "active" else []
                    latest = datetime.fromtimestamp(ups[0][1], UTC).isoformat() if ups else "\\N"
                    buf.write(f"{channel_uuid(i)}\t{ch.id}\t{ch.title}\thttps://www.youtube.com/channel/{ch.id}\t"
                              f"{ch.uploads_playlist}\tdaily\t{shard_of(ch.id)}\t{checked}\t2099-01-01 00:00:00+00\t"
                              f"{checked}\t{latest}\t{'t' if ch.status == 'active' else 'f'}\t{BASE_TS}\t{BASE_TS}\n")
                    for vid, ts in ups:
                        video_lines.append(f"{video_uuid(v)}\t{vid}\t{channel_uuid(i)}\t{ch.id}\t"
                                           f"{datetime.fromtimestamp(ts, UTC).isoformat()}\t{checked}\t{checked}\n")
                        v += 1
                yield buf.getvalue()

        n_channels = _copy(conn, "videos_channel",
                           "uuid, channel_id, title, url, uploads_playlist_id, update_frequency, shard, last_updated, "
                           "next_refresh_at, uploads_checked_at, last_upload_at, is_available, created_at, updated_at",
                           channel_chunks())
        n_videos = _copy(conn, "videos_video",
                         "uuid, video_id, channel_id, channel_id_snapshot, published_at, created_at, updated_at",
                         ("".join(video_lines[s:s + CHUNK_ROWS]) for s in range(0, len(video_lines), CHUNK_ROWS)))
        return {"channels": n_channels, "videos": n_videos, "previous_check_days": previous_check_days}

    return fill


def cleanup_layout(channels: int, orphans: int) -> dict:
    """Which channel indexes are orphans, held, etc. (shared by the generator and the checks)."""
    step = max(channels // max(orphans, 1), 1)
    orphan_idx = list(range(0, step * orphans, step))[:orphans]
    heavy = orphan_idx[:HEAVY_ORPHANS]
    wide = orphan_idx[HEAVY_ORPHANS:HEAVY_ORPHANS + WIDE_ORPHANS]
    return {"step": step, "orphans": orphan_idx, "heavy": heavy, "wide": wide}


def fill_cleanup(channels: int, orphans: int, watch_rows: int, users: int | None = None) -> Callable:
    users = users or max(min(channels // 5, 200_000), HEAVY_WATCH + 1)

    def fill(conn: psycopg.Connection) -> dict:
        from channel_assets.db.core.sharding import shard_of

        layout = cleanup_layout(channels, orphans)
        orphan_set = set(layout["orphans"])
        big = set(layout["heavy"]) | set(layout["wide"])
        n_users = _copy(conn, "users_user", "id, username, is_active, last_login, created_at",
                        (_lines(f"{u + 1}\tuser{u + 1:08d}\tt\t{BASE_TS}\t{BASE_TS}\n" for u in r)
                         for r in _ranges(users)))

        def channel_chunks() -> Iterator[str]:
            for r in _ranges(channels):
                yield _lines(
                    f"{channel_uuid(i)}\t{synthetic_channel_id(i)}\tChannel {i}\tAbout channel {i}\t"
                    f"https://www.youtube.com/channel/{synthetic_channel_id(i)}\t{1000 + i % 5000}\t"
                    f"weekly\t{shard_of(synthetic_channel_id(i))}\t{BASE_TS}\t{BASE_TS}\t{BASE_TS}\t{BASE_TS}\n"
                    for i in r)

        n_channels = _copy(conn, "videos_channel",
                           "uuid, channel_id, title, description, url, subscriber_count, update_frequency, shard, "
                           "last_updated, next_refresh_at, created_at, updated_at", channel_chunks())

        # Subscriptions: every followed channel 1-2 active ones; every other orphan one inactive one.
        def sub_chunks() -> Iterator[str]:
            sid = 0
            buf = io.StringIO()
            for i in range(channels):
                if i in orphan_set:
                    if (i // layout["step"]) % 2 == 0:
                        continue
                    subs = ((i * 7 + 3) % users + 1, "f"),
                else:
                    subs = ((i * 7 + 3) % users + 1, "t"),
                    second = (i * 13 + 5) % users + 1
                    if i % 2 and second != subs[0][0]:
                        subs += ((second, "t"),)
                for user, active in subs:
                    sid += 1
                    buf.write(f"{sid}\t{user}\t{channel_uuid(i)}\t{BASE_TS}\t{active}\t{BASE_TS}\t{BASE_TS}\n")
                if buf.tell() > 8_000_000:
                    yield buf.getvalue()
                    buf = io.StringIO()
            yield buf.getvalue()

        n_subs = _copy(conn, "users_userchannel",
                       "id, user_id, channel_id, subscribed_at, is_active, created_at, updated_at", sub_chunks())

        # Videos: ordinary channels 0..5 (mean ~3); the "big" orphans 120 each, numbered after the rest.
        counts = [(i * 2654435761 >> 7) % 6 if i not in big else 0 for i in range(channels)]
        ordinary = sum(counts)
        big_list = layout["heavy"] + layout["wide"]

        def video_rows() -> Iterator[tuple[int, int]]:
            v = 0
            for i, c in enumerate(counts):
                for _ in range(c):
                    yield v, i
                    v += 1
            for i in big_list:
                for _ in range(HEAVY_VIDEOS):
                    yield v, i
                    v += 1

        def video_chunks() -> Iterator[str]:
            buf = io.StringIO()
            for n, (v, i) in enumerate(video_rows(), 1):
                buf.write(f"{video_uuid(v)}\t{video_key(v)}\t{channel_uuid(i)}\tUpload {v}\t{BASE_TS}\t{60 + v % 3000}\t"
                          f"{v % 100000}\t{synthetic_channel_id(i)}\t{BASE_TS}\t{BASE_TS}\n")
                if n % CHUNK_ROWS == 0:
                    yield buf.getvalue()
                    buf = io.StringIO()
            yield buf.getvalue()

        n_videos = _copy(conn, "videos_video",
                         "uuid, video_id, channel_id, title, published_at, duration, view_count, channel_id_snapshot, "
                         "created_at, updated_at", video_chunks())

        # Watch rows: HEAVY_WATCH per heavy orphan (distinct users over its 120 videos), the rest spread
        # over every ordinary video, (user, video) unique by construction.
        heavy_first_video = ordinary  # heavy orphans come first in big_list
        spread = max(watch_rows - HEAVY_ORPHANS * HEAVY_WATCH, 0)

        def watch_chunks() -> Iterator[str]:
            wid = 0
            buf = io.StringIO()
            for h in range(len(layout["heavy"])):
                base = heavy_first_video + h * HEAVY_VIDEOS
                for k in range(HEAVY_WATCH):
                    wid += 1
                    buf.write(f"{wid}\t{k + 1}\t{video_uuid(base + k % HEAVY_VIDEOS)}\tt\t{BASE_TS}\t{BASE_TS}\t{BASE_TS}\n")
            yield buf.getvalue()
            for r in _ranges(spread):
                buf = io.StringIO()
                for w in r:
                    v = w % ordinary
                    k = w // ordinary
                    user = (v * 7919 + k * 104_729) % users + 1
                    wid += 1
                    buf.write(f"{wid}\t{user}\t{video_uuid(v)}\tt\t{BASE_TS}\t{BASE_TS}\t{BASE_TS}\n")
                yield buf.getvalue()

        n_watch = _copy(conn, "users_uservideo",
                        "id, user_id, video_id, is_watched, watched_at, created_at, updated_at", watch_chunks())
        return {"users": n_users, "channels": n_channels, "subscriptions": n_subs, "videos": n_videos,
                "watch_rows": n_watch, "orphans": len(layout["orphans"]),
                "expected_held": len(layout["heavy"]) + len(layout["wide"])}

    return fill


VIDEO_WATCH_EVERY = 20     # every 20th video watched in the last 30 days (5%) ...
VIDEO_OLD_WATCH_OFFSET = 10  # ... and every 20th from the 10th on watched 200-400 days ago (5%)


def video_layout(videos: int, seed: int, per_channel: int) -> tuple[int, list[tuple[int, str, float]]]:
    """(channels used, [(channel index, video id, published ts)]): the newest ``per_channel`` uploads of
    the world's channels 0, 1, ... at its start clock until ``videos`` are taken. These are the world's
    own ids, so videos.list finds them; the emulator serves a world of exactly ``channels used``."""
    from channel_assets.emulator.world import World

    world = World(max(videos, 1), seed)  # the ids of channel i do not depend on the world's size
    out: list[tuple[int, str, float]] = []
    i = 0
    while len(out) < videos:
        out += [(i, vid, ts) for vid, ts in world.uploads(i, 0, min(per_channel, videos - len(out)))]
        i += 1
    return i, out


def fill_videos(videos: int, seed: int, per_channel: int, full_pages: bool = False,
                scheduled: bool = True) -> Callable[[psycopg.Connection], dict]:
    """Channels (refreshed, one follower each) and ``videos`` of their videos never refreshed by the video
    metadata refresh, stale text and counts (a write that misses a row shows in the world check); users,
    5% of the videos watched in the last 30 days before the build, 5% long before.

    ``full_pages``: videos_video's rows are written with fillfactor 100 (its storage parameter put back
    after), as in an app database adopted after the app filled its pages: no room for an updated row
    version on the same page until the rows have moved once.

    ``scheduled``: each video has its video_refresh_schedule row as the pipeline's own ``ensure_scheduled``
    statement makes it (due at once, never refreshed), made here with nested loops off: on a schedule table
    the planner believes empty, that statement's anti-join re-scans the table it is filling once per video
    (quadratic: 10k 1.3 s, 100k 202 s). Without it, the measured run makes them itself."""

    def fill(conn: psycopg.Connection) -> dict:
        from datetime import UTC, datetime, timedelta

        from channel_assets.db.core.sharding import shard_of
        from channel_assets.emulator.world import channel_ids

        channels, layout = video_layout(videos, seed, per_channel)
        ids = channel_ids(channels, seed)
        users = max(1000, videos // 50)
        built = datetime.now(UTC).replace(microsecond=0)
        n_users = _copy(conn, "users_user", "id, username, is_active, last_login, created_at",
                        (_lines(f"{u + 1}\tvuser{u + 1:08d}\tt\t{BASE_TS}\t{BASE_TS}\n" for u in r)
                         for r in _ranges(users)))
        n_channels = _copy(
            conn, "videos_channel", "uuid, channel_id, url, update_frequency, shard, last_updated, next_refresh_at, "
            "is_available, created_at, updated_at",
            (_lines(f"{channel_uuid(i)}\t{ids[i]}\thttps://www.youtube.com/channel/{ids[i]}\tweekly\t"
                    f"{shard_of(ids[i])}\t{BASE_TS}\t2099-01-01 00:00:00+00\tt\t{BASE_TS}\t{BASE_TS}\n" for i in r)
             for r in _ranges(channels)))
        n_subs = _copy(conn, "users_userchannel", "id, user_id, channel_id, subscribed_at, is_active, created_at, "
                       "updated_at", (_lines(f"{i + 1}\t{(i * 7 + 3) % users + 1}\t{channel_uuid(i)}\t{BASE_TS}\tt\t"
                                             f"{BASE_TS}\t{BASE_TS}\n" for i in r) for r in _ranges(channels)))

        def video_chunks() -> Iterator[str]:
            for r in _ranges(len(layout)):
                buf = io.StringIO()
                for v in r:
                    i, vid, ts = layout[v]
                    published = datetime.fromtimestamp(ts, UTC).isoformat()
                    buf.write(f"{video_uuid(v)}\t{vid}\t{channel_uuid(i)}\tStale title {v}\tStale description\t"
                              f"{published}\t{v % 1000}\t{ids[i]}\t{BASE_TS}\t{BASE_TS}\n")
                yield buf.getvalue()

        options = conn.execute("SELECT reloptions FROM pg_class WHERE oid = 'videos_video'::regclass").fetchone()[0]
        if full_pages:
            conn.execute("ALTER TABLE videos_video SET (fillfactor = 100)")
        n_videos = _copy(conn, "videos_video", "uuid, video_id, channel_id, title, description, published_at, "
                         "view_count, channel_id_snapshot, created_at, updated_at", video_chunks())
        if full_pages:
            conn.execute("ALTER TABLE videos_video RESET (fillfactor)")
            for option in options or ():
                conn.execute(f"ALTER TABLE videos_video SET ({option})")

        def watch_chunks() -> Iterator[str]:
            for r in _ranges(len(layout)):
                buf = io.StringIO()
                for v in r:
                    if v % VIDEO_WATCH_EVERY == 0:
                        when = built - timedelta(days=1 + v // VIDEO_WATCH_EVERY % 28, hours=v % 24)
                    elif v % VIDEO_WATCH_EVERY == VIDEO_OLD_WATCH_OFFSET:
                        when = built - timedelta(days=200 + v // VIDEO_WATCH_EVERY % 200)
                    else:
                        continue
                    ts = when.isoformat()
                    buf.write(f"{v + 1}\t{(v * 7919) % users + 1}\t{video_uuid(v)}\tt\t{ts}\t{ts}\t{ts}\n")
                yield buf.getvalue()

        n_watch = _copy(conn, "users_uservideo", "id, user_id, video_id, is_watched, watched_at, created_at, "
                        "updated_at", watch_chunks())
        n_scheduled = 0
        if scheduled:
            from channel_assets.db.videos.selection import _ENSURE

            conn.execute("SET enable_nestloop = off")
            n_scheduled = conn.execute(_ENSURE).rowcount
            conn.execute("RESET enable_nestloop")
        return {"schedule_rows": n_scheduled,"users": n_users, "channels": n_channels, "subscriptions": n_subs, "videos": n_videos,
                "watch_rows": n_watch, "per_channel": per_channel, "watched_recently_as_of": built.isoformat(),
                "video_pages": "full (fillfactor 100 when written)" if full_pages else f"as the schema says ({options})"}

    return fill


SENSOR_CHANNELS = 500_000


def fill_sensor(subscriptions: int) -> Callable:
    channels = min(SENSOR_CHANNELS, max(subscriptions // 4, 1000))
    users = max(subscriptions // 20, 1000)

    def fill(conn: psycopg.Connection) -> dict:
        from channel_assets.db.core.sharding import shard_of

        n_users = _copy(conn, "users_user", "id, username, is_active, last_login, created_at",
                        (_lines(f"{u + 1}\tuser{u + 1:08d}\tt\t{BASE_TS}\t{BASE_TS}\n" for u in r)
                         for r in _ranges(users)))
        n_channels = _copy(conn, "videos_channel",
                           "uuid, channel_id, title, url, update_frequency, shard, last_updated, next_refresh_at, "
                           "created_at, updated_at",
                           (_lines(f"{channel_uuid(i)}\t{synthetic_channel_id(i)}\tChannel {i}\t"
                                   f"https://www.youtube.com/channel/{synthetic_channel_id(i)}\tweekly\t"
                                   f"{shard_of(synthetic_channel_id(i))}\t{BASE_TS}\t2099-01-01 00:00:00+00\t"
                                   f"{BASE_TS}\t{BASE_TS}\n" for i in r) for r in _ranges(channels)))

        def sub_chunks() -> Iterator[str]:
            for r in _ranges(subscriptions):
                buf = io.StringIO()
                for s in r:
                    c = s % channels
                    k = s // channels
                    user = (c * 7919 + k * 104_729) % users + 1
                    # updated_at ascending with id, spread over 30 days before the bench's "now"
                    minute = s * 43_200 // subscriptions
                    ts = f"2025-12-{2 + minute // 1440:02d} {minute % 1440 // 60:02d}:{minute % 60:02d}:00+00"
                    buf.write(f"{s + 1}\t{user}\t{channel_uuid(c)}\t{ts}\tt\t{ts}\t{ts}\n")
                yield buf.getvalue()

        n_subs = _copy(conn, "users_userchannel",
                       "id, user_id, channel_id, subscribed_at, is_active, created_at, updated_at", sub_chunks())
        return {"users": n_users, "channels": n_channels, "subscriptions": n_subs}

    return fill


APP_ORPHAN_EVERY = 50       # every 50th channel has no subscription (an orphan for the cleanup)
APP_POPULAR_SHARE = 100     # the first 1/100 of the channels (by uuid) ...
APP_POPULAR_FOLLOWERS = 20  # ... have 20 more followers
APP_VIDEOS_PER_CHANNEL = 2
APP_WATCH_PER_USER = 5


def _count(conn: psycopg.Connection, table: str) -> int:
    return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def fill_app_rows(conn: psycopg.Connection) -> dict:
    """The app's rows the population lacks, set-based and deterministic (see the module doc)."""
    added: dict = {}
    channels = _count(conn, "videos_channel")
    users = max(min(channels // 5, 200_000), 1000)
    numbered = "(SELECT uuid, row_number() OVER (ORDER BY uuid) AS n FROM videos_channel)"
    if _count(conn, "users_user") == 0:
        conn.execute("INSERT INTO users_user (id, username, is_active, last_login, created_at) "
                     "SELECT g, 'appuser' || g, true, %s, %s FROM generate_series(1, %s) AS g",
                     (BASE_TS, BASE_TS, users))
        added["users"] = users
    if _count(conn, "users_userchannel") == 0:
        conn.execute(
            "INSERT INTO users_userchannel (user_id, channel_id, subscribed_at, is_active, created_at, updated_at) "
            f"SELECT (c.n * 7 + 3) %% %s + 1, c.uuid, %s, true, %s, %s FROM {numbered} AS c WHERE c.n %% %s <> 0",
            (users, BASE_TS, BASE_TS, BASE_TS, APP_ORPHAN_EVERY))
        conn.execute(
            "INSERT INTO users_userchannel (user_id, channel_id, subscribed_at, is_active, created_at, updated_at) "
            f"SELECT (c.n * 13 + k * 104729) %% %s + 1, c.uuid, %s, true, %s, %s FROM {numbered} AS c "
            "CROSS JOIN generate_series(1, %s) AS k WHERE c.n <= %s AND c.n %% %s <> 0 ON CONFLICT DO NOTHING",
            (users, BASE_TS, BASE_TS, BASE_TS, APP_POPULAR_FOLLOWERS, max(channels // APP_POPULAR_SHARE, 1),
             APP_ORPHAN_EVERY))
        added["subscriptions"] = _count(conn, "users_userchannel")
    if _count(conn, "videos_video") == 0:
        conn.execute(
            "INSERT INTO videos_video (uuid, video_id, channel_id, title, description, published_at, created_at, "
            "updated_at) SELECT md5(c.uuid::text || k)::uuid, 'app' || lpad(((c.n - 1) * %s + k)::text, 8, '0'), "
            f"c.uuid, 'Imported ' || k, '', %s::timestamptz - k * interval '1 day', %s, %s FROM {numbered} AS c "
            "CROSS JOIN generate_series(1, %s) AS k",
            (APP_VIDEOS_PER_CHANNEL, BASE_TS, BASE_TS, BASE_TS, APP_VIDEOS_PER_CHANNEL))
        added["videos"] = _count(conn, "videos_video")
    if _count(conn, "users_uservideo") == 0:
        videos = _count(conn, "videos_video")
        conn.execute(
            "INSERT INTO users_uservideo (user_id, video_id, is_watched, watched_at, created_at, updated_at) "
            "SELECT g %% %s + 1, v.uuid, true, %s, %s, %s FROM generate_series(0, %s) AS g "
            "JOIN (SELECT uuid, row_number() OVER (ORDER BY uuid) AS n FROM videos_video) AS v "
            "ON v.n = (g::bigint * 7919) %% %s + 1 ON CONFLICT DO NOTHING",
            (users, BASE_TS, BASE_TS, BASE_TS, users * APP_WATCH_PER_USER - 1, videos))
        added["watch_rows"] = _count(conn, "users_uservideo")
    for table in ("users_user", "users_userchannel", "users_uservideo"):
        _setval(conn, table)
    return added


def app_ready_template(base: str, scenario: str, scale: str, seed: int, rebuild: bool = False) -> tuple[str, dict]:
    """``base`` when it has app users already, else a template derived from it with ``fill_app_rows``."""
    with psycopg.connect(pg_dsn(base)) as conn:
        has_users = conn.execute("SELECT EXISTS (SELECT 1 FROM users_user)").fetchone()[0]
    if has_users:
        return base, {"app_rows": "in the population"}
    name = template_name(f"{scenario}app", scale, seed)

    def build(url: str) -> dict:
        with psycopg.connect(pg_dsn(url.rsplit("/", 1)[1])) as conn:
            added = fill_app_rows(conn)
        with psycopg.connect(pg_dsn(url.rsplit("/", 1)[1]), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        return {"derived_from": base, "app_rows_added": added}

    return name, ensure_template(name, build, rebuild, base=base)


def refresh_template(channels: int, seed: int, drop_indexes: bool = True, rebuild: bool = False) -> tuple[str, dict]:
    name = template_name("refresh", str(channels), seed)
    return name, ensure_template(name, lambda url: _bulk(url, fill_refresh(channels, seed), drop_indexes), rebuild)


def uploads_template(channels: int, seed: int, rebuild: bool = False) -> tuple[str, dict]:
    name = template_name("uploads", str(channels), seed)
    return name, ensure_template(name, lambda url: _bulk(url, fill_uploads(channels, seed)), rebuild)


def cleanup_template(channels: int, orphans: int, watch_rows: int, drop_indexes: bool = True,
                     rebuild: bool = False) -> tuple[str, dict]:
    name = template_name("cleanup", f"{channels}_{orphans}_{watch_rows}", 0)
    return name, ensure_template(
        name, lambda url: _bulk(url, fill_cleanup(channels, orphans, watch_rows), drop_indexes), rebuild)


def sensor_template(subscriptions: int, drop_indexes: bool = True, rebuild: bool = False) -> tuple[str, dict]:
    name = template_name("sensor", str(subscriptions), 0)
    return name, ensure_template(name, lambda url: _bulk(url, fill_sensor(subscriptions), drop_indexes), rebuild)


def videos_template(videos: int, seed: int, per_channel: int, full_pages: bool = False, scheduled: bool = True,
                    rebuild: bool = False) -> tuple[str, dict]:
    variant = f"{'_full' if full_pages else ''}{'_sch' if scheduled else ''}"
    name = template_name("videos", f"{videos}_{per_channel}{variant}", seed)
    return name, ensure_template(
        name, lambda url: _bulk(url, fill_videos(videos, seed, per_channel, full_pages, scheduled)), rebuild)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("population", choices=["refresh", "uploads", "cleanup", "sensor", "videos"])
    p.add_argument("--videos", type=int, default=100_000)
    p.add_argument("--per-channel", type=int, default=50)
    p.add_argument("--channels", type=int, default=100_000)
    p.add_argument("--orphans", type=int, default=20_000)
    p.add_argument("--watch-rows", type=int, default=10_000_000)
    p.add_argument("--subscriptions", type=int, default=10_000_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--rebuild", action="store_true")
    p.add_argument("--compare-index-modes", action="store_true",
                   help="build twice (indexes dropped around COPY vs kept) into scratch databases and report both")
    args = p.parse_args()

    def build(drop: bool, rebuild: bool) -> tuple[str, dict]:
        if args.population == "refresh":
            return refresh_template(args.channels, args.seed, drop, rebuild)
        if args.population == "uploads":
            return uploads_template(args.channels, args.seed, rebuild)
        if args.population == "videos":
            return videos_template(args.videos, args.seed, args.per_channel, rebuild=rebuild)
        if args.population == "cleanup":
            return cleanup_template(args.channels, args.orphans, args.watch_rows, drop, rebuild)
        return sensor_template(args.subscriptions, drop, rebuild)

    if args.compare_index_modes:
        from bench import common

        out = {}
        for drop in (True, False):
            common.GENERATOR_VERSION = f"cmp{int(drop)}"
            name, info = build(drop, True)
            out["drop_indexes" if drop else "keep_indexes"] = info
            common.drop_database(name)
        emit(out)
        return
    name, info = build(True, args.rebuild)
    log(json.dumps(info))
    emit({"template": name, **info})


if __name__ == "__main__":
    main()
