"""One run's clock and identity, passed whole instead of (now, ledger clock, run id, actor).

A cycle's `now` is one moment for the whole run, so every row it writes and every decision it makes
(what is due, what is past its cool-down) refers to the same time. The quota ledger is the exception: in
production it follows the wall clock, so a run that passes midnight Pacific spends the new day's quota;
when a run pins its time (the demo follows the emulator's clock, tests fix it) the ledger follows the
pinned time too.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime


@dataclass(frozen=True)
class Cycle:
    now: datetime
    run_id: str | None = None
    actor: str = "pipeline"  # who the audit rows name: an asset, a job, a sensor or an operator
    pinned: bool = True  # False: `now` is the wall clock at the run's start, and the ledger follows the wall

    @classmethod
    def starting_now(cls, run_id: str | None = None, actor: str = "pipeline") -> Cycle:
        return cls(datetime.now(UTC), run_id, actor, pinned=False)

    def ledger_now(self) -> datetime:
        """The time the quota ledger books units at (see the module docstring)."""
        return self.now if self.pinned else datetime.now(UTC)

    def by(self, actor: str) -> Cycle:
        """The same cycle, acting as `actor`."""
        return replace(self, actor=actor)
