"""A cleanup (or dry run) asked for by the app: the daily cycle's own domain functions, in its order.

The same steps the cleanup assets run (detection, re-linking, snapshots, soft and hard delete, every
safety rule), on today's (UTC) orphan set; a dry run computes the same numbers and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from channel_assets.cycle import Cycle
from channel_assets.db.cleanup.orphans import detect_orphans
from channel_assets.db.cleanup.removal import run_removal, snapshot_due
from channel_assets.db.cleanup.restore import relink_preserved_videos
from channel_assets.db.cleanup.safety import Limits


@dataclass(frozen=True)
class CleanupRules:
    cooldown_days: int
    limits: Limits
    forced_dry_run: bool  # CHANNEL_ASSETS_CLEANUP_DRY_RUN: every cleanup is a dry run


def run_cleanup(engine: Engine, cycle: Cycle, rules: CleanupRules, *, dry_run: bool) -> dict:
    """The cycle's counts, as a request's outcome."""
    dry_run = dry_run or rules.forced_dry_run
    found = detect_orphans(engine, cycle, cycle.now.date(), dry_run=dry_run)
    relinked = 0 if dry_run else relink_preserved_videos(engine, cycle)
    snapshots = snapshot_due(engine, cycle, rules.cooldown_days, rules.limits, dry_run=dry_run)
    removal = run_removal(engine, cycle, rules.cooldown_days, rules.limits, dry_run=dry_run)
    return {"dry_run": dry_run, "orphans": found.orphans, "new_orphans": found.new,
            "followed_again": found.regained, "videos_relinked": relinked,
            "soft_deleted": removal.soft_deleted, "hard_deleted": removal.hard_deleted,
            "held_for_review": len(removal.held) + len(snapshots.held),
            "channels_snapshotted": snapshots.channels, "videos_preserved": removal.videos_preserved,
            "watch_rows_preserved": removal.watch_rows_preserved}
