"""The "followed" rule, defined once: a channel is followed while it has an active subscription.

Orphan detection, the soft and hard delete (re-checked inside the deleting transaction), the restore
paths, the cleanup's checks and the subscription sensor all use this one predicate.
"""

from __future__ import annotations

import sqlalchemy as sa

from channel_assets.db.core.batching import committed_before
from channel_assets.db.core.models import Channel, UserChannel


def has_active_subscription(horizon: int | None = None):
    """EXISTS (active subscription of the outer channel): served by the (channel_id, is_active) index. With a
    commit `horizon` (db.core.batching.commit_horizon), only subscriptions as they were committed before it:
    what a step that started then could see."""
    return (
        sa.select(UserChannel.id)
        .where(UserChannel.channel_id == Channel.uuid, UserChannel.is_active.is_(True),
               committed_before(UserChannel.__table__, horizon))
        .exists()
    )
