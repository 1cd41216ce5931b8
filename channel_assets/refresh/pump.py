"""The fetch-and-write pump the refresh passes share: API work in a thread pool, bounded ahead of the
writers, answers written in groups, and one clean stop when the quota is spent or the API's circuit opens.

The calling thread submits items while at most `window` are outstanding (memory stays bounded whatever
the size of the pass), collects the answers as they arrive, and hands whatever is ready to a writer as
one group: it waits up to `max_wait_s` for `min_group` answers (a transaction costs a few round trips
whatever its size, so tiny groups waste the writer), takes at most `max_group`, and keeps up to
`writers` groups in flight, each in its own transaction (the items' rows are disjoint, so two writers
never touch the same row).

A write that the database refuses for a reason that passes (lock or statement timeout, deadlock,
serialization failure: `db.core.engine.is_retryable`) rolled back whole; the group is written again after
the others, up to WRITE_ATTEMPTS times with a growing pause, and then handed to `give_up` (its items wait
for the next run). Such a write never fails the run.

Every API call of a fetch goes through `Pump.call`. A spent quota share, YouTube's quotaExceeded, an
open circuit breaker or a configuration error (bad key, wrong URL) stops the pump: items not started
come back as `unfinished`, answers already fetched are still written, the reason is kept in `stopped`,
and a configuration error is raised once every started write has ended (`close`).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from queue import Empty, SimpleQueue
from threading import Event, Lock
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine

from channel_assets.cycle import Cycle
from channel_assets.db.audit.update_log import log_run_stop
from channel_assets.db.core.engine import is_retryable
from channel_assets.refresh.collector import quiet_collector
from channel_assets.refresh.error_types import CIRCUIT_OPEN, QUOTA_EXCEEDED, TRANSIENT
from channel_assets.youtube import (
    CircuitOpen,
    ConfigurationError,
    QuotaExceeded,
    QuotaShareExhausted,
    YouTubeError,
    one_line,
)

WRITE_ATTEMPTS = 4
WRITE_RETRY_PAUSE_S = 0.5  # times the attempt number: app transactions holding a row are short

Item = TypeVar("Item")
Answer = TypeVar("Answer")


class Stopped(Exception):
    """Raised to a fetcher by `Pump.call` once the pump has stopped: return what is fetched so far."""


@dataclass
class StopReasons:
    quota: str | None = None  # the share was spent, or YouTube answered quotaExceeded
    circuit: str | None = None  # the client's circuit breaker opened: the API is down, not the items


@dataclass(frozen=True)
class Grouping:
    """How answers become write transactions (see the module docstring)."""

    min_group: int = 1
    max_group: int = 1
    max_wait_s: float = 0.0
    writers: int = 1


@dataclass
class PumpResult:
    written: list[Any] = field(default_factory=list)  # what each write returned, in write order
    unfinished: list[Any] = field(default_factory=list)  # items never fetched because the pump stopped


@dataclass
class CountedCall:
    """One API call of a fetch thread: its answer, or the failure or the pump's stop that took its place."""

    answer: Any = None
    error: YouTubeError | None = None
    stopped: bool = False  # the pump stopped (quota, breaker) before or during the call
    units: int = 0
    ms: int = 0


class Pump(Generic[Item, Answer]):
    def __init__(self, fetch: Callable[[Item], Answer], write: Callable[[list[Answer]], Any],
                 give_up: Callable[[list[Answer], BaseException], None], *, in_flight: int, grouping: Grouping,
                 name: str) -> None:
        self._fetch, self._write, self._give_up, self.grouping = fetch, write, give_up, grouping
        self.in_flight = max(in_flight, 1)
        self.stopping = Event()
        self.stopped = StopReasons()
        self.fatal: ConfigurationError | None = None
        self._lock = Lock()
        self._pool = ThreadPoolExecutor(self.in_flight, thread_name_prefix=f"{name}-fetch")
        self._writers = ThreadPoolExecutor(grouping.writers, thread_name_prefix=f"{name}-write")

    def counted_call(self, gate, fn: Callable, *args) -> CountedCall:
        """``call`` measured for the fetcher's log row: the answer, or the error or stop instead, with the units
        the calling thread spent (``gate.thread_units``) and the milliseconds it took."""
        out = CountedCall()
        before, start = gate.thread_units(), time.perf_counter()
        try:
            out.answer = self.call(fn, *args)
        except Stopped:
            out.stopped = True
        except YouTubeError as exc:
            out.error = exc
        out.units = gate.thread_units() - before
        out.ms = int((time.perf_counter() - start) * 1000)
        return out

    def call(self, fn: Callable, *args):
        """One API call on a fetcher's behalf; raises Stopped when the pump has stopped or this call stops it.
        Any other error reaches the fetcher as it is (a failed batch, a failed channel)."""
        if self.stopping.is_set():
            raise Stopped
        try:
            return fn(*args)
        except (QuotaShareExhausted, QuotaExceeded) as exc:
            self._stop("quota", exc)
        except CircuitOpen as exc:
            self._stop("circuit", exc)
        except ConfigurationError as exc:
            with self._lock:
                self.fatal = self.fatal or exc
            self._stop(None, exc)
        raise Stopped

    def _stop(self, kind: str | None, exc: Exception) -> None:
        with self._lock:
            if kind is not None and getattr(self.stopped, kind) is None:
                setattr(self.stopped, kind, one_line(exc))
        self.stopping.set()

    def _fetch_unless_stopped(self, item: Item) -> tuple[Item, Answer | None]:
        return item, None if self.stopping.is_set() else self._fetch(item)

    def _write_once(self, answers: list[Answer]) -> tuple[bool, Any]:
        """(True, what the write returned), or (False, (answers, error)) when the database refused it for a
        reason that passes; any other error goes up."""
        try:
            return True, self._write(answers)
        except Exception as exc:
            if not is_retryable(exc):
                raise
            return False, (answers, exc)

    @quiet_collector()
    def run(self, items: Sequence[Item]) -> PumpResult:
        """Fetch and write every item; see the module docstring."""
        g = self.grouping
        result = PumpResult()
        ready: SimpleQueue[Future] = SimpleQueue()
        pending = iter(items)
        window = self.in_flight + 2 * g.max_group
        outstanding = 0
        writes: deque[Future] = deque()
        refused: list[tuple[list[Answer], BaseException]] = []

        def fill() -> None:
            nonlocal outstanding
            while outstanding < window:
                item = next(pending, None)
                if item is None:
                    return
                self._pool.submit(self._fetch_unless_stopped, item).add_done_callback(ready.put)
                outstanding += 1

        try:
            fill()
            while outstanding:
                group = [ready.get()]
                deadline = time.monotonic() + g.max_wait_s
                while len(group) < min(g.min_group, outstanding):
                    try:
                        group.append(ready.get(timeout=max(deadline - time.monotonic(), 0)))
                    except Empty:
                        break
                while len(group) < g.max_group and not ready.empty():
                    group.append(ready.get())
                outstanding -= len(group)
                fill()  # keep the API busy while this group is written
                answers = []
                for item, answer in (fut.result() for fut in group):
                    if answer is None:
                        result.unfinished.append(item)
                    else:
                        answers.append(answer)
                if answers:
                    writes.append(self._writers.submit(self._write_once, answers))
                while len(writes) >= g.writers or (writes and writes[0].done()):
                    self._collect(writes.popleft().result(), result, refused)
            while writes:
                self._collect(writes.popleft().result(), result, refused)
        except BaseException:
            self.stopping.set()  # what is still in flight skips its calls; nothing is half-written
            wait(writes)  # every started group is committed or rolled back before the error goes up
            raise
        for attempt in range(1, WRITE_ATTEMPTS):
            if not refused:
                break
            time.sleep(WRITE_RETRY_PAUSE_S * attempt)
            again, refused = refused, []
            for answers, _ in again:
                self._collect(self._write_once(answers), result, refused)
        for answers, exc in refused:
            self._give_up(answers, exc)
        return result

    @staticmethod
    def _collect(outcome: tuple[bool, Any], result: PumpResult, refused: list) -> None:
        ok, value = outcome
        if ok:
            result.written.append(value)
        else:
            refused.append(value)

    def stop_reason(self) -> tuple[str, str]:
        """(error_type, message) for the log row of work the stop cut short after it had spent units: its own
        calls failed transiently until the breaker opened, or the quota ran out under it. The breaker's own
        `circuit_open` row is the run-level one (record_circuit_stop)."""
        if self.stopped.circuit:
            return TRANSIENT, f"transient failures until the API's circuit breaker opened: {self.stopped.circuit}"
        if self.fatal is not None:
            return "error", one_line(self.fatal)
        return QUOTA_EXCEEDED, self.stopped.quota or "the quota ran out during this work"

    def record_circuit_stop(self, engine: Engine, cycle: Cycle, update_type: str, deferred: int) -> None:
        """The run-level update-log row of an open breaker (the alerts read it), if it stopped this pump."""
        if self.stopped.circuit:
            log_run_stop(engine, cycle, update_type, CIRCUIT_OPEN, self.stopped.circuit, deferred)

    def close(self) -> None:
        """Wait for the pools; then raise the configuration error that stopped the pump, if any."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._writers.shutdown(wait=True)
        if self.fatal is not None:
            raise self.fatal
