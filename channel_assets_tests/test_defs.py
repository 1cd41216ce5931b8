"""Loads the whole code location the way `dagster dev` and the gRPC server do."""

from channel_assets.definitions import defs


def test_code_location_loads():
    repo = defs.get_repository_def()
    repo.load_all_definitions()
