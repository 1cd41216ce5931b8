"""The cleanup cycle as daily-partitioned assets: a day's partition is that day's cleanup cycle."""

from datetime import date

import dagster as dg

from channel_assets.cycle import Cycle
from channel_assets.db.cleanup.orphans import detect_orphans
from channel_assets.db.cleanup.removal import run_removal, snapshot_due
from channel_assets.db.cleanup.restore import relink_preserved_videos
from channel_assets.db.cleanup.safety import Impact
from channel_assets.defs.cycle import CycleConfig, cycle_metadata
from channel_assets.defs.owners import OWNERS
from channel_assets.defs.partitions import daily_partitions
from channel_assets.defs.resources import AppDatabase, PipelinePolicy
from channel_assets.reporting.markdown import md_table

DRY_RUN_BANNER = "**DRY RUN: nothing was changed.** Numbers below are what a real run would do."


class CleanupConfig(CycleConfig):
    """dry_run: compute and report everything, change nothing (also forced by CHANNEL_ASSETS_CLEANUP_DRY_RUN)."""

    dry_run: bool = False


def _dry_run(config: CleanupConfig, policy: PipelinePolicy) -> bool:
    return config.dry_run or policy.dry_run


def _base_metadata(dry_run: bool, cycle: Cycle) -> dict:
    return {
        "dry_run": dg.MetadataValue.bool(dry_run),
        "mode": dg.MetadataValue.md(DRY_RUN_BANNER if dry_run else "live: changes applied"),
        **cycle_metadata(cycle),
    }


def _held_table(held: list[tuple[Impact, str]]) -> dg.MetadataValue:
    return dg.MetadataValue.md(md_table(
        ["channel id", "title", "videos", "watch rows", "users", "reason"],
        [(i.channel_id, i.title, i.videos, i.watch_rows, i.users, reason) for i, reason in held[:50]],
    ))


@dg.asset(partitions_def=daily_partitions, group_name="cleanup", kinds={"postgres"}, owners=OWNERS,
           tags={"domain": "cleanup"})
def orphaned_channels(context: dg.AssetExecutionContext, config: CleanupConfig,
                      app_db: AppDatabase, policy: PipelinePolicy) -> dg.MaterializeResult:
    """The day's orphan set: channels nobody actively follows (one NOT EXISTS query); channels followed
    again leave the cleanup lifecycle, and preserved videos re-link to a re-created channel."""
    cycle, dry_run = config.cycle(context, "orphaned_channels"), _dry_run(config, policy)
    found = detect_orphans(app_db.engine, cycle, date.fromisoformat(context.partition_key), dry_run=dry_run)
    relinked = 0 if dry_run else relink_preserved_videos(app_db.engine, cycle)
    return dg.MaterializeResult(metadata={
        **_base_metadata(dry_run, cycle),
        "orphans": found.orphans,
        "new_today": found.new,
        "followed_again": found.regained,
        "restored_from_soft_delete": found.restored,
        "videos_relinked": relinked,
        "detection_horizon": found.horizon,
        "age_distribution": dg.MetadataValue.md(md_table(["age", "orphans"], found.ages.items())),
        "oldest_orphans": dg.MetadataValue.md(md_table(
            ["channel id", "title", "orphaned at", "soft deleted at", "hold"],
            [(r.channel_id, r.title, r.orphaned_at, r.soft_deleted_at, r.removal_hold_reason) for r in found.oldest],
        )),
    })


@dg.asset(partitions_def=daily_partitions, group_name="cleanup", kinds={"postgres"}, owners=OWNERS,
           tags={"domain": "cleanup"}, deps=[orphaned_channels])
def preserved_video_snapshots(context: dg.AssetExecutionContext, config: CleanupConfig,
                              app_db: AppDatabase, policy: PipelinePolicy) -> dg.MaterializeResult:
    """Channel snapshots written into the videos and watch rows of every channel due for hard delete."""
    cycle, dry_run = config.cycle(context, "preserved_video_snapshots"), _dry_run(config, policy)
    done = snapshot_due(app_db.engine, cycle, policy.cooldown_days, policy.limits, dry_run=dry_run)
    return dg.MaterializeResult(metadata={
        **_base_metadata(dry_run, cycle),
        "channels_snapshotted": done.channels,
        "snapshot_horizon": done.horizon if done.horizon is not None else -1,
        "batches_refused": done.batches_refused,
        "videos_snapshotted": done.videos,
        "watch_rows_snapshotted": done.watch_rows,
        "held_for_review": len(done.held),
        "held_channels": _held_table(done.held),
    })


@dg.asset(partitions_def=daily_partitions, group_name="cleanup", kinds={"postgres"}, owners=OWNERS,
           tags={"domain": "cleanup"}, deps=[preserved_video_snapshots])
def removed_channels(context: dg.AssetExecutionContext, config: CleanupConfig,
                     app_db: AppDatabase, policy: PipelinePolicy) -> dg.MaterializeResult:
    """Soft delete of orphans, hard delete after the cool-down; enforces the safety rules itself because
    a blocking check lets this run when it emits no result."""
    cycle, dry_run = config.cycle(context, "removed_channels"), _dry_run(config, policy)
    done = run_removal(app_db.engine, cycle, policy.cooldown_days, policy.limits, dry_run=dry_run)
    verb = "would be " if dry_run else ""
    context.log.info(f"{verb}soft-deleted {done.soft_deleted}, {verb}hard-deleted {done.hard_deleted}, "
                     f"held {len(done.held)}, restored {done.restored}")
    return dg.MaterializeResult(metadata={
        **_base_metadata(dry_run, cycle),
        "soft_deleted": done.soft_deleted,
        "hard_deleted": done.hard_deleted,
        "held_for_review": len(done.held),
        "restored_followed_again": done.restored,
        "videos_before": done.videos_before,
        "videos_preserved": done.videos_preserved,
        "watch_rows_before": done.watch_rows_before,
        "watch_rows_preserved": done.watch_rows_preserved,
        "watch_rows_recorded_during_removal": done.watch_rows_late,
        "sweep_horizon": done.sweep_horizon if done.sweep_horizon is not None else -1,
        "batches": done.batches,
        "batches_refused": done.batches_refused,
        "held_channels": _held_table(done.held),
        "removed_sample": dg.MetadataValue.md(md_table(
            ["channel id", "title", "videos", "watch rows", "users"],
            [(i.channel_id, i.title, i.videos, i.watch_rows, i.users) for i in done.removed],
        )),
    })


cleanup_assets = [orphaned_channels, preserved_video_snapshots, removed_channels]
