"""Run-level knobs shared by the assets: the cycle's clock, overridable for demos and tests."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg


class CycleConfig(dg.Config):
    """`now` (ISO-8601) replaces the wall clock for this run: the demo follows the emulator's clock."""

    now: str | None = None

    def resolve_now(self) -> datetime:
        if not self.now:
            return datetime.now(UTC)
        try:
            value = datetime.fromisoformat(self.now.replace("Z", "+00:00"))
        except ValueError:
            raise dg.Failure(f"config 'now' must be an ISO-8601 timestamp, got {self.now!r}") from None
        return value if value.tzinfo else value.replace(tzinfo=UTC)
