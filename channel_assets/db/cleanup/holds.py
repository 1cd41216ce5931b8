"""Why a removal is held, told apart for the humans who release it.

A safety hold (the impact rules stopped a soft or hard delete) waits for an `override_held_removals` run;
an operator hold (a human restored the channel) waits for that human's next decision.
"""

from __future__ import annotations

SAFETY_HOLD = "safety hold: "
OPERATOR_HOLD = "restored by "


def hold_label(reason: str, soft_deleted: bool) -> str:
    """"safety hold at hard delete: 12000 watch rows >= 10000" and the like: which kind, at which stage."""
    stage = "at hard delete" if soft_deleted else "at soft delete"
    if reason.startswith(SAFETY_HOLD):
        return f"safety hold {stage}: {reason.removeprefix(SAFETY_HOLD)}"
    if reason.startswith(OPERATOR_HOLD):
        return f"operator hold {stage}: {reason}"
    return f"hold {stage}: {reason}"
