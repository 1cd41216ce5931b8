"""Exact per-batch quota attribution: the client reserves each attempt's unit through this gate.

Worker threads run one batch at a time, so a thread-local count taken around a call is exactly the
units that batch spent (retries included); logs then carry them and their sum equals the calls made.
"""

from __future__ import annotations

import threading

from channel_assets.db.quota_ledger import QuotaLedger, QuotaStatus


class CountingGate:
    """Wraps the QuotaLedger (the client's QuotaGate); counts granted units per thread and in total."""

    def __init__(self, ledger: QuotaLedger) -> None:
        self.ledger = ledger
        self._local = threading.local()
        self._lock = threading.Lock()
        self.total = 0

    def reserve(self, units: int) -> None:
        self.ledger.reserve(units)
        self._local.units = getattr(self._local, "units", 0) + units
        with self._lock:
            self.total += units

    def mark_exhausted(self) -> None:
        self.ledger.mark_exhausted()

    def status(self) -> QuotaStatus:
        return self.ledger.status()

    def thread_units(self) -> int:
        return getattr(self._local, "units", 0)
