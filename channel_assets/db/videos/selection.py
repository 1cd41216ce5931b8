"""Which videos a cycle refreshes: the schedule rows, the due selection, requests by id.

A video's shard is its own id's hash (`hashtext(video_id) & 15`), not its channel's: videos outlive their
channel (a removed channel's videos are kept with a NULL link), the id never changes, and the hash needs
no join, so every video of a shard is found from video_refresh_schedule's (shard, due_at) index alone.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

import numpy as np
from sqlalchemy import Engine

from channel_assets.db.core.engine import transaction
from channel_assets.db.core.sharding import SHARD_COUNT
from channel_assets.db.videos.tiering import RANK, TIERS, WATCHED, VideoTierRules, rank_case, tier_case

SHARD_SQL = f"(hashtext({{v}}.video_id) & {SHARD_COUNT - 1})"

# Within a tier, rows in the order of the heap pages they sit on, one row per page at a time across a window
# of pages: a page's rows then go out in consecutive write groups, not one, so each group's update finds room
# on the page (HOT, no index entries) once the previous group committed; and a page is written within one
# checkpoint interval, one full-page image instead of one per row (video-id order scattered a group over
# ~5,000 pages: 1.1M full-page images, 8.5 GB of WAL at 1M videos).
# Two windows. Rows refreshed before are at full size: 8,192 pages (64 MB) put at most one row of a page in a
# 5,000-row group, and 95% of a second pass's updates stay on their page. Rows never refreshed grow on their
# first write (the app stored less than the API gives) and most must leave their page anyway: 2,048 pages
# (16 MB), small beside the buffer pool, since each page is visited once per line pointer and a 64 MB window's
# pages were evicted between visits by the indexes' random pages and read and written again (14% of the
# server's samples in perf, with PostgreSQL's default 128 MB of shared_buffers). At 1M never-refreshed
# videos: HOT 41% against 46%, yet the server's CPU 57-63 s against 69-74 s (README, the video refresh).
# The order is ONE float8 key per row, (window, line pointer, page) packed exactly (a line pointer is under
# 2048, a page number under 2^32: the key stays under 2^43), from one ctid-to-point conversion in a fenced
# subquery. Three keys, each converting the ctid again, were 3 of the 4.8 s a 1M-row selection took.
PAGE_WINDOW, FIRST_WINDOW = 8192, 2048


def page_key(window: int) -> str:
    """The packed (window, line pointer, page) key of the row whose ctid point is `x.tid`."""
    w = f"floor(x.tid[0] / {window})"
    return f"{w} * {2048 * window} + x.tid[1] * {window} + (x.tid[0] - {w} * {window})"


# A never refreshed row's `x.refreshed` is -infinity; the rows one key compares share it, so share a window.
DUE_PAGE_KEY = (f"CASE WHEN x.refreshed = '-infinity' THEN {page_key(FIRST_WINDOW)} "
                f"ELSE {page_key(PAGE_WINDOW)} END")

# Videos the app (or the uploads pass) inserted since the last cycle get their schedule row: due at once.
_ENSURE = f"""
INSERT INTO video_refresh_schedule (video_uuid, shard, due_at)
SELECT v.uuid, {SHARD_SQL.format(v='v')}, '-infinity'::timestamptz FROM videos_video v
WHERE NOT EXISTS (SELECT 1 FROM video_refresh_schedule s WHERE s.video_uuid = v.uuid)
ON CONFLICT (video_uuid) DO NOTHING"""

# Due: the schedule says so (index on (shard, due_at)), or requested (index on the marker), or watched in
# the window (index on watched_at) and not refreshed for the watched tier's interval. The answer is ONE row
# of three packed columns in spending order: the uuids' 16 bytes each, the video ids NUL-separated (text
# never holds a NUL), the tier ranks as int2 (`{keys}`: two more, the other sort keys, when the shards are
# selected in two halves: _due_part). A row per video, read through a server-side cursor, cost
# the pipeline ~1.4 s at a million (a Python loader call and a tuple per row); the aggregate reads the
# sorted subquery in its order (no parallel plan: _due_part turns it off). The sort's rows carry its
# three keys first, fixed-width and never NULL (a never refreshed row's time is -infinity: first, as NULLS
# FIRST was), the id text last: every comparison past the first key reads a column whose offset is known,
# where a key behind the varlena id or a NULL had each comparison walk the row (14% of the statement, which
# now takes 2.4 s instead of 2.7 s at a million).
_DUE = f"""
WITH w AS ({WATCHED}),
due AS (
    SELECT s.video_uuid FROM video_refresh_schedule s WHERE s.shard = ANY(%(shards)s) AND s.due_at <= %(now)s
    UNION
    SELECT v.uuid FROM videos_video v
    WHERE v.metadata_refresh_requested_at IS NOT NULL AND {SHARD_SQL.format(v='v')} = ANY(%(shards)s)
    UNION
    SELECT s.video_uuid FROM w JOIN video_refresh_schedule s ON s.video_uuid = w.video_id
    WHERE s.shard = ANY(%(shards)s) AND (s.refreshed_at IS NULL OR s.refreshed_at <= %(watched_due)s)
)
SELECT string_agg(uuid_send(x.uuid), ''::bytea), string_agg(convert_to(x.video_id, 'UTF8'), '\\x00'::bytea),
       string_agg(int2send(x.rank::int2), ''::bytea){{keys}}
FROM (
    SELECT * FROM (
        SELECT x.rank, x.refreshed, {DUE_PAGE_KEY} AS page_key, x.uuid, x.video_id FROM (
            SELECT {rank_case()} AS rank, coalesce(s.refreshed_at, '-infinity') AS refreshed,
                   v.ctid::text::point AS tid, v.uuid, v.video_id
            FROM due
            JOIN videos_video v ON v.uuid = due.video_uuid
            LEFT JOIN video_refresh_schedule s ON s.video_uuid = v.uuid
            LEFT JOIN w ON w.video_id = v.uuid
            OFFSET 0) x
        OFFSET 0) x
    ORDER BY x.rank, x.refreshed, x.page_key) x"""

_BY_ID = f"""
WITH w AS ({WATCHED})
SELECT v.uuid, v.video_id, {tier_case()} AS tier FROM videos_video v LEFT JOIN w ON w.video_id = v.uuid
WHERE v.video_id = ANY(%(ids)s) ORDER BY v.video_id, v.uuid"""

_REQUEST = """
WITH r AS (
    UPDATE videos_video SET metadata_refresh_requested_at = %(now)s
    WHERE video_id = ANY(%(ids)s) AND metadata_refresh_requested_at IS NULL RETURNING uuid)
SELECT count(*) FROM r"""


@dataclass(frozen=True, slots=True)
class DueVideo:
    uuid: uuid.UUID
    video_id: str
    tier: str


class DueVideos(Sequence[DueVideo]):
    """Due videos, packed: 16 bytes of uuid and a tier code per row beside the id strings, about 90 bytes a
    row against some 300 as DueVideo objects (a million due videos must fit the run's 500 MB). Rows of one
    video id (stored once per channel) are adjacent once `with_ids_adjacent` has run, so a batch of
    distinct ids is a run of rows. Built from (uuid, video id, tier) rows, the uuid a `uuid.UUID` or its 16
    bytes (db.core.uuid_bytes). Indexing gives a DueVideo, slicing another DueVideos."""

    __slots__ = ("_uuids", "_ids", "_tiers")

    def __init__(self, rows: Iterable[tuple[uuid.UUID | bytes, str, str]] = ()) -> None:
        self._uuids, self._ids, self._tiers = bytearray(), [], bytearray()
        for row_uuid, video_id, tier in rows:
            self._uuids += row_uuid if type(row_uuid) is bytes else row_uuid.bytes
            self._ids.append(video_id)
            self._tiers.append(RANK[tier])

    @classmethod
    def of(cls, videos: Iterable[DueVideo]) -> DueVideos:
        """Packed from DueVideo objects in their order, the later rows of an id moved up beside its first."""
        if isinstance(videos, DueVideos):
            return videos
        return cls((v.uuid, v.video_id, v.tier) for v in videos).with_ids_adjacent()

    def with_ids_adjacent(self) -> DueVideos:
        """The same rows, each video id's later rows moved up beside its first. An id stored under two
        channels is rare: one set of the ids shows there is none, and then nothing is copied."""
        ids = self._ids
        if len(set(ids)) == len(ids):
            return self
        seen: set[str] = set()
        repeated: set[str] = set()
        for vid in ids:
            (repeated if vid in seen else seen).add(vid)
        rows_of: dict[str, list[int]] = {}
        for i, vid in enumerate(ids):
            if vid in repeated:
                rows_of.setdefault(vid, []).append(i)
        order: list[int] = []
        for i, vid in enumerate(ids):
            if vid not in repeated:
                order.append(i)
            elif rows_of[vid][0] == i:
                order += rows_of[vid]
        return self._take(order)

    @classmethod
    def packed(cls, uuids: bytes, ids: list[str], tier_codes: bytes) -> DueVideos:
        """From the packed columns themselves: 16 bytes of uuid per row, the ids, a tier's RANK per row."""
        if not len(uuids) == 16 * len(ids) == 16 * len(tier_codes):
            raise ValueError(f"{len(uuids)} uuid bytes, {len(ids)} ids and {len(tier_codes)} tiers do not pack")
        part = cls()
        part._uuids, part._ids, part._tiers = uuids, ids, tier_codes  # read only from here on: no copies
        return part

    def _take(self, rows: list[int]) -> DueVideos:
        part = DueVideos()
        part._ids = [self._ids[i] for i in rows]
        part._tiers = bytearray(self._tiers[i] for i in rows)
        part._uuids = bytearray(b"".join(self._uuids[16 * i:16 * i + 16] for i in rows))
        return part

    def __len__(self) -> int:
        return len(self._ids)

    def __getitem__(self, i):
        if isinstance(i, slice):
            start, stop, step = i.indices(len(self))
            if step != 1:
                raise ValueError("DueVideos slices are contiguous")
            part = DueVideos()
            part._uuids, part._ids = self._uuids[16 * start:16 * stop], self._ids[start:stop]
            part._tiers = self._tiers[start:stop]
            return part
        if i < 0:
            i += len(self)
        return DueVideo(uuid.UUID(bytes=bytes(self._uuids[16 * i:16 * i + 16])), self._ids[i], TIERS[self._tiers[i]])

    def __iter__(self) -> Iterator[DueVideo]:
        return (self[i] for i in range(len(self)))

    def keeping_ids(self, keep: Callable[[str], bool]) -> DueVideos:
        """The rows whose video id passes `keep`, still packed."""
        kept = [i for i, vid in enumerate(self._ids) if keep(vid)]
        return self if len(kept) == len(self) else self._take(kept)

    def video_ids(self) -> list[str]:
        return list(self._ids)

    def distinct_ids(self) -> int:
        return sum(1 for a, b in pairwise([None, *self._ids]) if a != b)

    def rows_of_first_ids(self, n: int) -> int:
        """How many rows the first `n` distinct video ids take."""
        seen = 0
        for i, (a, b) in enumerate(pairwise([None, *self._ids])):
            if a != b:
                if seen == n:
                    return i
                seen += 1
        return len(self)

    def id_batches(self, max_ids: int) -> Iterator[tuple[list[str], list[tuple[bytes, str]], list[str]]]:
        """Consecutive runs of rows holding up to `max_ids` distinct video ids: (the distinct ids, the rows'
        (uuid bytes, video id) pairs, their tiers), straight from the packed arrays (no object per uuid)."""
        ids, n, start = self._ids, len(self._ids), 0
        while start < n:
            distinct: list[str] = []
            end = start
            while end < n:
                vid = ids[end]
                if not distinct or distinct[-1] != vid:
                    if len(distinct) == max_ids:
                        break
                    distinct.append(vid)
                end += 1
            raw = bytes(self._uuids[16 * start:16 * end])
            rows = [(raw[16 * k:16 * k + 16], ids[start + k]) for k in range(end - start)]
            yield distinct, rows, [TIERS[code] for code in self._tiers[start:end]]
            start = end

    def tier_counts(self) -> dict[str, int]:
        return {TIERS[code]: n for code, n in sorted(Counter(self._tiers).items(), key=lambda c: TIERS[c[0]])}


def ensure_scheduled(engine: Engine) -> int:
    """Give every video without a schedule row one, due now; returns how many got one.

    A hash anti-join, always: on the first run the schedule table's statistics say it is empty, and a nested
    loop would scan it once per video while the same statement fills it (202 s at 100k videos, 1.4 s hashed)."""
    with transaction(engine) as conn, conn.connection.driver_connection.cursor() as cur:
        cur.execute("SET LOCAL enable_nestloop = off")
        cur.execute(_ENSURE)
        return cur.rowcount


def select_due_videos(engine: Engine, shards: Sequence[int], now: datetime, rules: VideoTierRules) -> DueVideos:
    """Due videos of the shards in spending order: requested, daily, watched, weekly, monthly; never
    refreshed first within a tier, then the longest unrefreshed; the other rows of a video id right after
    its first."""
    ensure_scheduled(engine)
    shards = list(shards)
    if len(shards) < 2:
        return _packed(_due_part(engine, shards, now, rules, keyed=False)).with_ids_adjacent()
    with ThreadPoolExecutor(2, thread_name_prefix="due-selection") as pool:
        halves = list(pool.map(lambda part: _due_part(engine, part, now, rules, keyed=True),
                               (shards[::2], shards[1::2])))
    return _merged(halves).with_ids_adjacent()


# The statement is one backend's work, so alone it left one of two cores idle for its 3-4 s at a million
# due videos (a parallel plan does not keep the aggregate's order). Two halves of the shards run at once,
# each on its own connection, and each answers its rows' sort keys as well, packed: rank, refreshed time
# (timestamptz_send: microseconds, -infinity the least) and page key. A row's page key is unique within
# its (rank, refreshed) group, so merging the halves on the three keys gives the one statement's list,
# byte for byte (numpy's lexsort: ~0.1 s at a million rows). A video id's rows share its shard: one half.
def _due_part(engine: Engine, shards: list[int], now: datetime, rules: VideoTierRules, *, keyed: bool) -> tuple:
    keys = (", string_agg(timestamptz_send(x.refreshed), ''::bytea), string_agg(float8send(x.page_key), ''::bytea)"
            if keyed else "")
    with transaction(engine) as conn:
        raw = conn.connection.driver_connection
        raw.execute("SET LOCAL jit = off; SET LOCAL max_parallel_workers_per_gather = 0")
        with raw.execute(_DUE.replace("{keys}", keys), rules.params(now) | {"shards": shards}, binary=True) as cur:
            return cur.fetchone()  # the cursor's copy of the ~30 MB answer goes as it closes


def _packed(part: Sequence) -> DueVideos:
    uuids, ids, ranks = part[:3]
    if uuids is None:
        return DueVideos()
    return DueVideos.packed(uuids, ids.decode().split("\x00"), ranks[1::2])


def _merged(halves: list[tuple]) -> DueVideos:
    """The halves' rows in the order of their keys (rank, refreshed time, page key). It consumes `halves`
    and lets each packed column go once merged, so the peak memory stays near one statement's."""
    parts = [list(h) for h in halves if h[0] is not None]
    halves.clear()
    if len(parts) < 2:
        return _packed(parts[0]) if parts else DueVideos()
    rank = _column(parts, 2, ">i2")
    order = np.lexsort((_column(parts, 4, ">f8"), _column(parts, 3, ">i8"), rank))
    tiers = rank[order].astype(np.uint8).tobytes()
    uuids = _column(parts, 0, "V16")[order].tobytes()
    ids: list[str] = []
    for part in parts:
        ids += part[1].decode().split("\x00")
        part[1] = None
    ids = np.array(ids, dtype=object)[order].tolist()  # no int object per row, as order.tolist() would make
    return DueVideos.packed(uuids, ids, tiers)


def _column(parts: list[list], n: int, dtype: str) -> np.ndarray:
    """Column `n` of the halves as one array; their packed bytes let go."""
    column = np.concatenate([np.frombuffer(part[n], dtype) for part in parts])
    for part in parts:
        part[n] = None
    return column


def videos_by_id(engine: Engine, video_ids: Sequence[str], now: datetime, rules: VideoTierRules) -> DueVideos:
    """The stored videos with these YouTube ids (a video id may be stored once per channel), with their tier."""
    with transaction(engine) as conn, conn.connection.driver_connection.cursor() as cur:
        cur.execute(_BY_ID, rules.params(now) | {"ids": list(video_ids)})
        return DueVideos(cur)


def request_refresh(engine: Engine, video_ids: Sequence[str], now: datetime) -> int:
    """Mark the videos for a refresh on the next run (what the app may also do itself); returns how many
    rows were newly marked (an already requested video keeps its first request time)."""
    with transaction(engine) as conn, conn.connection.driver_connection.cursor() as cur:
        cur.execute(_REQUEST, {"now": now, "ids": list(video_ids)})
        return cur.fetchone()[0]
