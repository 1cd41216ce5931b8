"""SQL of the alerts (PostgreSQL): condition states, the outbox, and the facts digests are made of.

Writers of states and outbox rows serialise on one transaction-level advisory lock, so two sensors
ticking at once never announce the same transition twice. Delivery claims one row at a time with
FOR UPDATE SKIP LOCKED and commits it with its outcome, so a row is sent at most once per claim.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Connection, Engine, and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert

from channel_assets.db.cleanup.holds import hold_label
from channel_assets.db.core.engine import transaction
from channel_assets.db.core.models import AlertOutbox, AlertState, Channel, ChannelUpdateLog
from channel_assets.db.videos.report_rows import availability_changes

ALERTS_LOCK = 0x0A1E_0014  # pg_advisory_xact_lock key of alert writers


@contextmanager
def alerts_transaction(engine: Engine) -> Iterator[Connection]:
    with transaction(engine) as conn:
        conn.execute(select(func.pg_advisory_xact_lock(ALERTS_LOCK)))
        yield conn


def load_states(conn: Connection) -> dict[str, AlertState]:
    return {row.condition: row for row in conn.execute(select(AlertState.__table__)).all()}


def save_states(conn: Connection, states: dict[str, dict]) -> None:
    """Upsert `condition -> {failing, since, last_sent_at, title}`."""
    if not states:
        return
    rows = [{"condition": c, **values} for c, values in states.items()]
    stmt = insert(AlertState).values(rows)
    conn.execute(stmt.on_conflict_do_update(index_elements=["condition"], set_={
        k: stmt.excluded[k] for k in ("failing", "since", "last_sent_at", "title")}))


def enqueue(conn: Connection, rows: Sequence[dict]) -> None:
    """Insert outbox rows; a (dedup_key, channel) already there is ignored."""
    if rows:
        conn.execute(insert(AlertOutbox).values(list(rows))
                     .on_conflict_do_nothing(constraint="alert_outbox_key_channel_uniq"))


def has_key(conn: Connection, dedup_key: str) -> bool:
    return conn.execute(select(AlertOutbox.id).where(AlertOutbox.dedup_key == dedup_key).limit(1)).first() is not None


def failing_conditions(conn: Connection, prefix: str) -> dict[str, datetime]:
    """Failing conditions whose name starts with `prefix`, with the moment they started failing."""
    t = AlertState.__table__.c
    rows = conn.execute(select(t.condition, t.since).where(t.failing.is_(True), t.condition.startswith(prefix)))
    return {r.condition: r.since for r in rows}


def claim_next(conn: Connection, skip_channels: Sequence[str], after_id: int):
    """The oldest undone row past `after_id`, locked for this transaction; skips rows others hold."""
    t = AlertOutbox.__table__.c
    query = select(AlertOutbox.__table__).where(t.done_at.is_(None), t.id > after_id)
    if skip_channels:
        query = query.where(t.channel.not_in(list(skip_channels)))
    return conn.execute(query.order_by(t.id).limit(1).with_for_update(skip_locked=True)).first()


def finish(conn: Connection, row_id: int, now: datetime, outcome: str | None, error: str | None) -> None:
    """outcome None: the attempt failed and the row stays for the next tick."""
    t = AlertOutbox.__table__.c
    values = {"attempts": t.attempts + 1, "last_error": error}
    if outcome is not None:
        values |= {"done_at": now, "outcome": outcome}
    conn.execute(update(AlertOutbox).where(t.id == row_id).values(**values))


def purge_done(conn: Connection, before: datetime) -> None:
    """Outbox retention: rows finished before `before` go (through the (done_at, id) index)."""
    conn.execute(delete(AlertOutbox).where(AlertOutbox.done_at < before))


def circuit_open_runs(engine: Engine, start: datetime, end: datetime) -> dict[str, int]:
    """Run id -> stops on an open circuit breaker: the metadata refresh's run-level row (error_type
    circuit_open; it defers the rest of the run) and uploads channels that met the open breaker."""
    log = ChannelUpdateLog.__table__.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(log.run_id, func.count()).where(
                log.created_at > start, log.created_at <= end,
                or_(log.error_type == "circuit_open",
                    and_(log.update_type == "uploads", log.status == "failed",
                         log.error_message.like("%(circuitOpen)%"))))
            .group_by(log.run_id))
        return {r[0] or "(no run)": r[1] for r in rows}


def digest_facts(engine: Engine, start: datetime, end: datetime, failure_cap: int, limit: int = 50) -> dict:
    """Availability changes and cleanup of (start, end], and what waits for a human now (channels at
    the refresh rules' `failure_cap`, held removals)."""
    log, ch = ChannelUpdateLog.__table__.c, Channel.__table__.c
    window = and_(log.created_at > start, log.created_at <= end)
    availability = log.changes_made["is_available"].as_string()
    with engine.connect() as conn:
        def ids(*where):
            return conn.execute(select(log.channel_id).where(window, log.update_type == "metadata", *where)
                                .order_by(log.channel_id).limit(limit)).scalars().all()

        phase = func.coalesce(log.changes_made["phase"].as_string(), log.update_type)
        phases = dict(conn.execute(
            select(phase, func.count())
            .where(window, log.update_type.in_(("removal", "restore")), log.status == "success")
            .group_by(phase)).all())
        held = conn.execute(select(ch.channel_id, ch.removal_hold_reason, ch.soft_deleted_at).where(
            ch.removal_hold_reason.is_not(None)).order_by(ch.channel_id).limit(limit)).all()
        failing = conn.execute(select(ch.channel_id, ch.failed_update_count, ch.last_error).where(
            ch.failed_update_count >= failure_cap, ch.soft_deleted_at.is_(None))
            .order_by(ch.failed_update_count.desc(), ch.channel_id).limit(limit)).all()
        return {
            "gone": ids(availability == "[true, false]"),
            "back": ids(availability == "[false, true]"),
            "soft_deleted": phases.get("soft_delete", 0),
            "hard_deleted": phases.get("hard_delete", 0),
            "restored": phases.get("restore", 0),
            "held": [(r[0], hold_label(r[1], r[2] is not None)) for r in held],
            "failing": [(r[0], r[1], r[2] or "") for r in failing],
            **_video_facts(engine, start, end, limit),
        }


def _video_facts(engine: Engine, start: datetime, end: datetime, limit: int) -> dict:
    """Videos that went unavailable (with the reason) or came back in (start, end]."""
    changes = availability_changes(engine, start, end, limit=2 * limit)
    return {"videos_gone": [f"{c.video_id} ({c.new_reason})" for c in changes if c.new_reason][:limit],
            "videos_back": [c.video_id for c in changes if c.new_reason is None][:limit]}
