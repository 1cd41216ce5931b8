"""Requests fixtures: the refresh tests' helpers on a small emulator world (the requests name a few channels)."""

from __future__ import annotations

import pytest

from channel_assets.emulator import EmulatorServer, World
from channel_assets_tests.refresh.conftest import (  # noqa: F401 - fixtures reused
    SEED,
    START,
    Emu,
    client_factory,
    insert_channels,
    ledger_factory,
)

WORLD_SIZE = 50


@pytest.fixture
def emulator():
    server = EmulatorServer(World(WORLD_SIZE, SEED, START))
    server.start()
    yield Emu(server)
    server.stop()


@pytest.fixture
def url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def follow(engine, user_id: int, channel_ids: list[str]) -> None:
    """`user_id` (created if missing) actively follows the channels, as the app records it."""
    from sqlalchemy import select
    from sqlalchemy.dialects.postgresql import insert

    from channel_assets.db.core.engine import transaction
    from channel_assets.db.core.models import Channel, User, UserChannel

    with transaction(engine) as conn:
        conn.execute(insert(User).values(id=user_id, username=f"user{user_id}").on_conflict_do_nothing())
        uuids = conn.execute(select(Channel.uuid).where(Channel.channel_id.in_(channel_ids))).scalars().all()
        conn.execute(insert(UserChannel), [{"user_id": user_id, "channel_id": u, "is_active": True} for u in uuids])
