"""Undoing removals: re-subscription restores, operator restores, re-linking after a hard delete."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from channel_assets.cycle import Cycle
from channel_assets.db.audit.update_log import AuditEvent, write_events
from channel_assets.db.cleanup.followed import has_active_subscription
from channel_assets.db.cleanup.holds import OPERATOR_HOLD
from channel_assets.db.core.batching import BATCH, chunks, in_strings, in_uuids
from channel_assets.db.core.engine import transaction, with_retries
from channel_assets.db.core.models import Channel, Video, channel_written
from channel_assets.youtube.ids import InvalidChannelId, validate_channel_ids


class RequestRefused(ValueError):
    """An operator request (restore, override) that cannot be applied as given; one line, nothing changed."""


def restore_followed(conn: Connection, cycle: Cycle, ids: Sequence[uuid.UUID] | None = None) -> list:
    """Channels in the cleanup lifecycle that have an active subscription again leave it: orphaned_at,
    soft_deleted_at and any hold are cleared, and a 'restore' is logged for each soft-deleted one."""
    query = sa.select(Channel.uuid, Channel.channel_id, Channel.soft_deleted_at).where(
        sa.or_(Channel.orphaned_at.is_not(None), Channel.soft_deleted_at.is_not(None)), has_active_subscription()
    ).order_by(Channel.channel_id).with_for_update(key_share=True)  # in channel-id order, the pipeline's
    # lock order; FOR NO KEY UPDATE: only the pipeline's columns change, so a follow never waits on it
    rows = []
    for batch in chunks(list(ids), BATCH) if ids is not None else [None]:
        rows += conn.execute(query if batch is None else query.where(in_uuids(Channel.uuid, batch))).all()
    for batch in chunks([r.uuid for r in rows], BATCH):
        conn.execute(
            sa.update(Channel)
            .where(in_uuids(Channel.uuid, batch))
            .values(orphaned_at=None, soft_deleted_at=None, removal_hold_reason=None, **channel_written(cycle.now))
        )
    write_events(conn, [
        AuditEvent.of(cycle, "restore", "success", r.uuid, r.channel_id,
                      changes={"cause": "active subscription", "soft_deleted_at": r.soft_deleted_at.isoformat()})
        for r in rows if r.soft_deleted_at is not None
    ])
    return rows


def operator_request(channel_ids: Sequence[str], reason: str) -> list[str]:
    """The validated ids of an operator's restore or override (one clear line on a mistake)."""
    try:
        wanted = validate_channel_ids(channel_ids)
    except InvalidChannelId as exc:
        raise RequestRefused(str(exc)) from None
    if not wanted:
        raise RequestRefused("channel_ids: give at least one YouTube channel id (UC + 22 characters)")
    if not reason.strip():
        raise RequestRefused("a reason is required")
    return wanted


def restore_channels(engine: Engine, channel_ids: Sequence[str], reason: str, cycle: Cycle) -> list[str]:
    """Operator undo within the cool-down: the soft-deleted channels come back and are held, so the next
    cycle does not soft-delete them again while nobody follows them. All or nothing."""
    wanted = operator_request(channel_ids, reason)
    with transaction(engine) as conn:
        found = {
            r.channel_id: r
            for r in conn.execute(
                sa.select(Channel.uuid, Channel.channel_id, Channel.soft_deleted_at)
                .where(in_strings(Channel.channel_id, wanted))
                .with_for_update()
            )
        }
        unknown = [c for c in wanted if c not in found]
        if unknown:
            raise RequestRefused(f"unknown channel ids (hard-deleted or never stored): {unknown}")
        live = [c for c in wanted if found[c].soft_deleted_at is None]
        if live:
            raise RequestRefused(f"not soft-deleted, nothing to restore: {live}")
        conn.execute(
            sa.update(Channel)
            .where(in_strings(Channel.channel_id, wanted))
            .values(soft_deleted_at=None, removal_hold_reason=f"{OPERATOR_HOLD}{cycle.actor}: {reason}",
                    **channel_written(cycle.now))
        )
        write_events(conn, [
            AuditEvent.of(cycle, "restore", "success", found[c].uuid, c,
                          changes={"reason": reason, "soft_deleted_at": found[c].soft_deleted_at.isoformat()})
            for c in wanted
        ])
    return wanted


def relink_preserved_videos(engine: Engine, cycle: Cycle, channel_ids: Sequence[str] | None = None) -> int:
    """Attach channel-less preserved videos to the channel row that now exists for their YouTube id.

    Set-based over the (channel_id, channel_id_snapshot) index: only videos with a NULL channel are read.
    `channel_ids` narrows it to those YouTube ids (the sensor passes the channels it just saw).
    """
    match = sa.select(Channel.uuid).where(Channel.channel_id == Video.channel_id_snapshot).scalar_subquery()

    def relink(conn: Connection) -> int:
        relinked = 0
        scopes = [()] if channel_ids is None else [
            (in_strings(Video.channel_id_snapshot, batch),)
            for batch in chunks(list(channel_ids), BATCH)
        ]
        for scope in scopes:
            per_channel = conn.execute(
                sa.select(Video.channel_id_snapshot, Channel.uuid, sa.func.count())
                .join(Channel, Channel.channel_id == Video.channel_id_snapshot)
                .where(Video.channel_id.is_(None), *scope)
                .group_by(Video.channel_id_snapshot, Channel.uuid)
            ).all()
            if not per_channel:
                continue
            relinked += conn.execute(
                sa.update(Video)
                .where(Video.channel_id.is_(None), Video.channel_id_snapshot.is_not(None), *scope,
                       sa.select(Channel.uuid).where(Channel.channel_id == Video.channel_id_snapshot).exists())
                .values(channel_id=match, updated_at=cycle.now)
            ).rowcount
            write_events(conn, [
                AuditEvent.of(cycle, "restore", "success", cu, cid, changes={"relinked_videos": n})
                for cid, cu, n in per_channel
            ])
        return relinked

    return with_retries(engine, relink)  # idempotent: run again when a busy row refuses it
