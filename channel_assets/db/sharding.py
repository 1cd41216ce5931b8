"""Hash shards of the YouTube channel id: the static partitions of the refresh assets.

Channels are rows, not partition keys (Dagster advises <=100k partitions per asset). The count is
fixed because the shard is stored per row; 16 shards keep one shard near 30k channels at 500k.
"""

from __future__ import annotations

import zlib

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
