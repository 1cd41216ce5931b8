"""Refresh fixtures: a live emulator on a real socket, a seeded app database, a client on both."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import insert

from channel_assets.db.core.engine import transaction
from channel_assets.db.core.models import Channel
from channel_assets.db.core.sharding import shard_of
from channel_assets.db.refresh.quota_ledger import QuotaLedger
from channel_assets.emulator import DEFAULT_API_KEY, EmulatorServer, World
from channel_assets.refresh.quota_gate import CountingGate
from channel_assets.youtube import YouTubeClient

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SEED = 7
WORLD_SIZE = 2_000


class Emu:
    """The emulator plus helpers to read its ground truth over HTTP."""

    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        self.world = server.world
        self.base_url = server.base_url

    def ids(self, n: int, offset: int = 0) -> list[str]:
        return [self.world.channel_id(i) for i in range(offset, offset + n)]

    def truth(self, n: int) -> dict[str, dict]:
        out: dict[str, dict] = {}
        for offset in range(0, n, 1000):
            body = httpx.get(f"{self.base_url}/_emulator/state",
                             params={"offset": offset, "limit": min(1000, n - offset)}).json()
            out |= {ch["id"]: ch for ch in body["channels"]}
        return out

    def calls(self, name: str) -> int:
        return httpx.get(f"{self.base_url}/_emulator/stats").json().get(name, 0)


@pytest.fixture
def emulator():
    server = EmulatorServer(World(WORLD_SIZE, SEED, START))
    server.start()
    yield Emu(server)
    server.stop()


@pytest.fixture
def ledger_factory(engine, emulator):
    """Ledgers on the emulator's clock, so the Pacific-day reset follows simulated time."""

    def make(limit: int = 8_000) -> CountingGate:
        return CountingGate(QuotaLedger(engine, limit, now=lambda: emulator.world.now))

    return make


@pytest.fixture
def client_factory(emulator):
    clients: list[YouTubeClient] = []

    def make(gate, **kwargs) -> YouTubeClient:
        kwargs.setdefault("sleep", lambda s: None)  # no real sleeps in retries
        client = YouTubeClient(emulator.base_url, DEFAULT_API_KEY, quota=gate, feed_base_url=emulator.base_url,
                               **kwargs)
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.close()


def insert_channels(engine, ids: list[str], **columns) -> None:
    """Channel rows as the gallery app creates them: never fetched (next_refresh_at NULL)."""
    rows = [{"uuid": uuid.uuid4(), "channel_id": cid, "shard": shard_of(cid),
             "url": f"https://www.youtube.com/channel/{cid}", **columns} for cid in ids]
    with transaction(engine) as conn:
        for start in range(0, len(rows), 2000):
            conn.execute(insert(Channel), rows[start : start + 2000])
