"""A pipeline run in a process of its own, for the SIGKILL trials: prints READY when its work starts.

    python -m channel_assets_tests.reliability._worker refresh DB_URL EMULATOR_URL NOW_ISO
    python -m channel_assets_tests.reliability._worker cleanup DB_URL - NOW_ISO
"""

from __future__ import annotations

import sys
from datetime import datetime

from channel_assets.cycle import Cycle
from channel_assets.db.core.engine import make_engine

IN_FLIGHT = 4
SHARE = 5_000
COOLDOWN_DAYS = 7
CLEANUP_BATCH = 4


def run_refresh(engine, emulator_url: str, now: datetime) -> None:
    from channel_assets.db.core.sharding import SHARD_COUNT
    from channel_assets.db.refresh.quota_ledger import QuotaLedger
    from channel_assets.emulator import DEFAULT_API_KEY
    from channel_assets.refresh.metadata import refresh_shards
    from channel_assets.refresh.quota_gate import CountingGate
    from channel_assets.refresh.uploads import refresh_uploads
    from channel_assets.youtube import YouTubeClient

    gate = CountingGate(QuotaLedger(engine, SHARE, now=lambda: now))
    with YouTubeClient(emulator_url, DEFAULT_API_KEY, quota=gate, feed_base_url=emulator_url,
                       sleep=lambda s: None) as client:
        print("READY", flush=True)
        shards = list(range(SHARD_COUNT))
        refresh_shards(engine, client, gate, Cycle(now), shards, in_flight=IN_FLIGHT)
        refresh_uploads(engine, client, gate, Cycle(now), shards, in_flight=IN_FLIGHT, group_size=50)


def run_cleanup(engine, now: datetime) -> None:
    from channel_assets.db.cleanup.orphans import detect_orphans
    from channel_assets.db.cleanup.removal import run_removal, snapshot_due
    from channel_assets.db.cleanup.safety import Limits

    limits = Limits(max_watch_rows=10_000, max_users=1_000, max_videos=100)
    print("READY", flush=True)
    detect_orphans(engine, Cycle(now), now.date())
    snapshot_due(engine, Cycle(now), COOLDOWN_DAYS, limits, batch_size=CLEANUP_BATCH)
    run_removal(engine, Cycle(now), COOLDOWN_DAYS, limits, batch_size=CLEANUP_BATCH)


def main(argv: list[str]) -> int:
    mode, db_url, emulator_url, now_iso = argv
    engine = make_engine(db_url)
    now = datetime.fromisoformat(now_iso)
    if mode == "refresh":
        run_refresh(engine, emulator_url, now)
    else:
        run_cleanup(engine, now)
    print("DONE", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
