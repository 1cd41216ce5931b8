"""The run's quota gate: units reserved from the ledger in blocks, handed out one call at a time.

One ledger transaction per call cost ~1 ms of a fetch thread's time and a database round trip under
the GIL (2,000 of them in a 100k refresh). The gate takes blocks instead (1, 2, 4, … up to MAX_BLOCK
units, so a small run reserves little) and gives back what it did not use in ``release()``, which
every step calls when it ends. The ledger grants only what is left under the share, so several runs
at once still never overshoot; a killed run leaves at most one block unreturned (counted as spent).

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
        self._lock = threading.Lock()
        self._day: date | None = None
        self._held = 0  # reserved in the ledger for self._day, not used yet
        self._next_block = 1
        self.total = 0

    def try_reserve(self, units: int) -> bool:
        with self._lock:
            if self._day is not None and self._day != self.ledger.today():
                self._give_back()  # a new Pacific day: the old day's units are no use
            while self._held < units:
                day, granted = self.ledger.reserve_block(max(self._next_block, units - self._held))
                if not granted:
                    return False
                if day != self._day:
                    self._give_back()
                    self._day = day
                self._held += granted
                self._next_block = min(self._next_block * 2, self.max_block)
            self._held -= units
            self.total += units
        self._local.units = getattr(self._local, "units", 0) + units
        return True

    def release(self) -> None:
        """Give the unused rest of the block back to the ledger (end of a step; safe to call twice)."""
        with self._lock:
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
