"""Partitions shared by both domains: hash shards for refresh work, days for time series.

Channels stay rows; a shard partition is a hash bucket of channel ids (see db.sharding), so the
partition count is fixed and small whatever the number of channels.
"""

import dagster as dg

from channel_assets.db.core.sharding import shard_keys

shard_partitions = dg.StaticPartitionsDefinition(shard_keys())
daily_partitions = dg.DailyPartitionsDefinition(start_date="2026-01-01", timezone="UTC", end_offset=1)
