"""The run's quota gate: units reserved from the ledger in blocks, handed out one call at a time.

One ledger transaction per call cost ~1 ms of a fetch thread's time and a database round trip under
the GIL (2,000 of them in a 100k refresh). The gate takes blocks instead (1, 2, 4, … up to MAX_BLOCK
units, so a small run reserves little) and gives back what it did not use in ``release()``, which
every step calls when it ends. The ledger grants only what is left under the share, so several runs
at once still never overshoot.

Once blocks are full-sized, the gate tops up ahead: the call that leaves fewer than a quarter of a block
held asks the ledger for what brings the holding back to one block, outside the lock, while the other
threads go on spending what is held. Before, every thread that needed a unit waited on the lock for that
round trip, 631 times in a 1M refresh at 0 ms. Never more than one block is held or being asked for, so
a killed run still leaves at most one block unreturned (counted as spent).

Exact per-batch attribution: worker threads run one batch at a time, so a thread-local count taken
around a call is exactly the units that batch spent (retries included); logs then carry them and
their sum equals the calls made.
"""

from __future__ import annotations

import threading
from datetime import date

from channel_assets.db.refresh.quota_ledger import QuotaLedger, QuotaStatus

MAX_BLOCK = 32


class CountingGate:
    """The YouTube client's QuotaGate on a QuotaLedger; counts the units used per thread and in total."""

    def __init__(self, ledger: QuotaLedger, max_block: int = MAX_BLOCK) -> None:
        self.ledger = ledger
        self.max_block = max_block
        self._local = threading.local()
        self._cond = threading.Condition()
        self._day: date | None = None
        self._held = 0  # reserved in the ledger for self._day, not used yet
        self._next_block = 1
        self._reserving = False  # a thread is in the ledger for the next block (lock released)
        self._denied_day: date | None = None  # the ledger granted nothing more on this day
        self.total = 0

    def try_reserve(self, units: int) -> bool:
        while True:
            with self._cond:
                if self._day is not None and self._day != self.ledger.today():
                    self._give_back()  # a new Pacific day: the old day's units are no use
                    self._day = None
                if self._held >= units and (self._reserving or not self._wants_block_ahead(units)):
                    self._take(units)
                    return True
                if self._reserving:  # nothing held: wait for the block another thread is reserving
                    self._cond.wait()
                    continue
                if self._held < units and self._denied_day is not None and self._denied_day == self._day:
                    return False
                self._reserving = True
                block = max(self._next_block, units) - self._held  # up to one block held, no more
            try:
                day, granted = self.ledger.reserve_block(block)
            except BaseException:
                with self._cond:
                    self._reserving = False
                    self._cond.notify_all()
                raise
            with self._cond:
                self._reserving = False
                self._cond.notify_all()
                self._add_block(day, granted)
                if self._held >= units:  # its own units first: a release() waiting for this block comes after
                    self._take(units)
                    return True

    def _add_block(self, day: date, granted: int) -> None:
        if day != self._day:
            self._give_back()
            self._day = day
        if granted:
            self._held += granted
            self._next_block = min(self._next_block * 2, self.max_block)
        else:
            self._denied_day = day  # spend what is held, then refuse (no ledger trip per call)

    def _wants_block_ahead(self, units: int) -> bool:
        """Full-sized blocks, under a quarter of one left after this call, no refusal today."""
        return (self._next_block == self.max_block and self._held - units < self.max_block // 4
                and self._denied_day != self._day)

    def _take(self, units: int) -> None:
        self._held -= units
        self.total += units
        self._local.units = getattr(self._local, "units", 0) + units

    def release(self) -> None:
        """Give the unused rest of the block back to the ledger (end of a step; safe to call twice); waits
        for a block being reserved ahead, so none comes in after the step."""
        with self._cond:
            while self._reserving:
                self._cond.wait()
            self._give_back()

    def _give_back(self) -> None:
        if self._day is not None and self._held:
            self.ledger.release(self._day, self._held)
        self._held = 0

    def mark_exhausted(self) -> None:
        """The API said quotaExceeded: the held units will not be spent today either."""
        self.release()
        self.ledger.mark_exhausted()

    def status(self) -> QuotaStatus:
        return self.ledger.status()

    def thread_units(self) -> int:
        return getattr(self._local, "units", 0)
