"""Record alerts in the outbox and deliver them: plain Python over the app database, no Dagster.

Recording and delivering are separate steps so that a receiver that is down never loses a message
and never fails a pipeline run: the row waits in the outbox and the next tick tries again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from channel_assets.alerts.conditions import Observation, Outgoing, State, decide
from channel_assets.alerts.config import AlertConfig
from channel_assets.alerts.notifiers import Message, SendError
from channel_assets.db.audit import alert_outbox as db
from channel_assets.db.core.engine import transaction

MAX_AGE = timedelta(days=1)  # an alert still undelivered after a day is stale: it expires
MAX_PER_TICK = 50
RETENTION = timedelta(days=90)  # finished outbox rows kept this long, like the update log

log = logging.getLogger(__name__)


def _rows(out: Outgoing, config: AlertConfig, now: datetime) -> list[dict]:
    m = out.message
    channels = ("silenced",) if config.silenced(m.condition) else (config.channels or ("none",))
    return [{"dedup_key": out.dedup_key, "channel": ch, "condition": m.condition, "severity": m.severity,
             "title": m.title, "body": m.text, "link": m.link, "created_at": now} for ch in channels]


def record(engine: Engine, config: AlertConfig, now: datetime, observations: Iterable[Observation] = (),
           events: Iterable[Outgoing] = ()) -> None:
    """Decide on the observations against the stored states and queue what must be said; events
    (digests) are queued once per dedup key."""
    with db.alerts_transaction(engine) as conn:
        states = {c: State(s.failing, s.since, s.last_sent_at, s.title) for c, s in db.load_states(conn).items()}
        outgoing, changed = decide(observations, states, now)
        db.save_states(conn, {c: asdict(s) for c, s in changed.items()})
        db.enqueue(conn, [row for out in [*outgoing, *events] for row in _rows(out, config, now)])


def digest_due(engine: Engine, key: str) -> bool:
    with engine.connect() as conn:
        return not db.has_key(conn, key)


def failing_since(engine: Engine, prefix: str) -> dict[str, datetime]:
    with engine.connect() as conn:
        return db.failing_conditions(conn, prefix)


@dataclass(frozen=True)
class Delivery:
    """What happened to one outbox row on this tick."""

    dedup_key: str
    channel: str
    message: Message
    outcome: str  # sent, failed, recorded, silenced, expired, unconfigured
    error: str | None = None


def _attempt(row, config: AlertConfig, now: datetime) -> tuple[str | None, str, str | None]:
    """(final outcome or None to retry, outcome shown, error) for one claimed row."""
    if row.channel in ("none", "silenced"):
        return ("recorded", "recorded", None) if row.channel == "none" else ("silenced", "silenced", None)
    notifier = config.notifier(row.channel)
    if notifier is None:
        return "unconfigured", "unconfigured", f"channel {row.channel} is no longer configured"
    if now - row.created_at > MAX_AGE:
        return "expired", "expired", f"not delivered within {MAX_AGE}"
    try:
        notifier.send(Message(row.condition, row.severity, row.title, row.body, row.link))
    except SendError as exc:
        return None, "failed", str(exc)
    return "sent", "sent", None


def deliver(engine: Engine, config: AlertConfig, now: datetime, limit: int = MAX_PER_TICK) -> list[Delivery]:
    """Send pending rows, one claimed row per transaction. A channel that fails is not tried again
    in this tick (its receiver is likely down); its rows wait for the next tick."""
    with transaction(engine) as conn:
        db.purge_done(conn, now - RETENTION)
    done: list[Delivery] = []
    down: list[str] = []
    last_id = 0
    while len(done) < limit:
        with transaction(engine) as conn:
            row = db.claim_next(conn, down, last_id)
            if row is None:
                break
            last_id = row.id
            final, shown, error = _attempt(row, config, now)
            db.finish(conn, row.id, now, final, error)
        if shown == "failed":
            down.append(row.channel)
            log.warning("alert %r not delivered on %s, will retry: %s", row.title, row.channel, error)
        done.append(Delivery(row.dedup_key, row.channel,
                             Message(row.condition, row.severity, row.title, row.body, row.link), shown, error))
    return done
