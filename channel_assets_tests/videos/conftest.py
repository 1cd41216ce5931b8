"""Video refresh fixtures: a small emulator world, channels fresh (not due), videos as the app stores them."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import insert, select

from channel_assets.db.core.engine import transaction
from channel_assets.db.core.models import Channel, Video
from channel_assets.db.core.sharding import shard_of
from channel_assets.db.refresh.quota_ledger import QuotaLedger
from channel_assets.refresh.quota_gate import CountingGate
from channel_assets_tests.refresh.conftest import client_factory, emulator  # noqa: F401 - shared fixtures

CHANNELS = 8
PER_CHANNEL = 12


class VideoWorld:
    """Channels 0..CHANNELS-1 of the emulator with their first PER_CHANNEL videos stored, as the app
    imported them (title and channel link only)."""

    def __init__(self, engine, emu) -> None:
        self.engine, self.emu, self.world = engine, emu, emu.world
        self.channel_uuid: dict[str, uuid.UUID] = {}
        self.video_ids: list[str] = []

    def store(self, channels: int = CHANNELS, per_channel: int = PER_CHANNEL) -> list[str]:
        now = self.world.now
        with transaction(self.engine) as conn:
            for i in range(channels):
                cid = self.world.channel_id(i)
                cu = uuid.uuid4()
                self.channel_uuid[cid] = cu
                conn.execute(insert(Channel).values(
                    uuid=cu, channel_id=cid, shard=shard_of(cid), url=f"https://www.youtube.com/channel/{cid}",
                    title=f"channel {i}", next_refresh_at=now + timedelta(days=1)))
                rows = []
                for vid, _ in self.world.uploads(i, 0, per_channel):
                    rows.append({"uuid": uuid.uuid4(), "video_id": vid, "channel_id": cu, "title": "as imported",
                                 "description": ""})
                    self.video_ids.append(vid)
                if rows:
                    conn.execute(insert(Video), rows)
        return self.video_ids

    def truth(self, ids: list[str]) -> dict[str, dict]:
        body = httpx.post(f"{self.emu.base_url}/_emulator/videos/state", json={"ids": ids}).json()
        return {v["id"]: v for v in body["videos"]}

    def rows(self) -> dict[str, object]:
        with self.engine.connect() as conn:
            return {r.video_id: r for r in conn.execute(select(Video.__table__))}

    def set_status(self, vid: str, status: str) -> None:
        httpx.post(f"{self.emu.base_url}/_emulator/videos/{vid}", json={"status": status}).raise_for_status()

    def advance(self, days: float) -> None:
        httpx.post(f"{self.emu.base_url}/_emulator/clock", json={"advance_days": days}).raise_for_status()


@pytest.fixture
def videos(engine, emulator):  # noqa: F811
    return VideoWorld(engine, emulator)


@pytest.fixture
def video_gate(engine, emulator):  # noqa: F811
    """A gate on the video ledger (on the emulator's clock): pipeline limit 8,000, video cap 2,000 by default."""

    def make(limit: int = 8_000, video_limit: int = 2_000) -> CountingGate:
        return CountingGate(QuotaLedger(engine, limit, now=lambda: emulator.world.now, video_limit=video_limit))

    return make
