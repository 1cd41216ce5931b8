"""Forced refresh of chosen channels (seed 000's force update): validated ids, refreshed now whatever their tier, within quota."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine

from channel_assets.cycle import Cycle
from channel_assets.db.refresh.selection import DueChannel, live_channels
from channel_assets.refresh.metadata import RefreshSummary, plan_within_budget, refresh_channels
from channel_assets.refresh.quota_gate import CountingGate
from channel_assets.youtube import YouTubeClient, validate_channel_ids

MAX_FORCED = 5_000


class UnknownChannels(ValueError):
    """Ids that are well formed but not in videos_channel: the gallery app creates channel rows, not us."""


def resolve_channels(engine: Engine, channel_ids: Sequence[str]) -> list[DueChannel]:
    """Validate (raises InvalidChannelId naming the bad id) and look the ids up; nothing is changed."""
    ids = validate_channel_ids(channel_ids)
    if not ids:
        raise ValueError("no channel ids given")
    if len(ids) > MAX_FORCED:
        raise ValueError(f"at most {MAX_FORCED} channel ids per forced refresh, got {len(ids)}")
    found = live_channels(engine, ids)
    unknown = [cid for cid in ids if cid not in found]
    if unknown:
        shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        raise UnknownChannels(f"not in videos_channel (or soft-deleted): {shown}")
    return [found[cid] for cid in ids]


def force_refresh(engine: Engine, client: YouTubeClient, gate: CountingGate, cycle: Cycle,
                  channel_ids: Sequence[str], *, in_flight: int = 16) -> RefreshSummary:
    channels = resolve_channels(engine, channel_ids)
    planned, deferred = plan_within_budget(channels, gate.status().left)
    summary = refresh_channels(engine, client, gate, cycle, planned, in_flight=in_flight)
    summary.due = len(channels)
    for tier, n in deferred.items():
        summary.deferred[tier] = summary.deferred.get(tier, 0) + n
    return summary
