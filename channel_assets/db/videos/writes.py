"""The video metadata refresh's writes: one transaction per group of answered batches.

The answers are COPYed into a temp table, then ONE statement compares them with the stored rows and
updates only the rows whose values differ (IS DISTINCT FROM: an unchanged video costs no new row
version), with the availability rule applied in SQL, and stamps every answered video's schedule row
(refreshed_at, next due_at by its age; the row exists: db.videos.selection.ensure_scheduled). None of the columns it changes on videos_video is indexed, so with
the page room revision 0010 leaves (fillfactor 80) the updates are HOT: no index entry is written.

Availability without loss: an answer that says a video is gone (missing: deleted or private; or
private, rejected, failed, region-blocked) is believed only on a second answer saying so (this run's
second pass, or the next run's when the first found it suspected); then the video gets
`unavailable_reason` and `unavailable_at`, nothing else: the row, its channel link, its watch rows and its
snapshots stay. A video answered available again loses both.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from psycopg.types.json import Jsonb, set_json_dumps
from sqlalchemy import Connection

from channel_assets.db.audit.update_log import AuditEvent
from channel_assets.db.core.uuid_bytes import UuidArray, write_bytes_as_uuids
from channel_assets.db.videos.tiering import VideoTierRules, age_next_due

MISSING_REASON = "deleted"  # deleted or private: an API-key answer leaves both out, indistinguishable
VALUES = ("title", "description", "tags", "thumbnail_url", "published_at", "duration", "view_count", "like_count",
          "comment_count", "privacy_status", "upload_status", "embeddable", "region_restriction")
# tags and region_restriction go as jsonb serialised by orjson (set on the writer's cursor): as text[], psycopg's
# list dumper walked each tag in Python (~5% of the pipeline's GIL samples); with json.dumps, ~2 s at 1M.
_TYPES = ("text", "text", "jsonb", "text", "timestamptz", "int4", "int8", "int8", "int8", "text", "text", "bool",
          "jsonb")

_TEMP = f"""
CREATE TEMP TABLE IF NOT EXISTS video_meta_in (
    uuid uuid, video_id text, batch int, listed bool, verdict text, second_pass bool,
    {', '.join(f'{c} {t}' for c, t in zip(VALUES, _TYPES, strict=True))}) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS video_changes_out (batch int PRIMARY KEY, changes jsonb) ON COMMIT DELETE ROWS"""
_COPY = (f"COPY video_meta_in (uuid, video_id, batch, listed, verdict, second_pass, {', '.join(VALUES)}) "
         "FROM STDIN (FORMAT BINARY)")
_COPY_TYPES = ("uuid", "text", "int4", "bool", "text", "bool", *_TYPES)
_AVAILABILITY = ("unavailable_reason", "unavailable_at", "unavailable_suspected_at", "metadata_refresh_requested_at")
# The link columns assigned their own values (from the row being updated, so a link the app changes under a
# running write is kept: the assignment reads the version the update lands on). It changes nothing stored,
# HOT included (PostgreSQL compares the values), but PostgreSQL then no longer tells the link's non-unique
# indexes that the update left their key alone, and a full leaf page of theirs takes a deduplication pass
# (the new entry joins its key's posting list) instead of a bottom-up deletion pass, which visited the heap
# to find the old versions' entries: 22% of the server's CPU at 1M videos, a first pass growing most rows
# off their page. The server's CPU 51.6-54.5 s against 58.4-62.0 s (README, the video refresh). The old
# versions' entries stay in their posting lists for VACUUM; the table and its indexes end the same size.
_KEPT = ("channel_id", "channel_id_snapshot")
_NEW = [f"CASE WHEN n.listed THEN n.{c} ELSE v.{c} END" for c in VALUES]
_NEW_AVAILABILITY = ["n.new_reason", "n.new_at", "n.new_suspected", "NULL::timestamptz"]

# Every CTE reads one snapshot: `d` holds the stored values while `u` writes the new ones. Only `d` names the
# group's uuids (one index scan, the array sorted once, and the row estimate the planner needs); `u` and `s`
# find their rows from `n` by key. With the array in their WHERE too, a small group (under ~1,000 rows, as at
# real API latency) got a nested loop whose every inner index scan sorted the whole array again: a third of
# the server's CPU at 150 ms, and quadratic in the group's size. `u` returns each row's batch, so the
# written counts are grouped there, not joined back to `n` row by row. `c` builds each video's old->new
# object with only the parts that changed, not a full one stripped of its nulls (jsonb_strip_nulls rebuilt
# every object: 13% of the aggregation's time, measured on 200k rows).
_APPLY = f"""
WITH d AS (
    SELECT t.*, v.title AS old_title, v.description AS old_description, v.unavailable_reason AS old_reason,
           v.unavailable_at AS old_at, v.published_at AS stored_published,
           (t.verdict IS NOT NULL AND (t.second_pass OR v.unavailable_suspected_at IS NOT NULL
                                       OR v.unavailable_at IS NOT NULL)) AS confirmed
    FROM video_meta_in t JOIN videos_video v ON v.uuid = t.uuid
    WHERE v.uuid = ANY(%(uuids)b)
), n AS (
    SELECT d.*,
           CASE WHEN d.confirmed THEN d.verdict WHEN d.verdict IS NOT NULL THEN d.old_reason END AS new_reason,
           CASE WHEN d.confirmed THEN coalesce(d.old_at, %(now)s) WHEN d.verdict IS NOT NULL THEN d.old_at END AS new_at,
           CASE WHEN d.verdict IS NOT NULL AND NOT d.confirmed THEN %(now)s::timestamptz END AS new_suspected
    FROM d
), u AS (
    UPDATE videos_video v SET {', '.join(f'{c} = {e}' for c, e in zip(VALUES + _AVAILABILITY, _NEW + _NEW_AVAILABILITY, strict=True))},
           metadata_refreshed_at = %(now)s, updated_at = %(now)s, {', '.join(f'{c} = v.{c}' for c in _KEPT)}
    FROM n WHERE v.uuid = n.uuid
      AND ({', '.join(f'v.{c}' for c in VALUES + _AVAILABILITY)})
          IS DISTINCT FROM ({', '.join(_NEW + _NEW_AVAILABILITY)})
    RETURNING n.batch
), c AS (
    INSERT INTO video_changes_out (batch, changes)
    SELECT n.batch, jsonb_object_agg(n.video_id, CASE
        WHEN n.title IS NOT DISTINCT FROM n.old_title
            THEN jsonb_build_object('description', jsonb_build_array(n.old_description, n.description))
        WHEN n.description IS NOT DISTINCT FROM n.old_description
            THEN jsonb_build_object('title', jsonb_build_array(n.old_title, n.title))
        ELSE jsonb_build_object('title', jsonb_build_array(n.old_title, n.title),
                                'description', jsonb_build_array(n.old_description, n.description)) END)
    FROM n WHERE n.listed AND (n.title IS DISTINCT FROM n.old_title OR n.description IS DISTINCT FROM n.old_description)
    GROUP BY n.batch
), s AS (
    UPDATE video_refresh_schedule s
    SET due_at = CASE WHEN n.confirmed THEN %(recheck_next)s
                      ELSE {age_next_due('coalesce(n.published_at, n.stored_published)')} END,
        refreshed_at = %(now)s
    FROM n WHERE s.video_uuid = n.uuid AND (n.verdict IS NULL OR n.confirmed)
)
SELECT n.batch, n.video_id, n.verdict, n.confirmed, n.old_reason, n.new_reason, NULL::bigint, NULL::bigint,
       NULL::bigint
FROM n WHERE n.verdict IS NOT NULL OR n.old_reason IS NOT NULL
UNION ALL
SELECT n.batch, NULL, NULL, NULL, NULL, NULL, coalesce(min(w.written), 0),
       count(DISTINCT n.video_id) FILTER (WHERE n.listed AND n.title IS DISTINCT FROM n.old_title),
       count(DISTINCT n.video_id) FILTER (WHERE n.listed AND n.description IS DISTINCT FROM n.old_description)
FROM n LEFT JOIN (SELECT u.batch, count(*) AS written FROM u GROUP BY u.batch) w ON w.batch = n.batch
GROUP BY n.batch"""

# The group's audit rows; a batch's old->new titles and descriptions join in from video_changes_out, so those
# texts never travel to the pipeline and back (at a million changed videos they were a fifth of its CPU).
_EVENTS = """
INSERT INTO channel_update_logs (update_type, status, created_at, channel_uuid, channel_id, changes_made,
                                 error_message, error_type, api_quota_used, processing_time_ms, run_id, actor)
SELECT e.update_type, e.status, e.created_at, e.channel_uuid, e.channel_id,
       CASE WHEN c.changes IS NULL THEN e.changes_made
            ELSE coalesce(e.changes_made, '{}') || jsonb_build_object('changes', c.changes) END,
       e.error_message, e.error_type, e.api_quota_used, e.processing_time_ms, e.run_id, e.actor
FROM unnest(%(batch)s::int[], %(update_type)s::text[], %(status)s::text[], %(created_at)s::timestamptz[],
            %(channel_uuid)s::uuid[], %(channel_id)s::text[], %(changes_made)s::jsonb[], %(error_message)s::text[],
            %(error_type)s::text[], %(api_quota_used)s::int[], %(processing_time_ms)s::int[], %(run_id)s::text[],
            %(actor)s::text[])
     AS e(batch, update_type, status, created_at, channel_uuid, channel_id, changes_made, error_message,
          error_type, api_quota_used, processing_time_ms, run_id, actor)
LEFT JOIN video_changes_out c ON c.batch = e.batch"""

# The batch audit rows carry every changed title and description (tens of KB each on a first pass over
# imported videos): pglz compressing them was an eighth of the server's CPU in a 1M-video run; lz4, where
# the server has it, is several times cheaper. Only this transaction's new values; readers see no change.
_LZ4 = ("SELECT set_config('default_toast_compression', 'lz4', true) FROM pg_settings "
        "WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)")

_RETRY_INVALID = "UPDATE video_refresh_schedule SET due_at = %(invalid_next)s WHERE video_uuid = ANY(%(uuids)b)"


@dataclass(frozen=True, slots=True)
class AnsweredBatch:
    """One videos.list answer: `videos` the (row uuid, video id) pairs asked (a video id may be stored once
    per channel; the uuid as its 16 bytes or a uuid.UUID), `found` id -> parsed details, `missing` ids
    left out, `invalid` ids -> why unusable."""

    videos: Sequence[tuple[uuid.UUID | bytes, str]]
    found: Mapping[str, Any]
    missing: Sequence[str]
    invalid: Mapping[str, str]
    second_pass: bool


@dataclass
class BatchOutcome:
    written: int = 0  # rows whose stored values changed
    title_changes: int = 0  # videos whose title changed (old -> new kept for the batch's audit row)
    description_changes: int = 0
    suspected: list[str] = field(default_factory=list)  # first pass said gone: asked again
    went: list[tuple[str, str | None, str]] = field(default_factory=list)  # (video id, old reason, new reason)
    came_back: list[tuple[str, str]] = field(default_factory=list)  # (video id, old reason)
    still_gone: int = 0


def apply_video_answers(conn: Connection, batches: Sequence[AnsweredBatch], *, now: datetime,
                        rules: VideoTierRules) -> list[BatchOutcome]:
    """Write a group of answered batches inside the caller's transaction; one outcome per batch."""
    outcomes = [BatchOutcome() for _ in batches]
    uuids: list[bytes] = []
    invalid: list[bytes] = []
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        write_bytes_as_uuids(cur)
        set_json_dumps(orjson.dumps, context=cur)  # a tuple of tags dumps as a JSON array
        # As for channels (db.refresh.channel_writes): re-runs converge, the pages are hot, no JIT. Custom plans:
        # psycopg prepares the apply statement on its 5th run and PostgreSQL then settles on a generic plan
        # that ignores the temp table's size (a 5,000-row group went from ~1 s to 28-41 s).
        cur.execute(f"SET LOCAL synchronous_commit = off; SET LOCAL random_page_cost = 1.1; SET LOCAL jit = off;"
                    f"SET LOCAL plan_cache_mode = force_custom_plan;{_LZ4};{_TEMP}")
        with cur.copy(_COPY) as copy:
            copy.set_types(_COPY_TYPES)
            for n, b in enumerate(batches):
                missing = set(b.missing)
                for row_uuid, vid in b.videos:
                    if type(row_uuid) is not bytes:
                        row_uuid = row_uuid.bytes  # packed into the uuid[] parameters below
                    d = b.found.get(vid)
                    if d is not None:
                        copy.write_row((row_uuid, vid, n, True, d.unavailable, b.second_pass, d.title, d.description,
                                        d.tags, d.thumbnail_url, d.published_at,
                                        d.duration_seconds, d.view_count, d.like_count, d.comment_count,
                                        d.privacy_status, d.upload_status, d.embeddable, d.region_restriction))
                        uuids.append(row_uuid)
                    elif vid in missing:
                        copy.write_row((row_uuid, vid, n, False, MISSING_REASON, b.second_pass,
                                        *([None] * len(VALUES))))
                        uuids.append(row_uuid)
                    elif vid in b.invalid:
                        invalid.append(row_uuid)
        params = rules.params(now)
        if uuids:
            cur.execute(_APPLY, params | {"uuids": UuidArray(b"".join(uuids))})
            for batch, vid, verdict, confirmed, old_reason, new_reason, written, titles, descs in cur.fetchall():
                out = outcomes[batch]
                if vid is None:
                    out.written, out.title_changes, out.description_changes = written, titles, descs
                    continue
                if verdict is not None and not confirmed:
                    out.suspected.append(vid)
                elif verdict is not None and new_reason != old_reason:
                    out.went.append((vid, old_reason, new_reason))
                elif verdict is not None:
                    out.still_gone += 1
                elif old_reason is not None:
                    out.came_back.append((vid, old_reason))
        if invalid:
            cur.execute(_RETRY_INVALID, params | {"uuids": UuidArray(b"".join(invalid))})
    return outcomes


def write_batch_events(conn: Connection, events: Sequence[tuple[int | None, AuditEvent]]) -> None:
    """Insert the group's audit rows after `apply_video_answers`, in the same transaction: each event with
    the index of the batch (in that call) whose title and description changes it carries, or None."""
    if not events:
        return
    rows = [e.row() for _, e in events]  # the audit layer's one mapping of an event to its columns
    columns = {name: [r[name] for r in rows] for name in rows[0]}
    columns["changes_made"] = [None if c is None else Jsonb(c) for c in columns["changes_made"]]
    with conn.connection.driver_connection.cursor() as cur:
        cur.execute(_EVENTS, columns | {"batch": [batch for batch, _ in events]})
