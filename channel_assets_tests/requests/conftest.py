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
