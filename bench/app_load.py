"""The gallery app's traffic as plain SQL, paced like users arrive, and what the pipeline's locks do to it.

``AppLoad`` runs N client processes (one connection each, ``application_name='gallery_app'``, ONE
transaction per request) and a lock sampler process. Requests arrive OPEN LOOP: each client draws
Poisson arrivals at rate/N per second and measures latency from the SCHEDULED arrival, so a request
stuck behind a lock delays the ones queued after it and the stall shows as their latency too (a closed
loop of back-to-back queries would saturate 2 cores alone and hide stalls). Request kinds, as the
Django app issues them (``channel_assets_tests/gallery_app``; Django writes every field on save()):

- ``channel_page``: the channel row and its 24 newest videos;
- ``feed``: the 50 newest videos of the channels the user actively follows;
- ``follow``: get-or-create the channel by YouTube id (re-created if the pipeline removed it), then
  re-activate or insert the subscription (every field written, ``updated_at`` = now);
- ``unfollow``: one of the user's active subscriptions saved with ``is_active`` false;
- ``watch``: the video row, then update_or_create of the watch row (SELECT ... FOR UPDATE, full write);
- ``import_video``: the channel row, then INSERT INTO videos_video naming every field of the app's model;
- ``admin_save``: SELECT the channel, UPDATE writing back every column read (``--admin-columns app``:
  the Django model's fields; ``all``: every column of the table), INSERT if the UPDATE matched no row
  (Django's save() does that: a channel the pipeline deleted meanwhile is re-inserted, counted).

Targets: channels from a sampled pool (Zipf: popular channels far more often), with ``doomed_share`` of
the channel-based requests aimed at ``doomed`` channels (default: the current orphans, i.e. what the
cleanup is about to remove; a scenario passes its own), which makes follows of them re-follows of
orphaned channels. Users from a sampled pool, split between clients (no two clients write one user's
rows), Zipf too; watched videos from what the client's channel pages showed.

Per request kind: count, p50, p99, max (ms) and outcomes: ``not_found`` (a 404: e.g. a removed channel,
not an error) and errors by SQLSTATE class: deadlock (40P01), lock_timeout (55P03), serialization
(40001), statement_timeout (57014), fk_deleted_row (23503 naming the very row the request read moments
before in its own transaction: the app never deletes channels or videos, so the pipeline removed it on
purpose), fk_other (any other 23503), other. Every error but fk_deleted_row counts as app-visible (a 500).

The sampler (``application_name='app_load_sampler'``) polls pg_stat_activity + pg_locks +
pg_blocking_pids every 100 ms and reports the longest time any gallery_app backend waited on a lock held
by the pipeline (every other client backend of the database: PostgreSQL's background processes and the
sampler excluded; a wait behind an app backend that itself waits on the pipeline counts too), with the
first 100 characters of the blocker's current statement (the lock may come from an earlier statement of
its transaction).

Library::

    with AppLoad(dsn, clients=4, rate=80) as load:
        run_job()
    report = load.report()

Command line (against an existing database, for a number of seconds; prints one JSON line)::

    .venv/bin/python bench/app_load.py --database NAME --seconds 30 [--clients 4] [--rate 80]
        [--mix channel_page=40,feed=25,...] [--doomed-share 0.1] [--admin-columns app|all]
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import math
import multiprocessing as mp
import queue
import random
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

APP_NAME = "gallery_app"
SAMPLER_NAME = "app_load_sampler"
DEFAULT_MIX = {"channel_page": 40, "feed": 25, "watch": 20, "follow": 4, "unfollow": 4, "import_video": 4,
               "admin_save": 3}
CHANNEL_KINDS = ("channel_page", "watch", "follow", "import_video", "admin_save")
RATE_PER_CLIENT = 20.0  # 80 requests/s for the 4 clients
SQLSTATE_CLASSES = {"40P01": "deadlock", "55P03": "lock_timeout", "40001": "serialization",
                    "57014": "statement_timeout"}
ERROR_CLASSES = ("deadlock", "lock_timeout", "serialization", "statement_timeout", "fk_deleted_row", "fk_other",
                 "other")
# The Django model's fields (channel_assets_tests/gallery_app): what its save() writes and create() inserts.
CHANNEL_APP_COLUMNS = ("uuid", "channel_id", "title", "description", "url", "last_updated", "update_frequency",
                       "subscriber_count", "video_count", "view_count", "is_available", "failed_update_count",
                       "created_at", "updated_at")
VIDEO_APP_COLUMNS = ("uuid", "video_id", "title", "description", "published_at", "channel_id",
                     "original_channel_metadata", "channel_title_snapshot", "channel_id_snapshot", "created_at",
                     "updated_at")
ZIPF_S = 1.1


def libpq_dsn(url_or_dsn: str) -> str:
    """SQLAlchemy URLs (postgresql+psycopg://...) as libpq understands them; libpq DSNs unchanged."""
    return url_or_dsn.replace("postgresql+psycopg://", "postgresql://", 1)


# -- what the load aims at --------------------------------------------------------------------------

@dataclass
class Targets:
    """Channels as (uuid, YouTube id), popular first; doomed channels; user ids, most active first."""

    channels: list[tuple[str, str]]
    doomed: list[tuple[str, str]]
    users: list[int]
    channel_columns: tuple[str, ...] = CHANNEL_APP_COLUMNS


def discover_targets(dsn: str, *, channel_pool: int = 5000, user_pool: int = 5000, seed: int = 1,
                     doomed: Sequence[tuple[str, str]] | None = None, doomed_pool: int = 2000,
                     admin_columns: str = "app") -> Targets:
    """Random samples of the database's live channels and active users (deterministic per seed); doomed
    channels are the current orphans (no active subscription, not held) unless given."""
    with psycopg.connect(libpq_dsn(dsn), autocommit=True, application_name=SAMPLER_NAME) as conn:
        channels = [(str(u), c) for u, c in conn.execute(
            "SELECT uuid, channel_id FROM videos_channel WHERE soft_deleted_at IS NULL "
            "ORDER BY md5(uuid::text || %s) LIMIT %s", (str(seed), channel_pool))]
        users = [u for (u,) in conn.execute(
            "SELECT id FROM users_user WHERE is_active ORDER BY md5(id::text || %s) LIMIT %s", (str(seed), user_pool))]
        if doomed is None:
            doomed = [(str(u), c) for u, c in conn.execute(
                "SELECT c.uuid, c.channel_id FROM videos_channel c WHERE c.removal_hold_reason IS NULL "
                "AND NOT EXISTS (SELECT 1 FROM users_userchannel s WHERE s.channel_id = c.uuid AND s.is_active) "
                "ORDER BY md5(c.uuid::text || %s) LIMIT %s", (str(seed), doomed_pool))]
        columns = CHANNEL_APP_COLUMNS
        if admin_columns == "all":
            columns = tuple(r[0] for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'videos_channel' "
                "AND table_schema = current_schema() ORDER BY ordinal_position"))
    return Targets(channels, [(str(u), c) for u, c in doomed], users, columns)


class Zipf:
    """Index i drawn with weight 1/(i+1)^s: the first items (the popular ones) far more often."""

    def __init__(self, n: int, s: float = ZIPF_S) -> None:
        self.cumulative = list(itertools.accumulate(1 / (i + 1) ** s for i in range(n)))

    def pick(self, rng: random.Random) -> int:
        return bisect.bisect_left(self.cumulative, rng.random() * self.cumulative[-1])


# -- one client ----------------------------------------------------------------------------------------

@dataclass
class LoadConfig:
    clients: int = 4
    rate: float = 80.0
    mix: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    seed: int = 1
    doomed_share: float = 0.1
    statement_timeout_ms: int = 30_000  # what a web worker's request timeout would cut
    drain_s: float = 60.0  # requests scheduled before the stop still run, for at most this long after it
    sample_interval_s: float = 0.1


class NotFound(Exception):
    """The request's row is gone (the app answers 404); not an error."""


class Client:
    """One app connection sending the requests one client was assigned, in its own process."""

    def __init__(self, dsn: str, config: LoadConfig, targets: Targets, index: int) -> None:
        self.config = config
        self.rng = random.Random(config.seed * 1000 + index)
        self.targets = targets
        self.users = targets.users[index::config.clients] or targets.users
        self.user_zipf = Zipf(len(self.users)) if self.users else None
        self.channel_zipf = Zipf(len(targets.channels)) if targets.channels else None
        self.kinds = [k for k, w in config.mix.items() if w > 0]
        self.weights = [config.mix[k] for k in self.kinds]
        self.videos: dict[str, list[str]] = {}  # channel uuid -> its newest videos, as its page showed them
        self.counters: dict[str, int] = defaultdict(int)
        self.examples: list[dict] = []
        self.fk_target: tuple[str, str] | None = None  # (table, uuid) the request read before writing a reference
        self.dsn = libpq_dsn(dsn)
        self.conn = self._connect()
        # Django's save(): every field the model holds written back, updated_at (auto_now) set to now
        self.written = [c for c in targets.channel_columns if c not in ("uuid", "updated_at")]
        stamp = ", updated_at = now()" if "updated_at" in targets.channel_columns else ""
        self.admin_update = f"UPDATE videos_channel SET {', '.join(f'{c} = %s' for c in self.written)}{stamp} WHERE uuid = %s"
        inserted = ["uuid", *self.written]
        self.admin_insert = (f"INSERT INTO videos_channel ({', '.join(inserted)}{', updated_at' if stamp else ''}) "
                             f"VALUES ({', '.join(['%s'] * len(inserted))}{', now()' if stamp else ''})")
        self.channel_select = f"SELECT {', '.join(targets.channel_columns)} FROM videos_channel WHERE uuid = %s"

    def _connect(self) -> psycopg.Connection:
        conn = psycopg.connect(self.dsn, application_name=APP_NAME)
        conn.execute(f"SET statement_timeout = {int(self.config.statement_timeout_ms)}")
        conn.commit()
        return conn

    # targets
    def channel(self) -> tuple[str, str]:
        doomed = self.targets.doomed and self.rng.random() < self.config.doomed_share
        if doomed or (self.targets.doomed and not self.targets.channels):
            return self.rng.choice(self.targets.doomed)
        if not self.targets.channels:
            raise NotFound
        return self.targets.channels[self.channel_zipf.pick(self.rng)]

    def user(self) -> int:
        if not self.users:
            raise NotFound
        return self.users[self.user_zipf.pick(self.rng)]

    # requests: each runs inside the open transaction; the caller commits
    def channel_page(self) -> None:
        channel_uuid, _ = self.channel()
        cur = self.conn.cursor()
        if cur.execute(f"SELECT {', '.join(CHANNEL_APP_COLUMNS)} FROM videos_channel WHERE uuid = %s",
                       (channel_uuid,)).fetchone() is None:
            raise NotFound
        self.videos[channel_uuid] = self._newest_videos(cur, channel_uuid)

    def _newest_videos(self, cur: psycopg.Cursor, channel_uuid: str) -> list[str]:
        rows = cur.execute(f"SELECT {', '.join(VIDEO_APP_COLUMNS)} FROM videos_video WHERE channel_id = %s "
                           "ORDER BY published_at DESC LIMIT 24", (channel_uuid,)).fetchall()
        return [str(r[0]) for r in rows]

    def feed(self) -> None:
        self.conn.execute(
            f"SELECT {', '.join('v.' + c for c in VIDEO_APP_COLUMNS)} FROM videos_video v "
            "WHERE v.channel_id IN (SELECT s.channel_id FROM users_userchannel s WHERE s.user_id = %s AND s.is_active) "
            "ORDER BY v.published_at DESC LIMIT 50", (self.user(),)).fetchall()

    def watch(self) -> None:
        user = self.user()
        channel_uuid, _ = self.channel()
        cur = self.conn.cursor()
        videos = self.videos.get(channel_uuid) or self._newest_videos(cur, channel_uuid)
        if not videos:
            raise NotFound
        video = videos[min(int(self.rng.expovariate(0.5)), len(videos) - 1)]  # the newest most often
        self.fk_target = ("videos_video", video)
        if cur.execute(f"SELECT {', '.join(VIDEO_APP_COLUMNS)} FROM videos_video WHERE uuid = %s",
                       (video,)).fetchone() is None:
            raise NotFound
        row = cur.execute("SELECT id, channel_context::text, created_at FROM users_uservideo "
                          "WHERE user_id = %s AND video_id = %s FOR UPDATE", (user, video)).fetchone()
        if row:
            cur.execute("UPDATE users_uservideo SET user_id = %s, video_id = %s, is_watched = true, watched_at = now(), "
                        "channel_context = %s::jsonb, created_at = %s, updated_at = now() WHERE id = %s",
                        (user, video, row[1], row[2], row[0]))
        else:
            cur.execute("INSERT INTO users_uservideo (user_id, video_id, is_watched, watched_at, channel_context, "
                        "created_at, updated_at) VALUES (%s, %s, true, now(), NULL, now(), now())", (user, video))

    def follow(self) -> None:
        user = self.user()
        _, youtube_id = self.channel()
        cur = self.conn.cursor()
        row = cur.execute("SELECT uuid FROM videos_channel WHERE channel_id = %s", (youtube_id,)).fetchone()
        if row is None:  # get_or_create: the app re-creates a channel the pipeline removed
            row = cur.execute(
                f"INSERT INTO videos_channel ({', '.join(CHANNEL_APP_COLUMNS)}) VALUES (%s, %s, %s, '', %s, NULL, "
                "'weekly', NULL, NULL, NULL, true, 0, now(), now()) ON CONFLICT (channel_id) DO NOTHING RETURNING uuid",
                (str(uuid.uuid4()), youtube_id, f"followed {youtube_id}",
                 f"https://www.youtube.com/channel/{youtube_id}")).fetchone()
            if row is None:
                row = cur.execute("SELECT uuid FROM videos_channel WHERE channel_id = %s", (youtube_id,)).fetchone()
            else:
                self.counters["channels_recreated"] += 1
            if row is None:
                raise NotFound
        channel_uuid = str(row[0])
        self.fk_target = ("videos_channel", channel_uuid)
        sub = cur.execute("SELECT id, subscribed_at, created_at FROM users_userchannel "
                          "WHERE user_id = %s AND channel_id = %s", (user, channel_uuid)).fetchone()
        if sub:
            cur.execute("UPDATE users_userchannel SET user_id = %s, channel_id = %s, subscribed_at = %s, is_active = true, "
                        "created_at = %s, updated_at = now() WHERE id = %s", (user, channel_uuid, sub[1], sub[2], sub[0]))
        else:
            cur.execute("INSERT INTO users_userchannel (user_id, channel_id, subscribed_at, is_active, created_at, "
                        "updated_at) VALUES (%s, %s, now(), true, now(), now())", (user, channel_uuid))

    def unfollow(self) -> None:
        cur = self.conn.cursor()
        subs = cur.execute("SELECT id, user_id, channel_id, subscribed_at, created_at FROM users_userchannel "
                           "WHERE user_id = %s AND is_active LIMIT 20", (self.user(),)).fetchall()
        if not subs:
            raise NotFound
        sub_id, user, channel_uuid, subscribed_at, created_at = self.rng.choice(subs)
        cur.execute("UPDATE users_userchannel SET user_id = %s, channel_id = %s, subscribed_at = %s, is_active = false, "
                    "created_at = %s, updated_at = now() WHERE id = %s",
                    (user, channel_uuid, subscribed_at, created_at, sub_id))

    def import_video(self) -> None:
        channel_uuid, _ = self.channel()
        cur = self.conn.cursor()
        if cur.execute("SELECT uuid, title FROM videos_channel WHERE uuid = %s", (channel_uuid,)).fetchone() is None:
            raise NotFound
        self.fk_target = ("videos_channel", channel_uuid)
        video_uuid = str(uuid.uuid4())
        video_id = "app" + uuid.uuid4().hex[:8]
        cur.execute(f"INSERT INTO videos_video ({', '.join(VIDEO_APP_COLUMNS)}) VALUES (%s, %s, %s, '', now(), %s, "
                    "NULL, NULL, NULL, now(), now())", (video_uuid, video_id, f"imported {video_id}", channel_uuid))
        self.videos.setdefault(channel_uuid, []).insert(0, video_uuid)

    def admin_save(self) -> None:
        channel_uuid, _ = self.channel()
        cur = self.conn.cursor()
        row = cur.execute(self.channel_select, (channel_uuid,)).fetchone()
        if row is None:
            raise NotFound
        values = {c: (Jsonb(v) if isinstance(v, dict | list) else v)
                  for c, v in zip(self.targets.channel_columns, row, strict=True)}
        cur.execute(self.admin_update, [*(values[c] for c in self.written), channel_uuid])
        if cur.rowcount == 0:  # Django's save(): no row updated, so it INSERTs the object it holds
            cur.execute(self.admin_insert, [channel_uuid, *(values[c] for c in self.written)])
            self.counters["resurrected_by_save"] += 1

    # the request loop
    def one(self, kind: str) -> str:
        """Run one request in its own transaction; returns 'ok', 'not_found' or an error class."""
        self.fk_target = None
        try:
            getattr(self, kind)()
            self.conn.commit()
            return "ok"
        except NotFound:
            self.conn.rollback()
            return "not_found"
        except psycopg.Error as exc:
            self._rollback()
            return self._classify(exc, kind)

    def _rollback(self) -> None:
        try:
            self.conn.rollback()
        except psycopg.Error:
            pass
        if self.conn.closed or self.conn.broken:
            self.conn = self._connect()

    def _classify(self, exc: psycopg.Error, kind: str) -> str:
        state = exc.sqlstate or ""
        if state == "23503":
            error_class = "fk_deleted_row" if self._names_row_read(exc) else "fk_other"
        else:
            error_class = SQLSTATE_CLASSES.get(state, "other")
        if sum(1 for e in self.examples if e["class"] == error_class) < 3:
            self.examples.append({"class": error_class, "kind": kind, "sqlstate": state, "message": str(exc)[:200],
                                  "detail": (exc.diag.message_detail or "")[:200]})
        return error_class

    def _names_row_read(self, exc: psycopg.Error) -> bool:
        """The FK failure is about the row this request read moments before in its own transaction
        ('Key (...)=(uuid) is not present in table "t"'): it existed, and the app never deletes channels
        or videos, so the pipeline removed it on purpose."""
        if self.fk_target is None:
            return False
        table, key = self.fk_target
        detail = exc.diag.message_detail or ""
        return f"=({key})" in detail and f'table "{table}"' in detail


def _client_main(dsn: str, config: LoadConfig, targets: Targets, index: int, ready, go, start, stop_at,
                 stop, results: mp.Queue) -> None:
    """A client process: Poisson arrivals at rate/clients, each request timed from its scheduled arrival.
    The clock starts when every client is connected (a slow process start is not the app's latency)."""
    client = Client(dsn, config, targets, index)
    ready.release()
    go.wait()
    start_at = start.value
    rate = config.rate / config.clients
    records: list[tuple[str, float, float, str]] = []  # (kind, scheduled offset s, latency ms, outcome)
    arrival = start_at + client.rng.expovariate(rate)
    unserved = 0
    while True:
        if stop.is_set():  # what arrived before the stop is still served (late), for drain_s at most
            if arrival > stop_at.value:
                break
            if time.monotonic() > stop_at.value + config.drain_s:
                while arrival <= stop_at.value:
                    unserved += 1
                    arrival += client.rng.expovariate(rate)
                break
        elif stop.wait(max(arrival - time.monotonic(), 0)):
            continue
        kind = client.rng.choices(client.kinds, client.weights)[0]
        outcome = client.one(kind)
        records.append((kind, arrival - start_at, (time.monotonic() - arrival) * 1000, outcome))
        arrival += client.rng.expovariate(rate)
    counters = dict(client.counters)
    client.conn.close()
    results.put({"records": records, "counters": counters, "examples": client.examples, "unserved": unserved})


# -- the lock sampler ---------------------------------------------------------------------------------------

SAMPLE_SQL = """
SELECT w.pid, l.waitstart, extract(epoch FROM clock_timestamp() - coalesce(l.waitstart, clock_timestamp())),
       l.locktype, l.mode, left(w.query, 100), b.pid, b.application_name, b.backend_type, left(b.query, 100)
FROM pg_stat_activity w
JOIN pg_locks l ON l.pid = w.pid AND NOT l.granted
CROSS JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS bp(pid)
LEFT JOIN pg_stat_activity b ON b.pid = bp.pid
WHERE w.datname = current_database() AND w.application_name = %s AND w.wait_event_type = 'Lock'
"""
PIPELINE_SQL = """
SELECT pid, application_name FROM pg_stat_activity
WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()
  AND application_name NOT IN (%s, %s)
"""


@dataclass
class WaitEpisode:
    """One app backend's wait for one lock (keyed by pid and the moment the wait started)."""

    waited_s: float = 0.0
    blocked_by_pipeline: bool = False
    locktype: str = ""
    mode: str = ""
    waiting_query: str = ""
    blockers: dict[int, tuple[str, str, str]] = field(default_factory=dict)  # pid -> (kind, app name, query)


def blocker_kind(application_name: str | None, backend_type: str | None) -> str:
    if backend_type != "client backend":
        return "background"
    return "app" if application_name in (APP_NAME, SAMPLER_NAME) else "pipeline"


def sample_once(conn: psycopg.Connection, episodes: dict) -> int:
    """One poll: update the wait episodes; returns how many app backends were waiting on a lock."""
    waiting: dict[int, WaitEpisode] = {}
    for pid, waitstart, waited, locktype, mode, query, bpid, bapp, btype, bquery in conn.execute(
            SAMPLE_SQL, (APP_NAME,)):
        # waitstart is NULL for a moment after a wait begins: such a sample counts as a wait of 0 s
        episode = episodes.setdefault((pid, waitstart), WaitEpisode())
        episode.waited_s = max(episode.waited_s, float(waited or 0))
        episode.locktype, episode.mode, episode.waiting_query = locktype, mode, query or ""
        if bpid is not None:
            episode.blockers[bpid] = (blocker_kind(bapp, btype), bapp or "", bquery or "")
        waiting[pid] = episode
    changed = True
    while changed:  # behind an app backend that itself waits on the pipeline: the pipeline's wait too
        changed = False
        for episode in waiting.values():
            if episode.blocked_by_pipeline:
                continue
            if any(kind == "pipeline" or (pid in waiting and waiting[pid].blocked_by_pipeline)
                   for pid, (kind, _, _) in episode.blockers.items()):
                episode.blocked_by_pipeline = changed = True
    return len(waiting)


def _sampler_main(dsn: str, interval_s: float, stop, results: mp.Queue, ready) -> None:
    conn = psycopg.connect(libpq_dsn(dsn), autocommit=True, application_name=SAMPLER_NAME)
    episodes: dict = {}
    pipeline: dict[int, str] = {}  # every pipeline backend seen: pid -> application_name
    samples = samples_waiting = 0
    max_gap = 0.0
    ready.release()
    last = time.monotonic()
    while not stop.is_set():
        samples_waiting += sample_once(conn, episodes) > 0
        pipeline.update(conn.execute(PIPELINE_SQL, (APP_NAME, SAMPLER_NAME)).fetchall())
        samples += 1
        now = time.monotonic()
        max_gap = max(max_gap, now - last)
        last = now
        stop.wait(max(interval_s - (time.monotonic() - now), 0))
    conn.close()
    results.put({"episodes": [asdict(e) for e in episodes.values()], "samples": samples,
                 "samples_with_app_waiting": samples_waiting, "max_sample_gap_ms": round(max_gap * 1000, 1),
                 "pipeline_backends_seen": len(pipeline),
                 "pipeline_application_names": sorted(set(pipeline.values()))})


# -- the load as a whole ---------------------------------------------------------------------------------

def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return None
    rank = min(max(math.ceil(q * len(sorted_values)) - 1, 0), len(sorted_values) - 1)
    return sorted_values[rank]


def latency_stats(latencies: list[float]) -> dict:
    values = sorted(latencies)
    rounded = lambda v: None if v is None else round(v, 1)  # noqa: E731
    return {"count": len(values), "p50_ms": rounded(percentile(values, 0.5)),
            "p99_ms": rounded(percentile(values, 0.99)), "max_ms": rounded(values[-1] if values else None)}


def lock_wait_summary(sampler: dict) -> dict:
    episodes = sampler.get("episodes", [])
    on_pipeline = [e for e in episodes if e["blocked_by_pipeline"]]
    worst = max(on_pipeline, key=lambda e: e["waited_s"], default=None)

    def brief(e: dict) -> dict:
        blockers = [{"kind": k, "application_name": a, "query": q} for k, a, q in e["blockers"].values()]
        return {"waited_s": round(e["waited_s"], 3), "by_pipeline": e["blocked_by_pipeline"],
                "lock": f"{e['locktype']} {e['mode']}", "waiting_query": e["waiting_query"], "blockers": blockers[:3]}

    pipeline_blocker = next((b for b in (brief(worst)["blockers"] if worst else []) if b["kind"] == "pipeline"), None)
    return {
        "max_wait_on_pipeline_lock_s": round(worst["waited_s"], 3) if worst else 0.0,
        "blocking_query": (pipeline_blocker or {}).get("query") if worst else None,
        "blocking_application_name": (pipeline_blocker or {}).get("application_name") if worst else None,
        "waiting_query": worst["waiting_query"] if worst else None,
        "max_wait_on_any_lock_s": round(max((e["waited_s"] for e in episodes), default=0.0), 3),
        "waits_on_pipeline_locks": len(on_pipeline), "waits_on_any_lock": len(episodes),
        "longest_waits": [brief(e) for e in sorted(episodes, key=lambda e: -e["waited_s"])[:5]],
        "samples": sampler.get("samples", 0), "samples_with_app_waiting": sampler.get("samples_with_app_waiting", 0),
        "max_sample_gap_ms": sampler.get("max_sample_gap_ms"),
        "pipeline_backends_seen": sampler.get("pipeline_backends_seen", 0),
        "pipeline_application_names": sampler.get("pipeline_application_names", []),
    }


class AppLoad:
    """The app's clients and the lock sampler, running while the ``with`` block runs (see the module doc)."""

    def __init__(self, dsn: str, clients: int = 4, rate: float | None = None, *, mix: dict[str, float] | None = None,
                 seed: int = 1, doomed: Sequence[tuple[str, str]] | None = None, doomed_share: float = 0.1,
                 channel_pool: int = 5000, user_pool: int = 5000, admin_columns: str = "app",
                 statement_timeout_ms: int = 30_000, sample_interval_s: float = 0.1, drain_s: float = 60.0) -> None:
        unknown = set(mix or {}) - set(DEFAULT_MIX)
        if unknown:
            raise ValueError(f"unknown request kinds {sorted(unknown)}; known: {sorted(DEFAULT_MIX)}")
        if admin_columns not in ("app", "all"):
            raise ValueError("admin_columns is 'app' (the Django model's fields) or 'all' (every column)")
        self.dsn = libpq_dsn(dsn)
        self.config = LoadConfig(clients=clients, rate=rate or RATE_PER_CLIENT * clients,
                                 mix={**{k: 0 for k in DEFAULT_MIX}, **(mix or DEFAULT_MIX)}, seed=seed,
                                 doomed_share=doomed_share, statement_timeout_ms=statement_timeout_ms,
                                 drain_s=drain_s, sample_interval_s=sample_interval_s)
        self.discover = dict(channel_pool=channel_pool, user_pool=user_pool, seed=seed, doomed=doomed,
                             admin_columns=admin_columns)
        self.admin_columns = admin_columns
        self._report: dict | None = None

    def __enter__(self) -> AppLoad:
        self.targets = discover_targets(self.dsn, **self.discover)
        ctx = mp.get_context("spawn")
        self._stop = ctx.Event()
        self._stop_at = ctx.Value("d", float("inf"))
        self._results = ctx.Queue()
        self._sampler_results = ctx.Queue()
        ready, go, start = ctx.Semaphore(0), ctx.Event(), ctx.Value("d", 0.0)
        self._sampler = ctx.Process(target=_sampler_main, daemon=True,
                                    args=(self.dsn, self.config.sample_interval_s, self._stop, self._sampler_results,
                                          ready))
        self._clients = [ctx.Process(target=_client_main, daemon=True,
                                     args=(self.dsn, self.config, self.targets, i, ready, go, start, self._stop_at,
                                           self._stop, self._results))
                         for i in range(self.config.clients)]
        for p in [self._sampler, *self._clients]:
            p.start()
        self.pids = {p.pid for p in [self._sampler, *self._clients]}
        for _ in range(self.config.clients + 1):
            if not ready.acquire(timeout=120):
                self._stop.set()
                raise RuntimeError("the app load's processes did not connect within 120 s")
        self.start_at = start.value = time.monotonic()
        go.set()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped_at = time.monotonic()
        self._stop_at.value = self.stopped_at
        self._stop.set()
        outputs = [self._get(self._results, self.config.drain_s + 60) for _ in self._clients]
        sampler = self._get(self._sampler_results, 30) or {}
        for p in [*self._clients, self._sampler]:
            p.join(10)
            if p.is_alive():
                p.kill()
        self._report = self._summarize([o for o in outputs if o], sampler, len(outputs) - sum(1 for o in outputs if o))

    @staticmethod
    def _get(q: mp.Queue, timeout: float) -> dict | None:
        try:
            return q.get(timeout=timeout)
        except queue.Empty:
            return None

    def _summarize(self, outputs: list[dict], sampler: dict, lost_clients: int) -> dict:
        records = [r for o in outputs for r in o["records"]]
        by_kind: dict[str, list] = defaultdict(list)
        for r in records:
            by_kind[r[0]].append(r)
        kinds = {}
        for kind in DEFAULT_MIX:
            rows = by_kind.get(kind, [])
            errors = {c: sum(1 for r in rows if r[3] == c) for c in ERROR_CLASSES}
            kinds[kind] = {**latency_stats([r[2] for r in rows]), "not_found": sum(1 for r in rows if r[3] == "not_found"),
                           "errors": {c: n for c, n in errors.items() if n}}
        errors = {c: sum(1 for r in records if r[3] == c) for c in ERROR_CLASSES}
        counters: dict[str, int] = defaultdict(int)
        for o in outputs:
            for k, v in o["counters"].items():
                counters[k] += v
        examples = [e for o in outputs for e in o["examples"]]
        duration = self.stopped_at - self.start_at
        return {
            "clients": self.config.clients, "rate_per_s": self.config.rate, "duration_s": round(duration, 1),
            "mix": {k: v for k, v in self.config.mix.items() if v}, "doomed_share": self.config.doomed_share,
            "doomed_targets": len(self.targets.doomed), "channel_pool": len(self.targets.channels),
            "user_pool": len(self.targets.users), "admin_columns": self.admin_columns,
            "requests": len(records), "achieved_rate_per_s": round(len(records) / duration, 1) if duration else None,
            "all": latency_stats([r[2] for r in records]), "kinds": kinds,
            "not_found": sum(1 for r in records if r[3] == "not_found"),
            "errors": {c: n for c, n in errors.items() if n},
            "app_visible_errors": sum(n for c, n in errors.items() if c != "fk_deleted_row"),
            "error_examples": examples[:10],
            "channels_recreated_by_follow": counters.get("channels_recreated", 0),
            "channels_resurrected_by_save": counters.get("resurrected_by_save", 0),
            "unserved_after_drain": sum(o["unserved"] for o in outputs), "clients_lost": lost_clients,
            "lock_waits": lock_wait_summary(sampler),
        }

    def report(self) -> dict:
        if self._report is None:
            raise RuntimeError("report() is available after the with-block has ended")
        return self._report


# -- targets and helpers for the scenarios -------------------------------------------------------------------

P99_LIMIT_MS = 100.0
MAX_LIMIT_MS = 1000.0
LOCK_WAIT_LIMIT_S = 1.0
PIPELINE_SLOWDOWN_LIMIT = 0.25


def app_targets(report: dict | None) -> dict:
    """Round 3's bars for the app during a pipeline job: {name: {"value", "pass"}} (None: not measured)."""
    def check(value, ok) -> dict:
        return {"value": value, "pass": None if value is None else bool(ok(value))}

    report = report or {}
    lock = report.get("lock_waits") or {}
    return {
        "app_p99<=100ms": check((report.get("all") or {}).get("p99_ms"), lambda v: v <= P99_LIMIT_MS),
        "app_max<=1s": check((report.get("all") or {}).get("max_ms"), lambda v: v <= MAX_LIMIT_MS),
        "app_visible_errors==0": check(report.get("app_visible_errors"), lambda v: v == 0),
        "app_lock_wait_on_pipeline<=1s": check(lock.get("max_wait_on_pipeline_lock_s"), lambda v: v <= LOCK_WAIT_LIMIT_S),
    }


def parse_app_load(spec: str) -> tuple[int, float]:
    """``CLIENTS[:RATE]`` -> (clients, total requests/s); the rate defaults to 20/s per client."""
    clients, _, rate = spec.partition(":")
    n = int(clients)
    if n < 1:
        raise argparse.ArgumentTypeError("--app-load needs at least 1 client")
    return n, float(rate) if rate else RATE_PER_CLIENT * n


def parse_mix(spec: str) -> dict[str, float]:
    """``channel_page=40,feed=25,...``: the kinds named get these weights, the others 0."""
    mix = {}
    for part in filter(None, spec.split(",")):
        kind, _, weight = part.partition("=")
        if kind not in DEFAULT_MIX:
            raise argparse.ArgumentTypeError(f"unknown request kind {kind!r}; known: {', '.join(DEFAULT_MIX)}")
        mix[kind] = float(weight)
    return mix


def add_app_load_options(p: argparse.ArgumentParser) -> None:
    """The options every pipeline scenario takes to run its job beside the app's traffic."""
    p.add_argument("--app-load", type=parse_app_load, default=None, metavar="CLIENTS[:RATE]",
                   help="also run the job beside AppLoad on a second clone (rate default 20/s per client), with "
                        "an idle baseline (the load alone) first; the quiet figures stay the headline")
    p.add_argument("--idle-seconds", type=float, default=20.0, help="length of the idle baseline (the load alone)")
    p.add_argument("--app-mix", type=parse_mix, default=None, help="request weights, e.g. channel_page=40,feed=25")
    p.add_argument("--doomed-share", type=float, default=0.1,
                   help="share of the channel-based requests aimed at the scenario's doomed channels")
    p.add_argument("--admin-columns", choices=("app", "all"), default="app")


def load_from_options(dsn: str, args: argparse.Namespace, doomed: Sequence[tuple[str, str]] | None = None) -> AppLoad:
    clients, rate = args.app_load
    return AppLoad(dsn, clients, rate, mix=args.app_mix, doomed=doomed, doomed_share=args.doomed_share,
                   admin_columns=args.admin_columns)


def idle_baseline(dsn: str, args: argparse.Namespace, doomed: Sequence[tuple[str, str]] | None = None) -> dict:
    """The load alone for --idle-seconds on the same population: what the app sees without the pipeline."""
    with load_from_options(dsn, args, doomed) as load:
        time.sleep(args.idle_seconds)
    return load.report()


def under_load(dsn: str, args: argparse.Namespace, job: Callable[[set[int]], dict],
               doomed: Sequence[tuple[str, str]] | None = None) -> tuple[dict, dict]:
    """(the job's own result, the app's report) with the load running for exactly the job's duration;
    ``job`` gets the load's process ids, which its measurement must leave out. A job that fails under
    load is a result (run_success false, the error), not a crash: the app's figures still count."""
    with load_from_options(dsn, args, doomed) as load:
        try:
            out = job(load.pids)
        except Exception as exc:  # noqa: BLE001 - reported, and judged by the targets
            out = {"run_success": False, "run_error": repr(exc)[:500]}
    return out, load.report()


def slowdown(quiet: dict, loaded: dict, keys: Sequence[str] = ("wall_s",)) -> dict:
    """The pipeline's figures under load against the quiet ones of the same run (+25% at most)."""
    out = {}
    for key in keys:
        q, lo = quiet.get(key), loaded.get(key)
        if q and lo is not None:
            out[key] = {"quiet": q, "under_load": lo, "slower_pct": round((lo / q - 1) * 100, 1)}
    worst = max((v["slower_pct"] for v in out.values()), default=None)
    return {"figures": out, "worst_slower_pct": worst,
            "pass": None if worst is None else worst <= PIPELINE_SLOWDOWN_LIMIT * 100}


def app_load_result(args: argparse.Namespace, idle: dict, under_job: dict, quiet: dict, loaded: dict,
                    keys: Sequence[str] = ("wall_s",)) -> dict:
    """The ``app_load`` section of a scenario's JSON: the idle baseline, the app during the job, the job's
    figures under load against the quiet run's, and Round 3's targets evaluated."""
    slow = slowdown(quiet, loaded, keys)
    success = loaded.get("run_success", True) is True
    targets = {**app_targets(under_job),
               "pipeline_slower<=25%": {"value": slow["worst_slower_pct"], "pass": slow["pass"]},
               "pipeline_run_success": {"value": success, "pass": success}}
    clients, rate = args.app_load
    return {"clients": clients, "rate_per_s": rate, "idle_seconds": args.idle_seconds, "idle": idle,
            "under_job": under_job, "pipeline_under_load": loaded, "slowdown": slow, "targets": targets}


def main() -> None:
    from bench.common import emit, log, pg_dsn

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--dsn", help="libpq DSN or postgresql:// URL of the app database")
    where.add_argument("--database", help="a database on the benchmark server (BENCH_PG_HOST)")
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--rate", type=float, default=None, help="total requests/s (default 20 per client)")
    p.add_argument("--mix", type=parse_mix, default=None)
    p.add_argument("--doomed-share", type=float, default=0.1)
    p.add_argument("--admin-columns", choices=("app", "all"), default="app")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    dsn = args.dsn or pg_dsn(args.database)
    log(f"app load: {args.clients} clients, {args.rate or RATE_PER_CLIENT * args.clients}/s for {args.seconds} s ...")
    with AppLoad(dsn, args.clients, args.rate, mix=args.mix, seed=args.seed, doomed_share=args.doomed_share,
                 admin_columns=args.admin_columns) as load:
        time.sleep(args.seconds)
    report = load.report()
    emit({"scenario": "app_load", **report, "targets": app_targets(report)})


if __name__ == "__main__":
    main()
