"""A small emulated world behind a real socket, fresh per test (cheap: the world is lazy)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from channel_assets.emulator import DEFAULT_API_KEY, EmulatorServer, World


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(World(channels=300, seed=11)) as server:
        yield server


@pytest.fixture
def client(emulator: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.base_url, params={"key": DEFAULT_API_KEY}, timeout=10) as c:
        yield c
