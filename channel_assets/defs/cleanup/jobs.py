"""Cleanup jobs: the daily cycle, detection alone (for the sensor), and the operator jobs."""

import dagster as dg

from channel_assets.db.audit.update_log import purge_old_logs
from channel_assets.db.cleanup.removal import override_held_removals
from channel_assets.db.cleanup.restore import RequestRefused, restore_channels
from channel_assets.db.cleanup.subscription_changes import apply_resubscriptions
from channel_assets.defs.cleanup.assets import cleanup_assets, orphaned_channels
from channel_assets.defs.cycle import CycleConfig
from channel_assets.defs.resources import AppDatabase, PipelinePolicy

cleanup_job = dg.define_asset_job(
    "channel_cleanup", selection=dg.AssetSelection.assets(*cleanup_assets)
)
orphan_detection_job = dg.define_asset_job(
    "orphan_detection", selection=dg.AssetSelection.assets(orphaned_channels)
)


class OperatorRequest(CycleConfig):
    channel_ids: list[str]
    reason: str
    actor: str = "operator"


@dg.op
def restore_channels_op(context: dg.OpExecutionContext, config: OperatorRequest, app_db: AppDatabase) -> None:
    """Undo a soft delete within the cool-down; the channel is then held so cleanup leaves it alone."""
    try:
        restored = restore_channels(app_db.engine, config.channel_ids, config.reason,
                                    config.cycle(context, config.actor))
    except RequestRefused as exc:
        raise dg.Failure(str(exc)) from None
    context.log.info(f"restored {len(restored)} channel(s): {', '.join(restored)}")


@dg.op
def override_held_removals_op(context: dg.OpExecutionContext, config: OperatorRequest, app_db: AppDatabase) -> None:
    """The explicit override of a safety hold: removes the named held channels now, with snapshots."""
    try:
        done = override_held_removals(app_db.engine, config.channel_ids, config.reason,
                                      config.cycle(context, config.actor))
    except RequestRefused as exc:
        raise dg.Failure(str(exc)) from None
    context.log.info(f"override removed {done.hard_deleted} channel(s), {done.videos_preserved} videos and "
                     f"{done.watch_rows_preserved} watch rows preserved, {done.restored} followed again and kept")


class Resubscribed(CycleConfig):
    channel_ids: list[str]


@dg.op
def restore_resubscribed(context: dg.OpExecutionContext, config: Resubscribed, app_db: AppDatabase) -> None:
    """Channels followed again: out of the cleanup lifecycle, preserved videos re-linked (idempotent)."""
    restored, relinked = apply_resubscriptions(app_db.engine, config.channel_ids,
                                               config.cycle(context, "subscription_cleanup_sensor"))
    context.log.info(f"{len(config.channel_ids)} channel(s) followed again: {restored} restored, "
                     f"{relinked} preserved videos re-linked")


@dg.op
def purge_update_logs(context: dg.OpExecutionContext, config: CycleConfig, app_db: AppDatabase,
                      policy: PipelinePolicy) -> None:
    """Log retention (90 days by default): batched deletes so the log table is never locked for long."""
    removed = purge_old_logs(app_db.engine, config.cycle(context, "update_log_retention").now,
                             policy.log_retention_days)
    context.log.info(f"purged {removed} update-log rows older than {policy.log_retention_days} days")


@dg.job(name="restore_channels")
def restore_channels_job():
    restore_channels_op()


@dg.job(name="override_held_removals")
def override_held_removals_job():
    override_held_removals_op()


@dg.job(name="resubscription_restore", tags={"domain": "cleanup"})
def resubscription_restore_job():
    restore_resubscribed()


@dg.job(name="update_log_retention")
def log_retention_job():
    purge_update_logs()


cleanup_jobs = [cleanup_job, orphan_detection_job, restore_channels_job, override_held_removals_job,
                resubscription_restore_job, log_retention_job]
