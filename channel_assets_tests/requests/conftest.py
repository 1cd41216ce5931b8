"""Requests fixtures: the refresh tests' emulator and helpers, and request limits small enough to hit."""

from __future__ import annotations

import pytest

from channel_assets_tests.refresh.conftest import (  # noqa: F401 - fixtures reused
    client_factory,
    emulator,
    insert_channels,
    ledger_factory,
)


@pytest.fixture
def url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)
