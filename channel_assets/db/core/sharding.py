"""Hash shards of the YouTube channel id: the static partitions of the refresh assets.

Channels are rows, not partition keys (Dagster advises <=100k partitions per asset). The count is
fixed because the shard is stored per row; 16 shards keep one shard near 30k channels at 500k.
"""

from __future__ import annotations

import zlib

from sqlalchemy import Engine, bindparam, select, update

SHARD_COUNT = 16


def shard_of(channel_id: str) -> int:
    return zlib.crc32(channel_id.encode("utf-8")) % SHARD_COUNT


def shard_keys() -> list[str]:
    return [f"{i:02d}" for i in range(SHARD_COUNT)]


def shard_from_key(key: str) -> int:
    value = int(key)
    if not 0 <= value < SHARD_COUNT:
        raise ValueError(f"shard key {key!r} is outside 00..{SHARD_COUNT - 1:02d}")
    return value


def assign_missing_shards(engine: Engine, batch: int = 10_000) -> int:
    """Give every channel without a shard its shard; returns how many got one.

    The gallery app inserts channels without the pipeline's columns, and a shard-partitioned cycle only
    selects its own shards, so such a channel would never be due. Run before each selection: finding
    them is one probe of the (shard, next_refresh_at) index (`shard IS NULL`), and the crc32 stays in
    Python (PostgreSQL has none built in), so every row keeps the shard the demo and the tests compute.
    No trigger on the app's table, no second copy of the hash in SQL.
    """
    from channel_assets.db.core.models import Channel

    c = Channel.__table__.c
    done = 0
    while True:
        with engine.begin() as conn:
            rows = conn.execute(select(c.uuid, c.channel_id).where(c.shard.is_(None)).limit(batch)
                                .with_for_update(skip_locked=True)).all()
            if not rows:
                return done
            conn.execute(update(Channel.__table__).where(c.uuid == bindparam("b_uuid"))
                         .values(shard=bindparam("b_shard")),
                         [{"b_uuid": r.uuid, "b_shard": shard_of(r.channel_id)} for r in rows])
            done += len(rows)
