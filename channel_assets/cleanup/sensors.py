"""Sensor on users_userchannel (F15): re-subscriptions restore at once, unsubscriptions trigger detection.

The cursor is the highest updated_at seen; each tick re-reads a lookback window before it, so a row
committed late with an older updated_at is still seen. Everything the tick does is idempotent, so
reading a row twice is harmless. The query is a range scan of the (updated_at, id) index and the
per-channel look-ups use primary keys and the (channel_id, is_active) index: the cost follows the
number of recent changes, not the 10M rows of the table. Restores are done by the sensor itself (a
cheap indexed UPDATE, and a soft-deleted channel must not wait for a run); detection is a run.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import dagster as dg
import sqlalchemy as sa
from sqlalchemy import Engine

from channel_assets.cleanup.batches import BATCH, chunks, has_active_subscription, in_uuids
from channel_assets.cleanup.jobs import orphan_detection_job
from channel_assets.cleanup.restore import relink_preserved_videos, restore_followed
from channel_assets.db.engine import transaction
from channel_assets.db.models import Channel, UserChannel
from channel_assets.resources import AppDatabase

LOOKBACK = timedelta(minutes=10)
ACTOR = "subscription_cleanup_sensor"


@dataclass
class Tick:
    cursor: str | None
    restored: int = 0
    relinked: int = 0
    newly_orphaned: int = 0
    trigger: str | None = None  # max updated_at of the unsubscriptions that orphaned a channel
    seen: int = 0
    channels: list[str] = field(default_factory=list)


def scan_subscriptions(engine: Engine, cursor: str | None, now: datetime, lookback: timedelta = LOOKBACK) -> Tick:
    """Act on subscription rows changed since the cursor (minus the lookback)."""
    high_water = datetime.fromisoformat(cursor) if cursor else now
    since = high_water - lookback
    with engine.connect() as conn:
        changed = conn.execute(
            sa.select(UserChannel.channel_id, sa.func.max(UserChannel.updated_at))
            .where(UserChannel.updated_at > since)
            .group_by(UserChannel.channel_id)
        ).all()
    tick = Tick(cursor=max([high_water, *(r[1] for r in changed)]).isoformat(), seen=len(changed))
    if not changed:
        return tick
    latest = dict(changed)
    with transaction(engine) as conn:
        restored_ids, relink_ids = [], []
        for batch in chunks(list(latest), BATCH):
            rows = conn.execute(
                sa.select(Channel.uuid, Channel.channel_id, Channel.orphaned_at, has_active_subscription())
                .where(in_uuids(Channel.uuid, batch))
            ).all()
            relink_ids += [r.channel_id for r in rows if r[3]]
            orphaned = [r for r in rows if not r[3] and r.orphaned_at is None]
            tick.newly_orphaned += len(orphaned)
            tick.channels += [r.channel_id for r in orphaned]
            if orphaned:
                trigger = max(latest[r.uuid] for r in orphaned).isoformat()
                tick.trigger = max(tick.trigger or trigger, trigger)
            restored_ids += restore_followed(conn, now, ACTOR, ids=[r.uuid for r in rows if r[3]])
        tick.restored = len(restored_ids)
    tick.relinked = relink_preserved_videos(engine, now, channel_ids=relink_ids, actor=ACTOR) if relink_ids else 0
    return tick


@dg.sensor(name="subscription_cleanup_sensor", job=orphan_detection_job, minimum_interval_seconds=60,
           default_status=dg.DefaultSensorStatus.RUNNING)
def subscription_cleanup_sensor(context: dg.SensorEvaluationContext, app_db: AppDatabase) -> dg.SensorResult:
    now = datetime.now(UTC)
    tick = scan_subscriptions(app_db.engine, context.cursor, now)
    requests = []
    if tick.trigger:
        day = now.date().isoformat()
        requests.append(dg.RunRequest(run_key=f"orphans-{day}-{tick.trigger}", partition_key=day,
                                      tags={"cleanup/trigger": "unsubscription"}))
    context.log.info(f"{tick.seen} channel(s) with subscription changes, {tick.restored} restored, "
                     f"{tick.relinked} videos re-linked, {tick.newly_orphaned} newly orphaned")
    return dg.SensorResult(run_requests=requests, cursor=tick.cursor)


cleanup_sensors = [subscription_cleanup_sensor]
