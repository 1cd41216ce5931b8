"""What the requests sensor decides each tick, as a plain function: which runs to request, which requests
a dead run left behind.

- Queued requests not sent yet go into new runs (at most MAX_PER_RUN requests each); a run's key is a hash
  of its request ids, so a tick that repeats itself requests nothing twice (Dagster skips a known key).
- Requests sent but still queued: their run is looked up by its key. Not created yet (the daemon was
  down, or the run queue is long): the same run is requested again with the same key (a no-op when it
  exists). Finished without taking them (failed or canceled before its step started): failed, with why.
- Running requests whose run has ended (failure, cancel, a crashed process the run monitor marked
  failed, or a success that never finished them) are failed with the run's status: the app can send
  them again.
The cursor remembers which requests each key carries, only while some of them are still queued.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

MAX_PER_RUN = 100
KEY_PREFIX = "app-requests-"
# A run status is one of Dagster's DagsterRunStatus values, by name; these mean the run will do nothing more.
ENDED = frozenset({"SUCCESS", "FAILURE", "CANCELED"})


@dataclass(frozen=True)
class RunPlan:
    run_key: str
    request_ids: tuple[int, ...]


@dataclass
class Dispatch:
    runs: list[RunPlan] = field(default_factory=list)
    failed: list[tuple[list[int], str]] = field(default_factory=list)  # (request ids, one-line reason)
    waiting: int = 0  # sent, their run not started or not finished yet
    cursor: str = "{}"


def run_key(request_ids: Sequence[int]) -> str:
    return KEY_PREFIX + hashlib.sha256(",".join(map(str, sorted(request_ids))).encode()).hexdigest()[:24]


def dispatch(pending: Sequence[dict], cursor: str | None, *, run_status: Callable[[str], str | None],
             run_by_key: Callable[[str], tuple[str, str] | None], max_per_run: int = MAX_PER_RUN) -> Dispatch:
    """`pending`: the queued and running requests (id, status, run_id). `run_status(run_id)` is the run's
    status name or None when the instance has no such run; `run_by_key(key)` is (run id, status) or None."""
    sent: dict[str, list[int]] = json.loads(cursor) if cursor else {}
    out = Dispatch()
    by_run: dict[str, list[int]] = {}
    for r in pending:
        if r["status"] == "running":
            by_run.setdefault(r["run_id"], []).append(r["id"])
    for run_id, ids in sorted(by_run.items()):
        status = run_status(run_id)
        if status is None:
            out.failed.append((ids, f"its run {run_id} is not in the Dagster instance; send it again"))
        elif status in ENDED:
            out.failed.append((ids, f"its run {run_id} ended ({status.lower()}) before finishing the request; "
                                    "send it again"))
    queued = {r["id"] for r in pending if r["status"] == "queued"}
    keep: dict[str, list[int]] = {}
    for key, ids in sent.items():
        waiting = [i for i in ids if i in queued]
        if not waiting:
            continue
        found = run_by_key(key)
        if found is None:
            out.runs.append(RunPlan(key, tuple(ids)))  # not created yet: ask again, same key
        elif found[1] in ENDED:
            out.failed.append((waiting, f"its run {found[0]} ended ({found[1].lower()}) before it took the "
                                        "request; send it again"))
            continue
        out.waiting += len(waiting)
        keep[key] = ids
    already = {i for ids in sent.values() for i in ids}
    new = sorted(queued - already)
    for start in range(0, len(new), max_per_run):
        ids = new[start : start + max_per_run]
        key = run_key(ids)
        out.runs.append(RunPlan(key, tuple(ids)))
        keep[key] = ids
        out.waiting += len(ids)
    out.cursor = json.dumps(keep, sort_keys=True)
    return out
