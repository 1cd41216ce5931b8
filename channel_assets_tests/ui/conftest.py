"""One running stack per test session (worker): emulator, a seeded app database of its own, webserver, daemon."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

import pytest

from channel_assets.db.core import migrate
from channel_assets.db.core.engine import make_engine
from channel_assets.demo_seed import seed_demo
from channel_assets_tests.pg import ThrowawayPostgres

from .stack import CHANNELS, ROOT, SEED, USERS, DagsterStack, Emulator, app_env


@dataclass
class UiStack:
    dagster: DagsterStack
    location: str
    database_url: str
    emulator_url: str
    engine: object
    stopped_sensors: list[str]


@pytest.fixture(scope="session")
def ui_stack(tmp_path_factory):
    """The embedded instance (a copy of dagster.yaml: Dagster's own SQLite storage, queued runs, so the daemon runs
    too), the repo's workspace.yaml, the emulator and a small demo population of the same seed."""
    base = tmp_path_factory.mktemp("ui_stack")
    home, logs = base / "dagster_home", base / "logs"
    home.mkdir()
    logs.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    database = ThrowawayPostgres()
    database_url = database.__enter__()
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    seed_demo(engine, users=USERS, channels=CHANNELS, seed=SEED)

    emulator = Emulator(CHANNELS, SEED)
    stack = DagsterStack(home, logs, app_env(database_url, emulator.url))
    try:
        workspace = ROOT / "workspace.yaml"
        stack.start_webserver(workspace)
        location = stack.wait_loaded()
        # The seeded subscriptions are all to never-fetched channels: with the sensors running, the
        # daemon would launch force-refresh runs of its own, and a schedule falling due (priority_refresh
        # every 30 min) would refresh the shards under test. The tests want only the runs they launch.
        stopped = stack.stop_sensors(location)
        stack.stop_schedules(location)
        stack.start_daemon(workspace)
        yield UiStack(stack, location, database_url, emulator.url, engine, stopped)
    finally:
        stack.close()
        emulator.close()
        engine.dispose()
        database.__exit__(None, None, None)


def world_channel(engine, shard: int | None = None, exclude_shard: int | None = None) -> str:
    """A seeded channel id that exists in the emulator's world (the seed adds a few that never did)."""
    from sqlalchemy import select

    from channel_assets.db.core.models import Channel
    from channel_assets.db.core.sharding import shard_of
    from channel_assets.emulator.world import channel_ids

    world = set(channel_ids(CHANNELS, SEED))
    with engine.connect() as conn:
        seeded = conn.execute(select(Channel.channel_id).order_by(Channel.channel_id)).scalars().all()
    for cid in seeded:
        if cid in world and (shard is None or shard_of(cid) == shard) and shard_of(cid) != exclude_shard:
            return cid
    raise AssertionError("no seeded channel of the emulator's world fits")
