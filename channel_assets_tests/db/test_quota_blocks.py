"""Quota reserved in blocks: never past the share, whatever runs at once; unused units come back."""

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime

from channel_assets.db.core.engine import make_engine
from channel_assets.db.refresh.quota_ledger import QuotaLedger, quota_day
from channel_assets.refresh.quota_gate import CountingGate

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
LIMIT = 100


def _run(url: str, wanted: int, max_block: int = 8) -> int:
    """One run: its own gate spends up to `wanted` units one call at a time, then gives back the rest."""
    engine = make_engine(url)
    gate = CountingGate(QuotaLedger(engine, LIMIT, now=lambda: NOW), max_block=max_block)
    used = 0
    while used < wanted and gate.try_reserve(1):
        used += 1
    gate.release()
    engine.dispose()
    return used


def _reserved(engine) -> tuple[int, int]:
    status = QuotaLedger(engine, LIMIT, now=lambda: NOW).status()
    return status.reserved, status.used


def test_a_block_is_granted_up_to_what_is_left_and_released_units_return(engine):
    ledger = QuotaLedger(engine, 10, now=lambda: NOW)
    day = ledger.today()
    assert ledger.reserve_block(8) == (day, 8)
    assert ledger.reserve_block(8) == (day, 2)
    assert ledger.reserve_block(1) == (day, 0)
    ledger.release(day, 3)
    assert ledger.reserve_block(5) == (day, 3)
    assert (ledger.status().reserved, ledger.status().used) == (10, 10)


def test_gate_gives_back_the_unused_rest_of_its_block(engine):
    gate = CountingGate(QuotaLedger(engine, LIMIT, now=lambda: NOW), max_block=32)
    for _ in range(5):  # blocks of 1, 2, 4: 7 units reserved for 5 calls
        assert gate.try_reserve(1)
    assert _reserved(engine) == (7, 7)
    gate.release()
    gate.release()
    assert _reserved(engine) == (5, 5) and gate.total == 5


def test_mark_exhausted_gives_back_the_block(engine):
    gate = CountingGate(QuotaLedger(engine, LIMIT, now=lambda: NOW))
    for _ in range(3):
        gate.try_reserve(1)
    gate.mark_exhausted()
    assert _reserved(engine) == (3, 3)
    assert not gate.try_reserve(1) and gate.status().exhausted


def test_threads_reserving_blocks_never_overshoot_and_returned_units_are_available(pg_engine, pg_url):
    used = [0] * 8
    barrier = threading.Barrier(len(used))

    def worker(i: int) -> None:
        barrier.wait()
        used[i] = _run(pg_url, wanted=30)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(used))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 0 < sum(used) <= LIMIT  # blocks were handed out, never past the share
    assert _reserved(pg_engine) == (sum(used), sum(used))  # every unused block unit came back
    assert _run(pg_url, wanted=LIMIT) == LIMIT - sum(used)  # and can be spent by the next run


def test_processes_reserving_blocks_never_overshoot_and_returned_units_are_available(pg_engine, pg_url):
    with ProcessPoolExecutor(3, mp_context=multiprocessing.get_context("spawn")) as pool:
        used = list(pool.map(_run, [pg_url] * 3, [45] * 3))
    assert 0 < sum(used) <= LIMIT
    assert _reserved(pg_engine) == (sum(used), sum(used))
    assert _run(pg_url, wanted=LIMIT) == LIMIT - sum(used)


class _SlowLedger:
    """A ledger double (no database) whose `hold`-th reserve_block blocks until `proceed` is set."""

    def __init__(self, limit: int = 10**6, hold: int | None = None) -> None:
        self.limit, self.hold = limit, hold
        self.day = quota_day(NOW)
        self.asked: list[int] = []
        self.reserved = self.released = 0
        self.entered, self.proceed = threading.Event(), threading.Event()

    def today(self):
        return self.day

    def reserve_block(self, units: int):
        self.asked.append(units)
        if len(self.asked) == self.hold:
            self.entered.set()
            assert self.proceed.wait(30)
        granted = min(units, self.limit - self.reserved)
        self.reserved += granted
        return self.day, granted

    def release(self, day, units: int) -> None:
        self.released += units


def _in_thread(fn):
    out: list = []
    thread = threading.Thread(target=lambda: out.append(fn()))
    thread.start()
    return thread, out


def test_the_next_full_block_is_reserved_ahead_while_other_threads_spend_what_is_held():
    ledger = _SlowLedger(hold=3)  # blocks of 1 and 2, then a top-up to one full block (4) is asked for ahead
    gate = CountingGate(ledger, max_block=4)
    assert gate.try_reserve(1) and gate.try_reserve(1)  # held: 1 of the block of 2
    ahead, out = _in_thread(lambda: gate.try_reserve(1))
    assert ledger.entered.wait(30)
    assert gate.try_reserve(1)  # the held unit, while the block ahead is still in the ledger
    ledger.proceed.set()
    ahead.join(30)
    assert out == [True] and ledger.asked == [1, 2, 3] and gate.total == 4  # 1 held + 3: one block
    gate.release()
    assert ledger.reserved - ledger.released == gate.total == 4


def test_release_waits_for_a_block_being_reserved_ahead_and_gives_it_back():
    ledger = _SlowLedger(hold=3)
    gate = CountingGate(ledger, max_block=4)
    assert gate.try_reserve(1) and gate.try_reserve(1)
    ahead, _ = _in_thread(lambda: gate.try_reserve(1))
    assert ledger.entered.wait(30)
    waiting = threading.Event()
    wait = gate._cond.wait
    gate._cond.wait = lambda *a: (waiting.set(), wait(*a))[1]
    releasing, _ = _in_thread(gate.release)
    assert waiting.wait(30)  # release() is waiting for the block ahead, not returning before it lands
    ledger.proceed.set()
    ahead.join(30)
    releasing.join(30)
    assert ledger.reserved == 6 and ledger.released == ledger.reserved - gate.total == 3


def test_after_a_refusal_the_held_units_are_spent_then_calls_are_refused_without_asking_again():
    ledger = _SlowLedger(limit=5)
    gate = CountingGate(ledger, max_block=4)
    granted = [gate.try_reserve(1) for _ in range(8)]
    assert granted == [True] * 5 + [False] * 3
    assert ledger.asked == [1, 2, 3, 3]  # 1 + 2 + 2 of 3 granted; the refusal (3 → 0) is asked once
    gate.release()
    assert ledger.reserved == 5 and ledger.released == 0 and gate.total == 5
