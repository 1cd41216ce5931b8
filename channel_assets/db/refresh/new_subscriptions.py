"""What new_subscription_sensor reads: channels someone just followed that were never fetched.

Reads go through the (updated_at, id) index of users_userchannel and the channel primary key, so a
tick costs what changed, not the table's size.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Engine

from channel_assets.db.core.batching import in_strings
from channel_assets.db.core.models import Channel, UserChannel


def latest_subscription_change(engine: Engine) -> datetime | None:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.max(UserChannel.updated_at))).scalar_one()


def never_fetched_followed_since(engine: Engine, since: datetime, limit: int,
                                 already: Sequence[str] = ()) -> tuple[list[str], datetime | None]:
    """(ids of never-fetched, live channels given an active subscription at or after `since`, except those
    `already` requested, oldest change first, at most `limit`; the high-water mark the caller may move to).
    When more than `limit` channels qualify, the mark is the last returned channel's change, so the next
    tick reads the rest."""
    uc, c = UserChannel.__table__.c, Channel.__table__.c
    changed = sa.func.max(uc.updated_at)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(c.channel_id, changed)
            .select_from(UserChannel.__table__.join(Channel.__table__, c.uuid == uc.channel_id))
            .where(uc.updated_at >= since, uc.is_active.is_(True), c.last_updated.is_(None),
                   c.next_refresh_at.is_(None), c.soft_deleted_at.is_(None),
                   sa.not_(in_strings(c.channel_id, list(already))))
            .group_by(c.channel_id).order_by(changed, c.channel_id).limit(limit)).all()
        if len(rows) == limit:
            newest = rows[-1][1]
        else:
            newest = conn.execute(sa.select(sa.func.max(uc.updated_at)).where(uc.updated_at >= since)).scalar_one()
    return sorted(r[0] for r in rows), newest
