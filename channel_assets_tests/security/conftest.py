"""Security fixtures: the refresh emulator fixtures (re-exported)."""

from channel_assets_tests.refresh.conftest import client_factory, emulator, ledger_factory  # noqa: F401

PG_DEFAULT = {"t4", "t5", "'; DROP TABLE videos_channel; --", "ids4"}  # NUL, injection, bad ids


def pytest_collection_modifyitems(config, items):
    """Hostile-input cases run on both backends in `make test-full`; by default PostgreSQL gets the
    ones where it differs (NUL characters, injection-shaped text and ids)."""
    import pytest

    for item in items:
        callspec = getattr(item, "callspec", None)
        if (callspec is None or "test_hostile_input" not in item.nodeid
                or callspec.params.get("db_url") != "postgres"):
            continue
        if not PG_DEFAULT & {str(v) for v in callspec.params.values()} and not PG_DEFAULT & set(callspec.id.split("-")):
            item.add_marker(pytest.mark.slow)
