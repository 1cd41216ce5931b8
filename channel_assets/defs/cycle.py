"""The run's cycle as Dagster sees it: the `now` a run may pin (config), and the cycle time checks judge at.

Every asset that works on a cycle records its time as `cycle_now` in its metadata, and its checks read it
back through `checked_cycle`, so a run with a pinned `now` (the demo follows the emulator's clock; tests)
is checked at that time, and a check evaluated before any materialization judges at the wall clock.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from channel_assets.cycle import Cycle

CYCLE_NOW = "cycle_now"


class CycleConfig(dg.Config):
    """`now` (ISO-8601) replaces the wall clock for this run: the demo follows the emulator's clock."""

    now: str | None = None

    def cycle(self, context: dg.OpExecutionContext | dg.AssetExecutionContext, actor: str) -> Cycle:
        """This run's cycle, acting as `actor`: at the pinned `now` when given, else the wall clock."""
        if not self.now:
            return Cycle.starting_now(context.run.run_id, actor)
        try:
            value = datetime.fromisoformat(self.now.replace("Z", "+00:00"))
        except ValueError:
            raise dg.Failure(f"config 'now' must be an ISO-8601 timestamp, got {self.now!r}") from None
        return Cycle(value if value.tzinfo else value.replace(tzinfo=UTC), context.run.run_id, actor)


def cycle_metadata(cycle: Cycle) -> dict[str, str]:
    return {CYCLE_NOW: cycle.now.isoformat()}


def checked_cycle(context: dg.AssetCheckExecutionContext, asset: dg.AssetsDefinition) -> tuple[datetime, dict]:
    """(the cycle time to judge at, the plain metadata) of `asset`'s latest materialization: its recorded
    `cycle_now`, or the wall clock and {} when it has none yet."""
    event = context.instance.get_latest_materialization_event(asset.key)
    metadata = {k: v.value for k, v in event.asset_materialization.metadata.items()} \
        if event and event.asset_materialization else {}
    now = datetime.fromisoformat(metadata[CYCLE_NOW]) if metadata.get(CYCLE_NOW) else datetime.now(UTC)
    return now, metadata
