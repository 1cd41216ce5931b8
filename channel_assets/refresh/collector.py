"""The cyclic garbage collector held back while a refresh pass runs.

A pass allocates tens of objects per item (rows read, decoded answers, parsed records, COPY rows), keeps
a group's worth alive until its writer commits, then lets them go. Reference counting frees nearly all
of it, but the collector counts allocations: every 700 net new objects start a young collection, and the
survivors soon start a full one, which walks every object the process holds (some 280,000 of Dagster,
SQLAlchemy and the modules: ~0.2 s each). A 300k-video refresh made 22 full collections, 4.5-4.9 s of
its CPU; at 1M perf put the collector at a quarter of the pipeline process's CPU.

`quiet_collector()` freezes what lives when the pass starts (`gc.freeze`: later collections skip it; it
is the process's long-lived heap, not the pass's garbage) and raises the young threshold to
YOUNG_THRESHOLD: the same 300k refresh made no full collection and 65 young ones, 0.3-0.4 s. Both are
undone when the last pass in the process ends (passes may nest, or overlap in threads), except a freeze
the process had made before: that heap stays frozen. Collection still runs: a reference cycle the pass
makes is freed, only later.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 100_000

_lock = threading.Lock()
_depth = 0
_saved: tuple[int, ...] = ()
_frozen_before = False


@contextmanager
def quiet_collector() -> Iterator[None]:
    """Freeze the heap and collect less often for the duration (see the module docstring)."""
    global _depth, _saved, _frozen_before
    with _lock:
        if _depth == 0:
            _saved, _frozen_before = gc.get_threshold(), gc.get_freeze_count() > 0
            gc.freeze()
            if _saved[0]:  # 0: automatic collection is off, and stays off
                gc.set_threshold(max(YOUNG_THRESHOLD, _saved[0]), *_saved[1:])
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                gc.set_threshold(*_saved)
                if not _frozen_before:  # a heap the process's owner froze stays frozen
                    gc.unfreeze()
