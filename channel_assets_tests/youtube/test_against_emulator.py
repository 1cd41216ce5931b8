"""The real client against the emulator over real sockets: batching, faults survived, quota stops."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from channel_assets.db.refresh.quota_ledger import QuotaLedger
from channel_assets.emulator import DEFAULT_API_KEY, EmulatorServer, World
from channel_assets.youtube import QuotaExceeded, QuotaShareExhausted, YouTubeClient


def _client(server: EmulatorServer, **kwargs) -> YouTubeClient:
    return YouTubeClient(server.base_url, DEFAULT_API_KEY, sleep=lambda s: None, **kwargs)


def _batches(ids: list[str], size: int = 50) -> list[list[str]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def test_ten_thousand_channels_in_two_hundred_calls():
    world = World(channels=10_000, seed=5)
    with EmulatorServer(world) as server, _client(server) as client:
        ids = [world.channel_id(i) for i in range(10_000)]
        with ThreadPoolExecutor(8) as pool:
            batches = list(pool.map(client.list_channels, _batches(ids)))
        assert client.calls_made == 200
        found = {cid: rec for b in batches for cid, rec in b.found.items()}
        assert len(found) == 10_000 and not any(b.missing or b.invalid for b in batches)
        truth = world.channel(1234)
        record = found[world.channel_id(1234)]
        assert record.title == truth.title
        assert record.video_count == truth.video_count


def test_faults_are_survived_by_retries_and_nothing_is_reported_missing():
    world = World(channels=2_000, seed=6)
    with EmulatorServer(world) as server, _client(server, max_attempts=8, breaker_threshold=50) as client:
        server.faults.configure({"error_rate": 0.2, "rate_limit_rate": 0.1, "seed": 3})
        ids = [world.channel_id(i) for i in range(2_000)]
        batches = [client.list_channels(batch) for batch in _batches(ids)]
        assert sum(len(b.found) for b in batches) == 2_000
        assert not any(b.missing for b in batches)
        assert client.calls_made > 40  # the retries happened, and each was a call


def test_api_quota_exhaustion_stops_cleanly_and_marks_the_ledger(engine):
    world = World(channels=500, seed=7)
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    ledger = QuotaLedger(engine, limit=1_000, now=lambda: now)
    with EmulatorServer(world, quota_limit=3) as server, _client(server, quota=ledger) as client:
        ids = [world.channel_id(i) for i in range(500)]
        for batch in _batches(ids)[:3]:
            assert len(client.list_channels(batch).found) == 50
        with pytest.raises(QuotaExceeded):
            client.list_channels(_batches(ids)[3])
        assert ledger.status().exhausted
        with pytest.raises(QuotaShareExhausted):
            client.list_channels(_batches(ids)[4])
        assert client.calls_made == 4


def test_pipeline_share_is_never_crossed(engine):
    world = World(channels=1_000, seed=8)
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    ledger = QuotaLedger(engine, limit=7, now=lambda: now)
    with EmulatorServer(world) as server, _client(server, quota=ledger) as client:
        ids = [world.channel_id(i) for i in range(1_000)]
        done = 0
        for batch in _batches(ids):
            try:
                client.list_channels(batch)
                done += 1
            except QuotaShareExhausted:
                break
        assert done == 7 and ledger.status().reserved == 7
