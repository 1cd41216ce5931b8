"""The sensor's decisions as a plain function: run keys, re-asking a run not created yet, dead runs."""

from __future__ import annotations

from channel_assets.requests.dispatch import dispatch, run_key


def q(*ids: int) -> list[dict]:
    return [{"id": i, "status": "queued", "run_id": None} for i in ids]


def none(_):
    return None


def test_new_requests_are_batched_under_a_key_of_their_ids_and_asked_again_until_the_run_exists():
    first = dispatch(q(3, 1, 2), None, run_status=none, run_by_key=none, max_per_run=2)
    assert [(r.run_key, r.request_ids) for r in first.runs] == [(run_key([1, 2]), (1, 2)), (run_key([3]), (3,))]
    assert run_key([2, 1]) == run_key([1, 2]) != run_key([1, 2, 3])
    again = dispatch(q(1, 2, 3, 4), first.cursor, run_status=none, run_by_key=none, max_per_run=2)
    assert [r.request_ids for r in again.runs] == [(1, 2), (3,), (4,)]  # same keys for 1-3, a new run for 4
    assert again.runs[0].run_key == first.runs[0].run_key and again.waiting == 4


def test_a_created_run_is_waited_for_and_dropped_once_its_requests_are_taken():
    first = dispatch(q(1), None, run_status=none, run_by_key=none)
    key = first.runs[0].run_key
    started = dispatch(q(1), first.cursor, run_status=none, run_by_key=lambda k: ("r1", "STARTED"))
    assert started.runs == [] and started.failed == [] and started.waiting == 1
    taken = dispatch([{"id": 1, "status": "running", "run_id": "r1"}], started.cursor,
                     run_status=lambda run_id: "STARTED", run_by_key=lambda k: ("r1", "STARTED"))
    assert taken.runs == [] and taken.failed == [] and taken.cursor == "{}"
    assert key.startswith("app-requests-")


def test_dead_runs_fail_their_requests():
    ended = dispatch([{"id": 5, "status": "running", "run_id": "r9"}, {"id": 6, "status": "running", "run_id": "r8"}],
                     None, run_status=lambda run_id: {"r9": "CANCELED"}.get(run_id), run_by_key=none)
    assert ended.failed == [([6], "its run r8 is not in the Dagster instance; send it again"),
                            ([5], "its run r9 ended (canceled) before finishing the request; send it again")]
    first = dispatch(q(7), None, run_status=none, run_by_key=none)
    never = dispatch(q(7), first.cursor, run_status=none, run_by_key=lambda k: ("r7", "FAILURE"))
    assert never.failed == [([7], "its run r7 ended (failure) before it took the request; send it again")]
    assert never.runs == [] and never.cursor == "{}"
