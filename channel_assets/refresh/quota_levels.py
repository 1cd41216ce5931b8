"""Seed 000's quota levels, defined once: the asset checks, the alerts and the report read these."""

from __future__ import annotations

from dataclasses import dataclass

from channel_assets.db.refresh.quota_ledger import QuotaStatus

# A warning when today's use passes 75% of the pipeline's share, an error at 80% of the day's whole quota.
QUOTA_WARN_PCT_OF_SHARE = 75
QUOTA_ERROR_PCT_OF_DAILY = 80


@dataclass(frozen=True)
class QuotaLevels:
    """Today's quota against seed 000's thresholds (the alerts and the asset checks read the same)."""

    warn: bool  # used ≥ 75% of the pipeline's share
    error: bool  # used ≥ 80% of the day's whole quota
    exceeded_early: bool  # YouTube answered quotaExceeded while the ledger still had units left


def quota_levels(status: QuotaStatus, daily_limit: int) -> QuotaLevels:
    """`used` is the calls made plus blocks running steps still hold (returned at step end), so a
    quotaExceeded at the share's end (used = limit) is expected; one with units left is not."""
    return QuotaLevels(warn=status.used * 100 >= status.limit * QUOTA_WARN_PCT_OF_SHARE,
                       error=status.used * 100 >= daily_limit * QUOTA_ERROR_PCT_OF_DAILY,
                       exceeded_early=status.exhausted and status.used < status.limit)
