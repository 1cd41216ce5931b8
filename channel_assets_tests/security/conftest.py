"""Security fixtures: the refresh emulator fixtures (re-exported)."""

from channel_assets_tests.refresh.conftest import client_factory, emulator, ledger_factory  # noqa: F401
