"""Sensor on users_userchannel: re-subscriptions and unsubscriptions request runs at once.

The cursor is the highest updated_at seen; each tick re-reads a lookback window before it, so a row
committed late with an older updated_at is still seen. The tick only reads (a range scan of the
(updated_at, id) index, then primary-key and (channel_id, is_active) look-ups: the cost follows the
number of recent changes, not the 10M rows of the table) and requests runs: `resubscription_restore`
for channels followed again (restore, re-link their preserved videos), `orphan_detection` for today when
an unsubscription orphaned a channel. Run keys make a re-read window request nothing twice.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import dagster as dg
from sqlalchemy import Engine

from channel_assets.db.cleanup.subscription_changes import changed_channels, effects_of
from channel_assets.defs.cleanup.jobs import orphan_detection_job, resubscription_restore_job
from channel_assets.defs.resources import AppDatabase

LOOKBACK = timedelta(minutes=10)
MAX_PER_RUN = 1_000


@dataclass
class Tick:
    cursor: str | None
    seen: int = 0
    resubscribed: dict[str, datetime] = field(default_factory=dict)  # channel id → its latest change
    newly_orphaned: int = 0
    trigger: str | None = None  # max updated_at of the unsubscriptions that orphaned a channel


def scan_subscriptions(engine: Engine, cursor: str | None, now: datetime, lookback: timedelta = LOOKBACK) -> Tick:
    """Read subscription rows changed since the cursor (minus the lookback) and what they mean."""
    high_water = datetime.fromisoformat(cursor) if cursor else now
    changes = changed_channels(engine, high_water - lookback)
    tick = Tick(cursor=max([high_water, *changes.values()]).isoformat(), seen=len(changes))
    if not changes:
        return tick
    effects = effects_of(engine, changes)
    tick.resubscribed = effects.resubscribed
    tick.newly_orphaned = len(effects.newly_orphaned)
    if effects.newly_orphaned:
        tick.trigger = max(effects.newly_orphaned.values()).isoformat()
    return tick


def _resubscription_requests(resubscribed: dict[str, datetime]) -> list[dg.RunRequest]:
    """One run per MAX_PER_RUN channels, keyed by the channels and their latest change: a re-read of the
    same rows asks nothing twice, a later re-subscription of the same channel is a new run."""
    channel_ids = list(resubscribed)
    requests = []
    for i in range(0, len(channel_ids), MAX_PER_RUN):
        chunk = channel_ids[i : i + MAX_PER_RUN]
        key = ",".join(f"{cid}@{resubscribed[cid].isoformat()}" for cid in chunk)
        requests.append(dg.RunRequest(
            job_name=resubscription_restore_job.name,
            run_key="resub-" + hashlib.sha256(key.encode()).hexdigest()[:24],
            run_config={"ops": {"restore_resubscribed": {"config": {"channel_ids": chunk}}}},
            tags={"cleanup/trigger": "resubscription", "channel_assets/channels": str(len(chunk))}))
    return requests


@dg.sensor(name="subscription_cleanup_sensor", jobs=[orphan_detection_job, resubscription_restore_job],
           minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Re-subscriptions → resubscription_restore (restore, re-link); an unsubscription "
                       "that orphans a channel → orphan_detection for today.")
def subscription_cleanup_sensor(context: dg.SensorEvaluationContext, app_db: AppDatabase) -> dg.SensorResult:
    now = datetime.now(UTC)
    tick = scan_subscriptions(app_db.engine, context.cursor, now)
    requests = _resubscription_requests(tick.resubscribed)
    if tick.trigger:
        day = now.date().isoformat()
        requests.append(dg.RunRequest(job_name=orphan_detection_job.name, run_key=f"orphans-{day}-{tick.trigger}",
                                      partition_key=day, tags={"cleanup/trigger": "unsubscription"}))
    context.log.info(f"{tick.seen} channel(s) with subscription changes, {len(tick.resubscribed)} followed again "
                     f"(restore/re-link requested), {tick.newly_orphaned} newly orphaned")
    return dg.SensorResult(run_requests=requests, cursor=tick.cursor)


cleanup_sensors = [subscription_cleanup_sensor]
