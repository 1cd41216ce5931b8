"""The emulator's ground truth for videos (``/_emulator/videos/state``), read in chunks beside the database.

``template_resolves``: every video id of a population is a video of the served world (no ``not-found``),
so the pipeline's videos.list answers find them. ``compare_with_truth``: every video row after a pass
against what videos.list says at the emulator's clock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import psycopg

from bench.common import Emulator

CHUNK = 10_000  # the emulator's /_emulator/videos/state limit


def truth(emulator: Emulator, ids: list[str]) -> list[dict]:
    r = emulator.http.post("/_emulator/videos/state", json={"ids": ids})
    r.raise_for_status()
    return r.json()["videos"]


def _chunks(dsn: str, query: str) -> Iterator[list[tuple]]:
    """The query's rows in chunks of CHUNK, through a server-side cursor (1M rows never held at once)."""
    with psycopg.connect(dsn) as conn, conn.cursor(name="bench_video_truth") as cur:
        cur.itersize = CHUNK
        cur.execute(query)
        while rows := cur.fetchmany(CHUNK):
            yield rows


def template_resolves(dsn: str, emulator: Emulator) -> dict:
    """Statuses of the population's videos in the world: all must be known (``not-found`` counts as bad)."""
    statuses: Counter[str] = Counter()
    checked = 0
    examples: list[str] = []
    for rows in _chunks(dsn, "SELECT video_id FROM videos_video ORDER BY video_id"):
        for t in truth(emulator, [r[0] for r in rows]):
            checked += 1
            statuses[t["status"]] += 1
            if t["status"] == "not-found" and len(examples) < 5:
                examples.append(t["id"])
    return {"checked": checked, "statuses": dict(statuses), "not_found": statuses["not-found"],
            "all_resolve": statuses["not-found"] == 0 and checked > 0, "examples": examples}


# The database's columns for what videos.list says (truth key -> videos_video column).
COMPARED = {"title": "title", "description": "description", "viewCount": "view_count", "likeCount": "like_count",
            "commentCount": "comment_count"}
# The reason a confirmed unavailable video must carry, by the world's status: an API-key answer leaves deleted
# and private videos (and a gone channel's) out alike, so "missing" is recorded as deleted.
EXPECTED_REASON = {"deleted": "deleted", "private": "deleted", "channel-gone": "deleted", "rejected": "rejected",
                   "failed": "failed", "region-blocked": "region-blocked"}
# The row's availability as the video refresh records it: confirmed (unavailable_at, with its reason), or
# suspected by one pass and awaiting the second (unavailable_suspected_at).
AVAILABILITY_SQL = "unavailable_at, unavailable_reason, unavailable_suspected_at"


def classify_availability(values: tuple) -> str:
    """"available", "pending" (one answer said gone) or "unavailable:<reason>" (confirmed)."""
    unavailable_at, reason, suspected_at = values
    if unavailable_at is not None:
        return f"unavailable:{reason}"
    return "pending" if suspected_at is not None else "available"


def compare_with_truth(dsn: str, emulator: Emulator, availability_sql: str = AVAILABILITY_SQL,
                       classify=classify_availability) -> dict:
    """Every video row against the world's truth at its clock, after one run (whose second pass confirms
    what its first found gone). ``availability_sql`` selects the row's availability columns, ``classify``
    maps them to "available", "pending" or "unavailable:<reason>".

    A listed video must carry the answer's title, description and three counts (None where the API leaves
    one out); an available one must be available; one the world has gone must be confirmed unavailable
    with the reason the answer gives (``EXPECTED_REASON``). Pending after the run is a mismatch.
    """
    cols = ", ".join(COMPARED.values())
    statuses: Counter[str] = Counter()
    states: Counter[str] = Counter()
    checked = mismatched = 0
    examples: list[str] = []

    def bad(vid: str, why: str) -> None:
        nonlocal mismatched
        mismatched += 1
        if len(examples) < 8:
            examples.append(f"{vid}: {why}"[:300])

    query = f"SELECT video_id, {cols}, {availability_sql} FROM videos_video ORDER BY video_id"
    for rows in _chunks(dsn, query):
        for row, t in zip(rows, truth(emulator, [r[0] for r in rows]), strict=True):
            checked += 1
            status = t["status"]
            statuses[status] += 1
            got = dict(zip(COMPARED, row[1:1 + len(COMPARED)], strict=True))
            state = classify(row[1 + len(COMPARED):])
            states[f"{status}:{state}"] += 1
            if status == "not-found":
                bad(t["id"], "not a video of the world")
                continue
            if t["listed"]:
                want = {k: t[k] for k in COMPARED}
                if want != got:
                    diff = {k: (want[k], got[k]) for k in COMPARED if want[k] != got[k]}
                    bad(t["id"], f"{status}: world != db {diff!r}")
                    continue
            expected = "available" if status == "available" else f"unavailable:{EXPECTED_REASON[status]}"
            if state != expected:
                bad(t["id"], f"{status} in the world: expected {expected}, the db has {state}")
    return {"checked": checked, "mismatched": mismatched, "world_statuses": dict(statuses),
            "world_status_vs_db_state": dict(states), "examples": examples}
