"""Asset checks enforcing the cleanup safety rules; each judges at the cycle time of the materialization it
checks (defs.cycle.checked_cycle), so a run with a `now` override is checked at that time. The data comes
from channel_assets.db.cleanup.check_reads, which applies the removal's own predicates and safety rule."""

import dagster as dg

from channel_assets.db.cleanup.check_reads import (
    followed_but_soft_deleted,
    hard_delete_readiness,
    orphan_backlog,
    removed_without_snapshot,
)
from channel_assets.db.cleanup.orphans import ORPHAN_DEADLINE
from channel_assets.defs.cleanup.assets import orphaned_channels, preserved_video_snapshots, removed_channels
from channel_assets.defs.cycle import checked_cycle
from channel_assets.defs.resources import AppDatabase, PipelinePolicy
from channel_assets.reporting.markdown import md_table


def _horizon(value: int | None) -> int | None:
    """A commit horizon a step recorded in its metadata (-1, or absent, when it recorded none)."""
    return value if value is not None and value >= 0 else None


@dg.asset_check(asset=preserved_video_snapshots, blocking=True)
def cleanup_safety_rules(context: dg.AssetCheckExecutionContext, app_db: AppDatabase,
                         policy: PipelinePolicy) -> dg.AssetCheckResult:
    """Every channel about to be hard-deleted is within the thresholds and (unless dry run) every video and
    watch row of it the snapshot step saw carries its snapshot; rows the app recorded since are the hard
    delete's own work (it snapshots what it detaches). ERROR and blocking: a failure stops removed_channels."""
    now, meta = checked_cycle(context, preserved_video_snapshots)
    if not meta:
        return dg.AssetCheckResult(passed=False, description="no snapshot materialization to check")
    ready = hard_delete_readiness(app_db.engine, now, policy.cooldown_days, policy.limits,
                                  check_snapshots=not meta.get("dry_run"),
                                  snapshot_horizon=_horizon(meta.get("snapshot_horizon")))
    over = [(i.channel_id, i.videos, i.watch_rows, i.users, reason) for i, reason in ready.over_threshold]
    passed = not over and ready.videos_without_snapshot == 0 and ready.watch_rows_without_context == 0
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "over_threshold": len(over),
            "videos_without_snapshot": ready.videos_without_snapshot,
            "watch_rows_without_context": ready.watch_rows_without_context,
            "over_threshold_channels": dg.MetadataValue.md(
                md_table(["channel id", "videos", "watch rows", "users", "rule"], over)),
        },
    )


@dg.asset_check(asset=removed_channels)
def snapshot_completeness(context: dg.AssetCheckExecutionContext, app_db: AppDatabase) -> dg.AssetCheckResult:
    """Nothing lost: every channel-less video of a removed channel has its snapshot, its watch rows their
    context (those recorded after the removal's sweep wait for the next one), and the cycle preserved
    exactly the videos and watch rows it found before deleting (a dry run deletes and preserves nothing)."""
    _, meta = checked_cycle(context, removed_channels)
    videos, watch = removed_without_snapshot(app_db.engine, _horizon(meta.get("sweep_horizon")))
    counts_match = bool(meta.get("dry_run")) or (meta.get("videos_before") == meta.get("videos_preserved")
                                                  and meta.get("watch_rows_before") == meta.get("watch_rows_preserved"))
    return dg.AssetCheckResult(
        passed=videos == 0 and watch == 0 and counts_match,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"videos_without_snapshot": videos, "watch_rows_without_context": watch,
                  "videos_before": meta.get("videos_before", 0), "videos_preserved": meta.get("videos_preserved", 0),
                  "watch_rows_before": meta.get("watch_rows_before", 0),
                  "watch_rows_preserved": meta.get("watch_rows_preserved", 0)},
    )


@dg.asset_check(asset=orphaned_channels)
def orphans_removed_within_7_days(context: dg.AssetCheckExecutionContext, app_db: AppDatabase) -> dg.AssetCheckResult:
    """WARN when an orphan nobody handled (not soft-deleted, not held) was orphaned more than 7 days ago
    (seed 000). On the detection asset, so it is evaluated whenever orphans are detected (the subscription
    sensor does that) even while daily_cleanup is off; the freshness report shows the same figure daily."""
    now, _ = checked_cycle(context, orphaned_channels)
    backlog = orphan_backlog(app_db.engine, now, ORPHAN_DEADLINE)
    age = backlog.oldest_age(now)
    return dg.AssetCheckResult(passed=backlog.overdue == 0, severity=dg.AssetCheckSeverity.WARN, metadata={
        "overdue_orphans": backlog.overdue, "waiting_orphans": backlog.waiting,
        "oldest_orphan_age_days": round(age.total_seconds() / 86400, 1) if age else 0.0,
        "deadline_days": ORPHAN_DEADLINE.days,
    }, description=None if backlog.overdue == 0 else
        f"{backlog.overdue} orphan(s) older than {ORPHAN_DEADLINE.days} days not removed: is daily_cleanup on?")


@dg.asset_check(asset=orphaned_channels)
def no_followed_channel_soft_deleted(context: dg.AssetCheckExecutionContext,
                                     app_db: AppDatabase) -> dg.AssetCheckResult:
    """ERROR when a soft-deleted channel has an active subscription (the restore path failed)."""
    _, meta = checked_cycle(context, orphaned_channels)
    followed = followed_but_soft_deleted(app_db.engine, _horizon(meta.get("detection_horizon")))
    return dg.AssetCheckResult(passed=not followed, severity=dg.AssetCheckSeverity.ERROR,
                               metadata={"followed_soft_deleted": len(followed),
                                         "channels": dg.MetadataValue.md(md_table(["channel id"], [(c,) for c in followed]))})


cleanup_checks = [cleanup_safety_rules, snapshot_completeness, orphans_removed_within_7_days,
                  no_followed_channel_soft_deleted]
