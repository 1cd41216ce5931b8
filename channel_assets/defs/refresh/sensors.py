"""Sensor on users_userchannel: new active subscriptions to never-fetched channels → forced refresh.

Cursor = the highest updated_at seen plus ids already requested. Each tick re-reads a lookback window
below that high-water mark, so a row committed late with an older updated_at is still seen; the
channel's own state (still never fetched) and the requested-ids memory make re-reads idempotent.
Only the window's rows are touched, through the (updated_at, id) index and the channel primary key.
"""

import hashlib
import json
from datetime import datetime, timedelta

import dagster as dg

from channel_assets.db.refresh.new_subscriptions import (
    latest_subscription_change,
    never_fetched_followed_since,
)
from channel_assets.defs.refresh.jobs import force_refresh_channels
from channel_assets.defs.resources import AppDatabase
from channel_assets.youtube import is_valid_channel_id

LOOKBACK = timedelta(minutes=15)
MAX_PER_RUN = 500
MAX_PER_TICK = 5_000


def _load(cursor: str | None) -> tuple[datetime | None, dict[str, str]]:
    if not cursor:
        return None, {}
    data = json.loads(cursor)
    return (datetime.fromisoformat(data["hw"]) if data.get("hw") else None), data.get("sent", {})


def new_never_fetched(engine, cursor: str | None, log=None) -> tuple[list[str], str]:
    """(channel ids to fetch, new cursor); plain function so benchmarks can time it without Dagster."""
    hw, sent = _load(cursor)
    if hw is None:
        hw = latest_subscription_change(engine)
        if hw is None:
            return [], json.dumps({"hw": None, "sent": {}})
    rows, newest = never_fetched_followed_since(engine, hw - LOOKBACK, MAX_PER_TICK, already=list(sent))
    new_hw = newest or hw
    ids = []
    for cid in rows:
        if not is_valid_channel_id(cid):
            if log is not None:
                log.warning(f"skipping malformed channel id in videos_channel: {cid!r:.60}")
            continue
        if cid not in sent:
            ids.append(cid)
    stamp = new_hw.isoformat()
    keep_after = new_hw - 2 * LOOKBACK
    sent = {k: v for k, v in sent.items() if datetime.fromisoformat(v) >= keep_after} | {cid: stamp for cid in ids}
    return ids, json.dumps({"hw": stamp, "sent": sent})


@dg.sensor(job=force_refresh_channels, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING,
           description="New active subscriptions to never-fetched channels get their metadata within minutes.")
def new_subscription_sensor(context: dg.SensorEvaluationContext, app_db: AppDatabase) -> dg.SensorResult:
    ids, cursor = new_never_fetched(app_db.engine, context.cursor, context.log)
    requests = []
    for i in range(0, len(ids), MAX_PER_RUN):
        chunk = ids[i : i + MAX_PER_RUN]
        requests.append(dg.RunRequest(
            run_key="new-subs-" + hashlib.sha256(",".join(chunk).encode()).hexdigest()[:24],
            run_config={"ops": {"force_refresh_op": {"config": {"channel_ids": chunk}}}},
            tags={"channel_assets/trigger": "new_subscription", "channel_assets/channels": str(len(chunk))}))
    return dg.SensorResult(run_requests=requests, cursor=cursor)
