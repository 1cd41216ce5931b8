"""What subscription_cleanup_sensor reads from users_userchannel, and the re-subscription work it requests.

Reads go through the (updated_at, id) index of users_userchannel and the channel primary key, so a
tick costs what changed, not the table's size. The "followed" test is db.cleanup.followed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Engine

from channel_assets.cycle import Cycle
from channel_assets.db.cleanup.followed import has_active_subscription
from channel_assets.db.cleanup.restore import relink_preserved_videos, restore_followed
from channel_assets.db.core.batching import BATCH, chunks, in_strings, in_uuids
from channel_assets.db.core.engine import transaction
from channel_assets.db.core.models import Channel, UserChannel, Video


def changed_channels(engine: Engine, since: datetime) -> dict[uuid.UUID, datetime]:
    """Channels whose subscription rows changed after `since`, with the latest change of each."""
    with engine.connect() as conn:
        return dict(conn.execute(
            sa.select(UserChannel.channel_id, sa.func.max(UserChannel.updated_at))
            .where(UserChannel.updated_at > since)
            .group_by(UserChannel.channel_id)
        ).all())


@dataclass
class SubscriptionEffects:
    """What the changed subscriptions mean for the cleanup lifecycle."""

    to_restore: list[str] = field(default_factory=list)  # followed again while orphaned or soft-deleted
    to_relink: list[str] = field(default_factory=list)  # followed, with preserved channel-less videos
    newly_orphaned: dict[str, datetime] = field(default_factory=dict)  # channel id → its latest change
    changed_at: dict[str, datetime] = field(default_factory=dict)  # channel id → its latest change

    @property
    def resubscribed(self) -> dict[str, datetime]:
        """Channels to restore or re-link, with their latest subscription change."""
        return {cid: self.changed_at[cid] for cid in sorted({*self.to_restore, *self.to_relink})}


def effects_of(engine: Engine, changes: dict[uuid.UUID, datetime]) -> SubscriptionEffects:
    """Classify changed channels with one read per batch (no writes: the sensor only requests runs)."""
    effects = SubscriptionEffects()
    preserved = (sa.select(Video.uuid)
                 .where(Video.channel_id.is_(None), Video.channel_id_snapshot == Channel.channel_id).exists())
    with engine.connect() as conn:
        for batch in chunks(list(changes), BATCH):
            rows = conn.execute(
                sa.select(Channel.uuid, Channel.channel_id, Channel.orphaned_at, Channel.soft_deleted_at,
                          has_active_subscription().label("followed"), preserved.label("preserved"))
                .where(in_uuids(Channel.uuid, batch))
            ).all()
            for r in rows:
                effects.changed_at[r.channel_id] = changes[r.uuid]
                if r.followed:
                    if r.orphaned_at is not None or r.soft_deleted_at is not None:
                        effects.to_restore.append(r.channel_id)
                    if r.preserved:
                        effects.to_relink.append(r.channel_id)
                elif r.orphaned_at is None:
                    effects.newly_orphaned[r.channel_id] = changes[r.uuid]
    return effects


def apply_resubscriptions(engine: Engine, channel_ids: list[str], cycle: Cycle) -> tuple[int, int]:
    """Restore the named channels that are followed again, then re-link their preserved videos.

    Idempotent: a channel already restored or re-linked is left as it is. Returns (restored, relinked)."""
    with transaction(engine) as conn:
        uuids = list(conn.execute(
            sa.select(Channel.uuid).where(in_strings(Channel.channel_id, channel_ids))
        ).scalars())
        restored = restore_followed(conn, cycle, ids=uuids)
    relinked = relink_preserved_videos(engine, cycle, channel_ids=channel_ids)
    return len(restored), relinked
