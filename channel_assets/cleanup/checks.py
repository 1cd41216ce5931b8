"""Asset checks enforcing the cleanup safety rules (F10, F16); each reads the cycle's clock from the
materialization it checks, so a run with a `now` override is checked at that time."""

from datetime import datetime, timedelta

import dagster as dg
import sqlalchemy as sa

from channel_assets.cleanup.assets import orphaned_channels, preserved_video_snapshots, removed_channels
from channel_assets.cleanup.batches import has_active_subscription
from channel_assets.db.models import Channel, ChannelUpdateLog, UserVideo, Video
from channel_assets.reporting.markdown import md_table
from channel_assets.resources import AppDatabase

# Seed metric: an orphan leaves the active set within 7 days (then waits out the cool-down).
ORPHAN_REMOVAL_DAYS = 7


def _latest(context: dg.AssetCheckExecutionContext, asset) -> dict:
    event = context.instance.get_latest_materialization_event(asset.key)
    return {k: v.value for k, v in event.asset_materialization.metadata.items()} if event else {}


def _cycle(meta: dict) -> tuple[datetime, bool]:
    return datetime.fromisoformat(meta["cycle_now"]), bool(meta.get("dry_run"))


@dg.asset_check(asset=preserved_video_snapshots, blocking=True)
def cleanup_safety_rules(context: dg.AssetCheckExecutionContext, app_db: AppDatabase) -> dg.AssetCheckResult:
    """Every channel about to be hard-deleted is within the thresholds and (unless dry run) every video and
    watch row of it carries its snapshot. ERROR and blocking: a failure stops removed_channels."""
    meta = _latest(context, preserved_video_snapshots)
    if not meta:
        return dg.AssetCheckResult(passed=False, description="no snapshot materialization to check")
    now, dry_run = _cycle(meta)
    settings = app_db.settings
    due = (Channel.soft_deleted_at <= now - timedelta(days=settings.cooldown_days),
           Channel.removal_hold_reason.is_(None), ~has_active_subscription())
    with app_db.engine.connect() as conn:
        over = conn.execute(
            sa.select(Channel.channel_id, sa.func.count(sa.distinct(Video.uuid)), sa.func.count(UserVideo.id),
                      sa.func.count(sa.distinct(UserVideo.user_id)))
            .join(Video, Video.channel_id == Channel.uuid)
            .outerjoin(UserVideo, UserVideo.video_id == Video.uuid)
            .where(*due)
            .group_by(Channel.channel_id)
            .having(sa.or_(sa.func.count(sa.distinct(Video.uuid)) >= settings.max_videos,
                           sa.func.count(UserVideo.id) >= settings.max_watch_rows,
                           sa.func.count(sa.distinct(UserVideo.user_id)) >= settings.max_users))
            .limit(50)
        ).all()
        missing_videos = missing_watch = 0
        if not dry_run:
            missing_videos = conn.execute(
                sa.select(sa.func.count()).select_from(Video).join(Channel, Video.channel_id == Channel.uuid)
                .where(*due, Video.original_channel_metadata.is_(None))
            ).scalar_one()
            missing_watch = conn.execute(
                sa.select(sa.func.count()).select_from(UserVideo).join(Video).join(Channel, Video.channel_id == Channel.uuid)
                .where(*due, UserVideo.channel_context.is_(None))
            ).scalar_one()
    passed = not over and missing_videos == 0 and missing_watch == 0
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "over_threshold": len(over),
            "videos_without_snapshot": missing_videos,
            "watch_rows_without_context": missing_watch,
            "over_threshold_channels": dg.MetadataValue.md(
                md_table(["channel id", "videos", "watch rows", "users"], over)),
        },
    )


@dg.asset_check(asset=removed_channels)
def snapshot_completeness(context: dg.AssetCheckExecutionContext, app_db: AppDatabase) -> dg.AssetCheckResult:
    """Nothing lost: every channel-less video of a removed channel has its snapshot, its watch rows their
    context, and the cycle preserved exactly the videos and watch rows it found before deleting."""
    meta = _latest(context, removed_channels)
    removed = sa.select(ChannelUpdateLog.id).where(
        ChannelUpdateLog.update_type == "removal", ChannelUpdateLog.channel_id == Video.channel_id_snapshot
    ).exists()
    with app_db.engine.connect() as conn:
        videos = conn.execute(
            sa.select(sa.func.count()).select_from(Video)
            .where(Video.channel_id.is_(None), Video.original_channel_metadata.is_(None), removed)
        ).scalar_one()
        watch = conn.execute(
            sa.select(sa.func.count()).select_from(UserVideo).join(Video)
            .where(Video.channel_id.is_(None), UserVideo.channel_context.is_(None), removed)
        ).scalar_one()
    counts_match = (meta.get("videos_before") == meta.get("videos_preserved")
                    and meta.get("watch_rows_before") == meta.get("watch_rows_preserved"))
    return dg.AssetCheckResult(
        passed=videos == 0 and watch == 0 and counts_match,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"videos_without_snapshot": videos, "watch_rows_without_context": watch,
                  "videos_before": meta.get("videos_before", 0), "videos_preserved": meta.get("videos_preserved", 0),
                  "watch_rows_before": meta.get("watch_rows_before", 0),
                  "watch_rows_preserved": meta.get("watch_rows_preserved", 0)},
    )


@dg.asset_check(asset=removed_channels)
def orphans_removed_in_time(context: dg.AssetCheckExecutionContext, app_db: AppDatabase) -> dg.AssetCheckResult:
    """WARN when an orphan that is not held for review outlived 7 days plus the cool-down."""
    meta = _latest(context, removed_channels)
    if not meta:
        return dg.AssetCheckResult(passed=False, description="no removal materialization to check")
    now, _ = _cycle(meta)
    limit = now - timedelta(days=ORPHAN_REMOVAL_DAYS + app_db.settings.cooldown_days)
    with app_db.engine.connect() as conn:
        late = conn.execute(
            sa.select(sa.func.count()).select_from(Channel)
            .where(Channel.orphaned_at < limit, Channel.removal_hold_reason.is_(None), ~has_active_subscription())
        ).scalar_one()
    return dg.AssetCheckResult(passed=late == 0, severity=dg.AssetCheckSeverity.WARN,
                               metadata={"overdue_orphans": late})


@dg.asset_check(asset=orphaned_channels)
def no_followed_channel_soft_deleted(context: dg.AssetCheckExecutionContext,
                                     app_db: AppDatabase) -> dg.AssetCheckResult:
    """ERROR when a soft-deleted channel has an active subscription (the restore path failed)."""
    with app_db.engine.connect() as conn:
        followed = conn.execute(
            sa.select(Channel.channel_id).where(Channel.soft_deleted_at.is_not(None), has_active_subscription())
            .limit(50)
        ).scalars().all()
    return dg.AssetCheckResult(passed=not followed, severity=dg.AssetCheckSeverity.ERROR,
                               metadata={"followed_soft_deleted": len(followed),
                                         "channels": dg.MetadataValue.md(md_table(["channel id"], [(c,) for c in followed]))})


cleanup_checks = [cleanup_safety_rules, snapshot_completeness, orphans_removed_in_time, no_followed_channel_soft_deleted]
