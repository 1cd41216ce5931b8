"""Operator tools for problem channels (seed 000: force update, failed-updates review): what each action
sets. The CLI and the `set_channel_flags` job share this one definition; db.channel_flags writes it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine

from channel_assets.cycle import Cycle
from channel_assets.db.refresh.operator_changes import DUE_NOW, change_channels
from channel_assets.refresh.tiers import INTERVALS
from channel_assets.youtube import validate_channel_ids

MAX_CHANNELS = 1_000
# action -> the columns it sets (pin_frequency also sets update_frequency). DUE_NOW makes the channel due at
# once, so a reset, re-enabled or critical channel is refreshed by the next run instead of waiting.
ACTIONS: dict[str, dict[str, object]] = {
    "mark_critical": {"is_critical": True, "next_refresh_at": DUE_NOW},
    "unmark_critical": {"is_critical": False},
    "pin_frequency": {"frequency_pinned": True},
    "unpin_frequency": {"frequency_pinned": False},
    "reset_failures": {"failed_update_count": 0, "last_error": None, "next_refresh_at": DUE_NOW},
    "mark_available": {"is_available": True, "unavailable_reason": None, "missing_since": None,
                       "failed_update_count": 0, "next_refresh_at": DUE_NOW},
    "mark_unavailable": {"is_available": False, "unavailable_reason": "operator"},
}


def apply_channel_action(engine: Engine, action: str, channel_ids: Sequence[str], *, reason: str, cycle: Cycle,
                         frequency: str | None = None) -> int:
    """Validate everything first (ValueError / InvalidChannelId / UnknownChannelIds, one line, nothing
    changed), then apply the action to every channel in one transaction. Returns channels changed."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}: one of {', '.join(ACTIONS)}")
    if not reason.strip() or not cycle.actor.strip():
        raise ValueError("a reason and an actor are required (they go into the update log)")
    if (frequency is not None) != (action == "pin_frequency"):
        raise ValueError("pin_frequency needs a frequency (daily, weekly or monthly); other actions take none")
    if frequency is not None and frequency not in INTERVALS:
        raise ValueError(f"unknown frequency {frequency!r}: one of {', '.join(INTERVALS)}")
    ids = validate_channel_ids(channel_ids)
    if not ids:
        raise ValueError("no channel ids given")
    if len(ids) > MAX_CHANNELS:
        raise ValueError(f"at most {MAX_CHANNELS} channel ids at once, got {len(ids)}")
    values = dict(ACTIONS[action]) | ({"update_frequency": frequency} if frequency else {})
    return change_channels(engine, ids, values, action=action, reason=reason.strip(),
                           cycle=cycle.by(cycle.actor.strip()))
