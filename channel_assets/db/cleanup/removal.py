"""Soft delete, then hard delete after the cool-down, one transaction per batch of channels.

A batch rolls back whole, so a crash leaves every channel either removed with its snapshots or untouched.
The soft delete and the snapshot step lock their pages FOR NO KEY UPDATE (only the pipeline's columns
change: the app's follows, imports and watches pass). The hard delete's batches are small
(HARD_DELETE_BATCH channels) so their FOR UPDATE locks are held for a fraction of a second: the gallery app
keeps serving while they run.

The deleting transaction runs at REPEATABLE READ and snapshots whatever it is about to detach under the
locks it holds. It locks the candidate channel rows FOR UPDATE in channel-id order (the pipeline's one lock
order; a subscription or a video the app inserts for such a channel needs FOR KEY SHARE on it, so it
waits and then fails its foreign key: the channel was deliberately deleted) and their subscription rows,
re-checks "followed" (a re-follow wins: the channel is restored instead), counts the impact, snapshots and
detaches the videos, gives their watch rows the channel context, verifies every one of those rows in the
same snapshot, and only then deletes. A row the app changed after the snapshot makes PostgreSQL refuse the
transaction (serialization failure), and so do a lock timeout and a deadlock: the batch is run again a
moment later, and after a few refusals left for the next cycle; never a failed run, never a half-written
batch. Watch rows recorded meanwhile (inserts do not conflict with those locks) are invisible to the
snapshot: the sweep right after the hard deletes gives them their context (and any later one the next
cycle's sweep).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from channel_assets.cycle import Cycle
from channel_assets.db.audit.update_log import AuditEvent, write_events
from channel_assets.db.cleanup.followed import has_active_subscription
from channel_assets.db.cleanup.restore import RequestRefused, operator_request, restore_followed
from channel_assets.db.cleanup.safety import Impact, Limits, analyze, hold, split
from channel_assets.db.cleanup.snapshots import (
    CLEANUP_REASON,
    Detached,
    context_watch_rows,
    detach_videos,
    fill_missing_watch_context,
    preserved_counts,
    snapshot_channels,
)
from channel_assets.db.core.batching import BATCH, commit_horizon, in_strings, in_uuids
from channel_assets.db.core.engine import Refused, transaction, with_retries
from channel_assets.db.core.models import Channel, UserChannel, channel_written

# Orphans are soft-deleted at once: soft delete only stops refreshes, the cool-down protects the data.
SOFT_DELETE_GRACE = timedelta(0)
SAMPLE = 20
CHANNEL_COLUMNS = tuple(Channel.__table__.c)
# Channels per deleting transaction: its locks on their rows, videos and watch rows last a fraction of a
# second (an app request that touches one of them waits for the commit), and a refused batch costs little.
HARD_DELETE_BATCH = 500
# How far back each cycle's sweep looks for watch rows recorded while or after their channel was removed.
SWEEP_WINDOW = timedelta(days=2)
T = TypeVar("T")


class PreservationError(RuntimeError):
    """Removing a batch would leave a video or watch row without its snapshot; the batch rolled back."""


class ConcurrentSubscriptionError(RuntimeError):
    """A channel of the batch was followed again while it was being deleted; the batch rolled back (and is
    run again, when the re-follow wins)."""


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
    watch_rows_late: int = 0  # recorded while their channel was being removed: given their context after it
    batches: int = 0
    batches_refused: int = 0  # the database kept refusing them: their channels wait for the next cycle
    sweep_horizon: int | None = None  # every watch row committed before this xid has its context (batching)
    detached: Detached = field(default_factory=Detached, repr=False)  # this run's removals, for its sweep

    def add_removed(self, impacts: Sequence[Impact]) -> None:
        self.hard_deleted += len(impacts)
        self.removed += impacts[: max(SAMPLE - len(self.removed), 0)]
        self.videos_before += sum(i.videos for i in impacts)
        self.watch_rows_before += sum(i.watch_rows for i in impacts)


@dataclass
class _Batch:
    """What one committed batch did; merged into the run's Removal only after its commit."""

    soft_deleted: int = 0
    restored: int = 0
    held: list[tuple[Impact, str]] = field(default_factory=list)
    removed: list[Impact] = field(default_factory=list)
    videos_preserved: int = 0
    watch_rows_preserved: int = 0
    detached_videos: list[uuid.UUID] = field(default_factory=list)

    def into(self, result: Removal) -> None:
        result.soft_deleted += self.soft_deleted
        result.restored += self.restored
        result.held += self.held
        result.add_removed(self.removed)
        result.videos_preserved += self.videos_preserved
        result.watch_rows_preserved += self.watch_rows_preserved
        result.detached.channel_ids.update(i.channel_id for i in self.removed)
        result.detached.videos += self.detached_videos


def _pages(engine: Engine, where, batch_size: int) -> Iterator[list[uuid.UUID]]:
    """The ids of the channels matching `where`, read once without locks, in pages; each page's work re-reads
    its rows under `where` in its own transaction (one read of the candidates instead of one per page: the
    predicate's anti-join over every candidate costs the same for one page as for all)."""
    with engine.connect() as conn:
        ids = list(conn.execute(sa.select(Channel.uuid).where(*where).order_by(Channel.uuid)).scalars())
    for start in range(0, len(ids), batch_size):
        yield ids[start : start + batch_size]


# How _rows locks: for a change of the pipeline's own columns, FOR NO KEY UPDATE (the app's follows, video
# imports and watches take FOR KEY SHARE on the channel for their foreign key: they never wait on it; an
# admin save does); for the delete, FOR UPDATE (they wait, for the one short transaction of the page).
FOR_CHANGE, FOR_DELETE = "change", "delete"


def _rows(conn: Connection, ids: Sequence[uuid.UUID], where, *, lock: str | None) -> list:
    """The page's channels still matching `where`; locked in channel-id order (`lock`: FOR_CHANGE or
    FOR_DELETE), or read without a lock (None)."""
    query = sa.select(*CHANNEL_COLUMNS).where(in_uuids(Channel.uuid, ids), *where).order_by(Channel.channel_id)
    if lock is not None:
        query = query.with_for_update(key_share=lock == FOR_CHANGE)
    return conn.execute(query).all()


def _page_work(engine: Engine, work: Callable[[Connection], T], result, **retry) -> T | None:
    """One page's transaction, run again when the database refuses it for a reason that passes; None (the
    page counted as refused, its channels left for the next cycle) when it keeps refusing."""
    try:
        return with_retries(engine, work, **retry)
    except Refused:
        result.batches_refused += 1
        return None


def soft_delete_orphans(engine: Engine, cycle: Cycle, limits: Limits, *, dry_run: bool = False,
                        batch_size: int | None = None, result: Removal | None = None) -> Removal:
    """Orphans past the grace stop being refreshed; over-threshold ones are held instead."""
    result = result or Removal(dry_run)
    due = Channel.orphaned_at <= cycle.now - SOFT_DELETE_GRACE
    if dry_run:  # the dry-run detection marked nothing: count today's would-be orphans too
        due = sa.or_(due, sa.and_(Channel.orphaned_at.is_(None), ~has_active_subscription()))
    where = (Channel.soft_deleted_at.is_(None), Channel.removal_hold_reason.is_(None), due)

    def page(conn: Connection, ids: list[uuid.UUID]) -> _Batch:
        # the impact is read before the rows are locked (the slow part of the page; a soft delete only stops
        # refreshes and the hard delete counts again under its locks), then only the rows still matching
        # are locked, held or soft-deleted
        impacts = analyze(conn, _rows(conn, ids, where, lock=None))
        if not dry_run:
            still = {r.uuid for r in _rows(conn, ids, where, lock=FOR_CHANGE)}
            impacts = [i for i in impacts if i.channel_uuid in still]
        allowed, held = split(impacts, limits)
        batch = _Batch(held=held)
        if dry_run:
            batch.soft_deleted = len(allowed)
            return batch
        hold(conn, held, cycle)
        if not allowed:
            return batch
        by_uuid = {i.channel_uuid: i for i in allowed}
        done = conn.execute(
            sa.update(Channel)
            .where(in_uuids(Channel.uuid, list(by_uuid)), Channel.soft_deleted_at.is_(None),
                   ~has_active_subscription())
            .values(soft_deleted_at=cycle.now, **channel_written(cycle.now))
            .returning(Channel.uuid)
        ).scalars().all()
        write_events(conn, [
            AuditEvent.of(cycle, "removal", "success", u, by_uuid[u].channel_id,
                          changes={"phase": "soft_delete", "impact": by_uuid[u].as_dict()})
            for u in done
        ])
        batch.soft_deleted = len(done)
        return batch

    for ids in _pages(engine, where, batch_size or BATCH):
        result.batches += 1
        batch = _page_work(engine, lambda conn, ids=ids: page(conn, ids), result)
        if batch is not None:
            batch.into(result)
    return result


def due_for_hard_delete(now: datetime, cooldown_days: int) -> tuple:
    """Soft-deleted channels whose cool-down has passed and that are not held: what a hard delete takes."""
    return (Channel.soft_deleted_at <= now - timedelta(days=cooldown_days), Channel.removal_hold_reason.is_(None))


def hard_delete_due(engine: Engine, cycle: Cycle, cooldown_days: int, limits: Limits, *, dry_run: bool = False,
                    batch_size: int | None = None, result: Removal | None = None) -> Removal:
    """Remove soft-deleted channels whose cool-down has passed and that still pass the safety rules."""
    where = due_for_hard_delete(cycle.now, cooldown_days)
    return _hard_delete(engine, where, cycle, limits, dry_run=dry_run, batch_size=batch_size,
                        result=result or Removal(dry_run))


def run_removal(engine: Engine, cycle: Cycle, cooldown_days: int, limits: Limits, *, dry_run: bool = False,
                batch_size: int | None = None) -> Removal:
    """One cycle's removal: soft delete of orphans, hard delete of those past the cool-down, then the sweep
    that gives their context to watch rows recorded on the removed channels' videos while or after they were
    removed (by this cycle's batches, after their snapshots, or by earlier cycles'). The sweep's horizon
    is taken before it reads: every row committed before it is swept; later ones are the next cycle's."""
    result = soft_delete_orphans(engine, cycle, limits, dry_run=dry_run, batch_size=batch_size)
    hard_delete_due(engine, cycle, cooldown_days, limits, dry_run=dry_run, batch_size=batch_size, result=result)
    if not dry_run:
        result.watch_rows_late += _sweep(engine, cycle, result, cycle.now - SWEEP_WINDOW)
    return result


def _sweep(engine: Engine, cycle: Cycle, result: Removal, removed_since: datetime) -> int:
    with engine.connect() as conn:
        result.sweep_horizon = commit_horizon(conn)
    return fill_missing_watch_context(engine, removed_since, cycle.now, known=result.detached)


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
    result = _hard_delete(engine, where, cycle, None, dry_run=False, batch_size=None, result=Removal(False))
    result.watch_rows_late += _sweep(engine, cycle, result, cycle.now)  # watch rows recorded during the deletes
    return result


def _hard_delete(engine: Engine, where, cycle: Cycle, limits: Limits | None, *, dry_run: bool,
                 batch_size: int | None, result: Removal) -> Removal:
    for ids in _pages(engine, where, batch_size or HARD_DELETE_BATCH):
        result.batches += 1
        if dry_run:
            with engine.connect() as conn:
                _hard_delete_batch(conn, _rows(conn, ids, where, lock=None), cycle, limits, dry_run=True).into(result)
            continue
        batch = _page_work(engine, lambda conn, ids=ids: _hard_delete_batch(
            conn, _rows(conn, ids, where, lock=FOR_DELETE), cycle, limits, dry_run=False), result,
            isolation_level="REPEATABLE READ", retry_on=(ConcurrentSubscriptionError,))
        if batch is not None:
            batch.into(result)
    return result


def _hard_delete_batch(conn: Connection, rows, cycle: Cycle, limits: Limits | None, *, dry_run: bool) -> _Batch:
    batch = _Batch()
    ids = [r.uuid for r in rows]
    if not dry_run:
        conn.execute(
            sa.select(UserChannel.id).where(in_uuids(UserChannel.channel_id, ids))
            .order_by(UserChannel.id).with_for_update()
        ).all()
    followed = set(conn.execute(
        sa.select(Channel.uuid).where(in_uuids(Channel.uuid, ids), has_active_subscription())
    ).scalars())
    batch.restored = len(followed)
    if followed and not dry_run:
        restore_followed(conn, cycle, ids=list(followed))
    rows = [r for r in rows if r.uuid not in followed]
    impacts = analyze(conn, rows)
    allowed, batch.held = split(impacts, limits) if limits is not None else (impacts, [])
    if dry_run:
        batch.removed = allowed
        return batch
    hold(conn, batch.held, cycle)
    if not allowed:
        return batch
    ok = [i.channel_uuid for i in allowed]
    expected = (sum(i.videos for i in allowed), sum(i.watch_rows for i in allowed))
    # One UPDATE snapshots (where missing) and detaches the videos, then their watch rows get the context
    # through users_uservideo(video_id); all in this transaction's one snapshot, so the counts agree
    # unless something is wrong, and then nothing is deleted.
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
    batch.removed = allowed
    batch.videos_preserved, batch.watch_rows_preserved = preserved.videos, preserved.watch_rows
    batch.detached_videos = vids
    by_uuid = {r.uuid: r for r in rows}
    write_events(conn, [
        AuditEvent.of(cycle, "removal", "success", i.channel_uuid, i.channel_id,
                      changes={"phase": "hard_delete", "impact": i.as_dict(),
                               "snapshot": channel_snapshot(by_uuid[i.channel_uuid], cycle.now)})
        for i in allowed
    ])
    return batch


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
    batches_refused: int = 0
    horizon: int | None = None  # every row of a due channel committed before this xid was seen (batching)


def snapshot_due(engine: Engine, cycle: Cycle, cooldown_days: int, limits: Limits, *, dry_run: bool = False,
                 batch_size: int | None = None) -> SnapshotRun:
    """Snapshot the channels the hard delete will remove (cool-down passed, within the rules, unfollowed);
    over-threshold ones are held here already, so the blocking check sees only removable channels. Rows the
    app records after this step are the hard delete's own work (it snapshots whatever it detaches)."""
    with engine.connect() as conn:
        result = SnapshotRun(dry_run, horizon=commit_horizon(conn))
    where = (*due_for_hard_delete(cycle.now, cooldown_days), ~has_active_subscription())

    def page(conn: Connection, ids: list[uuid.UUID]) -> tuple[list[Impact], list[tuple[Impact, str]], int, int]:
        allowed, held = split(analyze(conn, _rows(conn, ids, where, lock=None if dry_run else FOR_CHANGE)), limits)
        if dry_run:
            return allowed, held, sum(i.videos for i in allowed), sum(i.watch_rows for i in allowed)
        hold(conn, held, cycle)
        counts = snapshot_channels(conn, [i.channel_uuid for i in allowed], cycle.now)
        return allowed, held, counts.videos, counts.watch_rows

    for ids in _pages(engine, where, batch_size or HARD_DELETE_BATCH):
        done = _page_work(engine, lambda conn, ids=ids: page(conn, ids), result)
        if done is None:
            continue
        allowed, held, videos, watch_rows = done
        result.channels += len(allowed)
        result.held += held
        result.videos += videos
        result.watch_rows += watch_rows
    return result
