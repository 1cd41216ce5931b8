"""Soft delete, then hard delete after the cool-down, one transaction per batch of channels.

A batch rolls back whole, so a crash leaves every channel either removed with its snapshots or
untouched. The "nobody follows it" rule is decided inside the deleting transaction: the candidate channel rows are locked FOR UPDATE (a concurrent subscription INSERT needs FOR KEY
SHARE on the channel row, so it waits for us and then fails its FK check, or commits before we lock
and we see it), the channels' subscription rows are locked too (an UPDATE re-activating an existing
row takes no lock on the channel), and only then is the re-check run, in a fresh READ COMMITTED
snapshot. The final DELETE repeats the NOT EXISTS guard.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from channel_assets.cycle import Cycle
from channel_assets.db.audit.update_log import AuditEvent, write_events
from channel_assets.db.cleanup.followed import has_active_subscription
from channel_assets.db.cleanup.restore import RequestRefused, operator_request, restore_followed
from channel_assets.db.cleanup.safety import Impact, Limits, analyze, hold, split
from channel_assets.db.cleanup.snapshots import (
    CLEANUP_REASON,
    context_watch_rows,
    detach_videos,
    preserved_counts,
    snapshot_channels,
)
from channel_assets.db.core.batching import BATCH, in_strings, in_uuids
from channel_assets.db.core.engine import transaction
from channel_assets.db.core.models import Channel, UserChannel

# Orphans are soft-deleted at once: soft delete only stops refreshes, the cool-down protects the data.
SOFT_DELETE_GRACE = timedelta(0)
SAMPLE = 20
CHANNEL_COLUMNS = tuple(Channel.__table__.c)


class PreservationError(RuntimeError):
    """Removing a batch would leave a video or watch row without its snapshot; the batch rolled back."""


class ConcurrentSubscriptionError(RuntimeError):
    """A channel of the batch was followed again while it was being deleted; the batch rolled back."""


@dataclass
class Removal:
    dry_run: bool
    soft_deleted: int = 0
    hard_deleted: int = 0
    restored: int = 0
    held: list[tuple[Impact, str]] = field(default_factory=list)
    removed: list[Impact] = field(default_factory=list)
    videos_before: int = 0
    videos_preserved: int = 0
    watch_rows_before: int = 0
    watch_rows_preserved: int = 0
    batches: int = 0

    def add_removed(self, impacts: Sequence[Impact]) -> None:
        self.hard_deleted += len(impacts)
        self.removed += impacts[: max(SAMPLE - len(self.removed), 0)]
        self.videos_before += sum(i.videos for i in impacts)
        self.watch_rows_before += sum(i.watch_rows for i in impacts)


def soft_delete_orphans(engine: Engine, cycle: Cycle, limits: Limits, *, dry_run: bool = False,
                        batch_size: int | None = None,
                        result: Removal | None = None) -> Removal:
    """Orphans past the grace stop being refreshed; over-threshold ones are held instead."""
    result = result or Removal(dry_run)
    due = Channel.orphaned_at <= cycle.now - SOFT_DELETE_GRACE
    if dry_run:  # the dry-run detection marked nothing: count today's would-be orphans too
        due = sa.or_(due, sa.and_(Channel.orphaned_at.is_(None), ~has_active_subscription()))
    where = (Channel.soft_deleted_at.is_(None), Channel.removal_hold_reason.is_(None), due)
    for conn, rows in channel_batches(engine, where, batch_size):
        allowed, held = split(analyze(conn, rows), limits)
        result.held += held
        result.batches += 1
        if dry_run:
            result.soft_deleted += len(allowed)
            continue
        hold(conn, held, cycle)
        if not allowed:
            continue
        by_uuid = {i.channel_uuid: i for i in allowed}
        done = conn.execute(
            sa.update(Channel)
            .where(in_uuids(Channel.uuid, list(by_uuid)), Channel.soft_deleted_at.is_(None),
                   ~has_active_subscription())
            .values(soft_deleted_at=cycle.now, updated_at=cycle.now)
            .returning(Channel.uuid)
        ).scalars().all()
        write_events(conn, [
            AuditEvent.of(cycle, "removal", "success", u, by_uuid[u].channel_id,
                          changes={"phase": "soft_delete", "impact": by_uuid[u].as_dict()})
            for u in done
        ])
        result.soft_deleted += len(done)
    return result


def due_for_hard_delete(now: datetime, cooldown_days: int) -> tuple:
    """Soft-deleted channels whose cool-down has passed and that are not held: what a hard delete takes."""
    return (Channel.soft_deleted_at <= now - timedelta(days=cooldown_days), Channel.removal_hold_reason.is_(None))


def hard_delete_due(engine: Engine, cycle: Cycle, cooldown_days: int, limits: Limits, *, dry_run: bool = False,
                    batch_size: int | None = None,
                    result: Removal | None = None) -> Removal:
    """Remove soft-deleted channels whose cool-down has passed and that still pass the safety rules."""
    where = due_for_hard_delete(cycle.now, cooldown_days)
    return _hard_delete(engine, where, cycle, limits, dry_run=dry_run,
                        batch_size=batch_size, result=result or Removal(dry_run))


def run_removal(engine: Engine, cycle: Cycle, cooldown_days: int, limits: Limits, *, dry_run: bool = False,
                batch_size: int | None = None) -> Removal:
    """One cleanup cycle's removal: soft delete of orphans, then hard delete of those past the cool-down."""
    result = soft_delete_orphans(engine, cycle, limits, dry_run=dry_run,
                                 batch_size=batch_size)
    return hard_delete_due(engine, cycle, cooldown_days, limits, dry_run=dry_run,
                           batch_size=batch_size, result=result)


def override_held_removals(engine: Engine, channel_ids: Sequence[str], reason: str, cycle: Cycle) -> Removal:
    """The explicit, logged override: held channels are removed now, without the thresholds, still with
    their snapshots and still only if nobody follows them. Refuses (changing nothing) ids that are not held."""
    wanted = operator_request(channel_ids, reason)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(Channel.uuid, Channel.channel_id, Channel.removal_hold_reason, has_active_subscription())
            .where(in_strings(Channel.channel_id, wanted))
        ).all()
    found = {r.channel_id: r for r in rows}
    problems = [f"{c}: unknown" for c in wanted if c not in found]
    problems += [f"{c}: not held" for c in wanted if c in found and found[c].removal_hold_reason is None]
    problems += [f"{c}: has an active subscription" for c in wanted if c in found and found[c][3]]
    if problems:
        raise RequestRefused("override refused, nothing changed: " + "; ".join(problems))
    ids = [found[c].uuid for c in wanted]
    with transaction(engine) as conn:
        write_events(conn, [
            AuditEvent.of(cycle, "override", "success", found[c].uuid, c,
                          changes={"reason": reason, "hold": found[c].removal_hold_reason})
            for c in wanted
        ])
    where = (in_uuids(Channel.uuid, ids), Channel.removal_hold_reason.is_not(None))
    return _hard_delete(engine, where, cycle, None, dry_run=False, batch_size=None,
                        result=Removal(False))


def channel_batches(engine: Engine, where, batch_size: int | None = None, *,
                    lock: bool = False) -> Iterator[tuple[Connection, list]]:
    """Keyset pages (by uuid) of the channels matching `where`, one transaction per page: yields the page's
    connection and rows; the page commits when the next one is asked for and rolls back if the caller's
    work on it raises. `lock` takes the rows FOR UPDATE."""
    last = None
    while True:
        with transaction(engine) as conn:
            query = sa.select(*CHANNEL_COLUMNS).where(*where).order_by(Channel.uuid).limit(batch_size or BATCH)
            if last is not None:
                query = query.where(Channel.uuid > last)
            if lock:
                query = query.with_for_update()
            rows = conn.execute(query).all()
            if not rows:
                return
            last = rows[-1].uuid
            yield conn, rows


def _hard_delete(engine: Engine, where, cycle: Cycle, limits: Limits | None, *, dry_run: bool,
                 batch_size: int | None, result: Removal) -> Removal:
    for conn, rows in channel_batches(engine, where, batch_size, lock=not dry_run):
        result.batches += 1
        _hard_delete_batch(conn, rows, cycle, limits, dry_run=dry_run, result=result)
    return result


def _hard_delete_batch(conn: Connection, rows, cycle: Cycle, limits: Limits | None, *, dry_run: bool,
                       result: Removal) -> None:
    ids = [r.uuid for r in rows]
    if not dry_run:
        conn.execute(
            sa.select(UserChannel.id).where(in_uuids(UserChannel.channel_id, ids))
            .order_by(UserChannel.id).with_for_update()
        ).all()
    followed = set(conn.execute(
        sa.select(Channel.uuid).where(in_uuids(Channel.uuid, ids), has_active_subscription())
    ).scalars())
    if followed:
        result.restored += len(followed)
        if not dry_run:
            restore_followed(conn, cycle, ids=list(followed))
    rows = [r for r in rows if r.uuid not in followed]
    impacts = analyze(conn, rows)
    allowed, held = split(impacts, limits) if limits is not None else (impacts, [])
    result.held += held
    if dry_run:
        result.add_removed(allowed)
        return
    hold(conn, held, cycle)
    if not allowed:
        return
    ok = [i.channel_uuid for i in allowed]
    expected = (sum(i.videos for i in allowed), sum(i.watch_rows for i in allowed))
    # One UPDATE snapshots (where missing) and detaches the videos, then their watch rows get the context
    # through users_uservideo(video_id); both are checked row by row below before anything is deleted.
    vids = detach_videos(conn, ok, cycle.now)
    context_watch_rows(conn, vids)
    preserved, unpreserved = preserved_counts(conn, vids)
    if (preserved.videos, preserved.watch_rows, unpreserved) != (*expected, 0) or len(vids) != expected[0]:
        raise PreservationError(
            f"batch would leave videos/watch rows without snapshot: expected {expected}, preserved "
            f"{(preserved.videos, preserved.watch_rows)} of {len(vids)} videos, {unpreserved} watch row(s) "
            "without context; rolled back"
        )
    conn.execute(
        sa.delete(UserChannel).where(in_uuids(UserChannel.channel_id, ok), UserChannel.is_active.is_(False))
    )
    deleted = set(conn.execute(
        sa.delete(Channel).where(in_uuids(Channel.uuid, ok), ~has_active_subscription()).returning(Channel.uuid)
    ).scalars())
    if deleted != set(ok):
        raise ConcurrentSubscriptionError(
            f"{len(set(ok) - deleted)} channel(s) were followed again during the delete; batch rolled back"
        )
    result.add_removed(allowed)
    result.videos_preserved += preserved.videos
    result.watch_rows_preserved += preserved.watch_rows
    by_uuid = {r.uuid: r for r in rows}
    write_events(conn, [
        AuditEvent.of(cycle, "removal", "success", i.channel_uuid, i.channel_id,
                      changes={"phase": "hard_delete", "impact": i.as_dict(),
                               "snapshot": channel_snapshot(by_uuid[i.channel_uuid], cycle.now)})
        for i in allowed
    ])


def channel_snapshot(row, now: datetime, reason: str = CLEANUP_REASON) -> dict:
    """The seed's snapshot document for the removal log (the videos carry the SQL-built twin)."""
    return {
        "channel_uuid": str(row.uuid), "channel_id": row.channel_id, "title": row.title,
        "description": row.description, "url": row.url, "subscriber_count": row.subscriber_count,
        "video_count": row.video_count, "view_count": row.view_count,
        "last_updated": row.last_updated.isoformat() if row.last_updated else None,
        "snapshot_created_at": now.isoformat(), "cleanup_reason": reason,
    }


@dataclass
class SnapshotRun:
    dry_run: bool
    channels: int = 0
    videos: int = 0
    watch_rows: int = 0
    held: list[tuple[Impact, str]] = field(default_factory=list)


def snapshot_due(engine: Engine, cycle: Cycle, cooldown_days: int, limits: Limits, *, dry_run: bool = False,
                 batch_size: int | None = None) -> SnapshotRun:
    """Snapshot the channels the hard delete will remove (cool-down passed, within the rules, unfollowed);
    over-threshold ones are held here already, so the blocking check sees only removable channels."""
    result = SnapshotRun(dry_run)
    where = (*due_for_hard_delete(cycle.now, cooldown_days), ~has_active_subscription())
    for conn, rows in channel_batches(engine, where, batch_size):
        allowed, held = split(analyze(conn, rows), limits)
        result.held += held
        result.channels += len(allowed)
        if dry_run:
            result.videos += sum(i.videos for i in allowed)
            result.watch_rows += sum(i.watch_rows for i in allowed)
            continue
        hold(conn, held, cycle)
        counts = snapshot_channels(conn, [i.channel_uuid for i in allowed], cycle.now)
        result.videos += counts.videos
        result.watch_rows += counts.watch_rows
    return result
