"""channel_pipeline_requests: insert, read, claim for a run, finish, and fail what a dead run left.

Every statement is served by an index: the primary key, the partial index of queued and running requests
(the sensor's read stays small whatever the history) or the per-user index (the rate limit). A request is
claimed by exactly one run (`status = 'queued'` in the UPDATE's WHERE), and only the run that claimed it
can finish it (`run_id` in the WHERE), so a run started twice for the same requests does the work once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from channel_assets.db.requests.session import Session, jsonb

COLUMNS = ("id, kind, status, status_reason, channel_ids, video_ids, requested_by, user_id, reason, run_id, outcome, "
           "created_at, started_at, finished_at")
PENDING = ("queued", "running")

_INSERT = f"""
INSERT INTO channel_pipeline_requests (kind, channel_ids, video_ids, requested_by, user_id, reason, status,
                                       status_reason, outcome, finished_at)
VALUES (%(kind)s, %(channel_ids)s, %(video_ids)s, %(requested_by)s, %(user_id)s, %(reason)s, %(status)s, %(status_reason)s,
        %(outcome)s, CASE WHEN %(status)s IN ('done', 'refused') THEN now() END)
RETURNING {COLUMNS}"""


def insert_request(s: Session, *, kind: str, channel_ids: Sequence[str] | None, requested_by: str,
                   user_id: int | None, reason: str, status: str = "queued", status_reason: str | None = None,
                   outcome: dict | None = None, video_ids: Sequence[str] | None = None) -> dict:
    """The new row (a refused or answered request is stored finished, so the app can show why)."""
    return s.one(_INSERT, {"kind": kind, "channel_ids": list(channel_ids) if channel_ids is not None else None,
                           "video_ids": list(video_ids) if video_ids is not None else None,
                           "requested_by": requested_by, "user_id": user_id, "reason": reason, "status": status,
                           "status_reason": status_reason, "outcome": jsonb(outcome) if outcome is not None else None})


def get_request(s: Session, request_id: int) -> dict | None:
    return s.one(f"SELECT {COLUMNS} FROM channel_pipeline_requests WHERE id = %(id)s", {"id": request_id})


def user_counts(s: Session, user_id: int, since: datetime) -> tuple[int, int]:
    """(requests the user made since `since` that were not refused, the user's queued or running requests)."""
    row = s.one("""
        SELECT count(*) FILTER (WHERE created_at >= %(since)s AND status <> 'refused') AS recent,
               count(*) FILTER (WHERE status IN ('queued', 'running')) AS pending
        FROM channel_pipeline_requests WHERE user_id = %(user_id)s""", {"user_id": user_id, "since": since})
    return int(row["recent"]), int(row["pending"])


def pending_requests(s: Session, limit: int) -> list[dict]:
    """Queued and running requests, oldest first (the partial index)."""
    return s.rows(f"""SELECT {COLUMNS} FROM channel_pipeline_requests
                      WHERE status IN ('queued', 'running') ORDER BY id LIMIT %(limit)s""", {"limit": limit})


def claim_requests(s: Session, request_ids: Sequence[int], run_id: str, now: datetime) -> list[dict]:
    """Mark the still-queued ones running for `run_id`; returns those this run now owns (oldest first)."""
    rows = s.rows(f"""UPDATE channel_pipeline_requests SET status = 'running', run_id = %(run_id)s,
                             started_at = %(now)s
                      WHERE id = ANY(%(ids)s) AND status = 'queued' RETURNING {COLUMNS}""",
                  {"ids": list(request_ids), "run_id": run_id, "now": now})
    return sorted(rows, key=lambda r: r["id"])


def finish_requests(s: Session, results: Sequence[dict], run_id: str, now: datetime) -> int:
    """One UPDATE for all: each {"id", "status" (done|failed), "status_reason", "outcome"}; only the
    requests `run_id` still holds running are written. Returns requests finished."""
    if not results:
        return 0
    return s.execute("""
        UPDATE channel_pipeline_requests r
        SET status = v.status, status_reason = v.status_reason, outcome = v.outcome, finished_at = %(now)s
        FROM jsonb_to_recordset(%(rows)s) AS v(id bigint, status text, status_reason text, outcome jsonb)
        WHERE r.id = v.id AND r.run_id = %(run_id)s AND r.status = 'running'""",
                     {"rows": jsonb(list(results)), "run_id": run_id, "now": now})


def fail_requests(s: Session, request_ids: Sequence[int], reason: str, now: datetime) -> int:
    """Queued or running requests that can no longer be served (their run ended): failed, with the reason."""
    return s.execute("""
        UPDATE channel_pipeline_requests SET status = 'failed', status_reason = %(reason)s, finished_at = %(now)s
        WHERE id = ANY(%(ids)s) AND status IN ('queued', 'running')""",
                     {"ids": list(request_ids), "reason": reason, "now": now})
