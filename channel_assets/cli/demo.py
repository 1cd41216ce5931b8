"""The main job on the embedded default (`make demo`): a real cycle against the local emulator.

Seeds the database if empty, then runs the pipeline's own Dagster assets the way the schedules do:
refresh all shards, uploads, statistics, report, a cleanup dry run and the real cleanup; advances the
emulator's clock a day (users unsubscribe, the world changes) and runs again; then passes the
cool-down, removes orphans with snapshots, and re-subscribes a user to a removed channel to show
their watch history re-linked. Every number printed is read back from the database.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg
from sqlalchemy import Engine

from channel_assets.db.core import migrate
from channel_assets.db.core.engine import make_engine
from channel_assets.db.demo_data import (
    changes_since,
    demo_totals,
    latest_pipeline_writes,
    resubscribe_to_most_preserved,
    unsubscribe_fraction,
)
from channel_assets.defs.cleanup.assets import cleanup_assets
from channel_assets.defs.cleanup.checks import cleanup_checks
from channel_assets.defs.refresh.assets import (
    channel_metadata,
    channel_statistics,
    channel_uploads,
)
from channel_assets.defs.refresh.checks import metadata_checks
from channel_assets.defs.refresh.schedules import ALL_SHARDS_TAGS
from channel_assets.defs.reporting.assets import channel_freshness_report
from channel_assets.defs.resources import AppDatabase, PipelinePolicy, YouTubeApi
from channel_assets.demo_seed import seed_demo
from channel_assets.emulator import EmulatorServer, World
from channel_assets.emulator.server import DEFAULT_API_KEY


@dataclass(frozen=True)
class Totals:
    channels: int
    available: int
    fetched: int
    videos: int
    watch_rows: int
    soft_deleted: int
    held: int

    @classmethod
    def read(cls, engine: Engine) -> Totals:
        return cls(**demo_totals(engine))


DAY_2_AFTER = timedelta(days=1)  # the simulated days after day 1
DAY_10_AFTER = timedelta(days=8)
SIMULATED_SPAN = DAY_2_AFTER + DAY_10_AFTER


def _clock_start(engine: Engine, now: datetime) -> datetime:
    """Day 1 is SIMULATED_SPAN before `now`, so day 10 is today and each simulated day materializes its own
    daily partition (Dagster has none after tomorrow). A re-run continues after the latest moment a previous
    demo wrote, so it still moves forward in time (its later days then share today's partition)."""
    start = now.replace(second=0, microsecond=0) - SIMULATED_SPAN
    return max([start, *(t + timedelta(minutes=1) for t in latest_pipeline_writes(engine))])


class Demo:
    def __init__(self, engine: Engine, url: str, server: EmulatorServer, out: Callable[[str], None]):
        self.engine = engine
        self.server = server
        self.out = out
        self.resources = {
            "app_db": AppDatabase(database_url=url),
            "policy": PipelinePolicy(),
            "youtube": YouTubeApi(api_key=DEFAULT_API_KEY, base_url=server.base_url,
                                  feed_base_url=server.base_url),
        }
        self.instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()

    @property
    def now(self) -> datetime:
        return self.server.world.now

    def _materialize(self, assets: list, config: dict[str, dict], **kwargs) -> dg.ExecuteInProcessResult:
        """Materialize through Dagster (events land in the instance, so `make dev` shows these runs)."""
        run_config = {"ops": {name: {"config": c} for name, c in config.items()},
                      "loggers": {"console": {"config": {"log_level": "WARNING"}}}}
        return dg.materialize(assets, resources=self.resources, instance=self.instance,
                              run_config=run_config, **kwargs)

    @property
    def day(self) -> str:
        """Today's daily partition: the simulated day, but Dagster only knows days up to the real today."""
        return min(self.now.date(), datetime.now(UTC).date()).isoformat()

    @staticmethod
    def _meta(result: dg.ExecuteInProcessResult, asset: str) -> dict:
        for event in result.get_asset_materialization_events():
            if event.asset_key.to_user_string() == asset:
                return {k: getattr(v, "value", v) for k, v in event.materialization.metadata.items()}
        return {}

    def refresh(self) -> None:
        now = self.now.isoformat()
        result = self._materialize([channel_metadata, channel_uploads, *metadata_checks],
                                   {"channel_metadata": {"now": now}, "channel_uploads": {"now": now}},
                                   tags=dict(ALL_SHARDS_TAGS))
        meta, uploads = self._meta(result, "channel_metadata"), self._meta(result, "channel_uploads")
        self.out(f"  refresh (all 16 shards, one run): {meta.get('refreshed', 0)} channels refreshed with "
                 f"{meta.get('quota_units', 0)} channels.list units "
                 f"({meta.get('channels_per_unit', 0):.1f} channels/unit), {meta.get('changed', 0)} changed, "
                 f"{meta.get('gone', 0)} confirmed gone, {meta.get('failed', 0)} failed")
        self.out(f"  uploads: {uploads.get('videos_added', 0)} new videos from {uploads.get('checked', 0)} channels "
                 f"checked ({uploads.get('feed_hits', 0)} by feed, {uploads.get('playlist_pages', 0)} playlist "
                 f"pages), {uploads.get('quota_units', 0)} units")
        for check in result.get_asset_check_evaluations():
            self.out(f"  check {check.check_name}: {'passed' if check.passed else 'FAILED'}")

    def series(self) -> None:
        day = self.day
        self._materialize([channel_statistics], {}, partition_key=day)
        result = self._materialize([channel_freshness_report],
                                   {"channel_freshness_report": {"now": self.now.isoformat()}}, partition_key=day)
        fresh = self._meta(result, "channel_freshness_report")
        self.out(f"  statistics snapshot and freshness report (partition {day}): "
                 f"{fresh.get('within_frequency_pct', 0):.1f}% of available channels within their frequency, "
                 f"quota used {fresh.get('quota_used', 0)}, left {fresh.get('quota_left', 0)}")

    def cleanup(self, dry_run: bool) -> dict:
        day = self.day
        config = {"now": self.now.isoformat(), "dry_run": dry_run}
        result = self._materialize([*cleanup_assets, *cleanup_checks],
                                   {a.op.name: config for a in cleanup_assets}, partition_key=day)
        orphans, removed = self._meta(result, "orphaned_channels"), self._meta(result, "removed_channels")
        label = "cleanup DRY RUN (nothing changed)" if dry_run else "cleanup"
        verb = "would soft-delete" if dry_run else "soft-deleted"
        self.out(f"  {label}: {orphans.get('orphans', 0)} orphans ({orphans.get('new_today', 0)} new), "
                 f"{verb} {removed.get('soft_deleted', 0)}, hard-deleted {removed.get('hard_deleted', 0)}, "
                 f"held for review {removed.get('held_for_review', 0)}")
        return removed

    def unsubscribe_some(self, fraction: float, rng: random.Random) -> int:
        """Users unsubscribe, as the gallery app would write it: is_active false, updated_at now."""
        return unsubscribe_fraction(self.engine, fraction, rng, self.now)

    def resubscribe_to_removed(self) -> tuple[str, int, int] | None:
        """A user follows a hard-deleted channel again: the app re-creates the channel row."""
        follow = resubscribe_to_most_preserved(self.engine, self.now)
        if follow is None:
            return None
        self.cleanup(dry_run=False)  # detection re-links preserved videos to the new row
        relinked, history = follow.relinked(self.engine)
        return follow.channel_id, relinked, history


def run_demo(database_url: str, users: int = 300, channels: int = 1000, seed: int = 7,
             out: Callable[[str], None] = print) -> Totals:
    engine = make_engine(database_url)
    before, after = migrate.upgrade(engine)
    out(f"database {database_url.split('://', 1)[0]} at revision {after}"
        + (" (created)" if before is None else ""))
    world = World(channels, seed, start=_clock_start(engine, datetime.now(UTC)))
    rng = random.Random(seed)
    with EmulatorServer(world) as server:
        out(f"local YouTube API emulator at {server.base_url} ({channels} channels, clock {world.now:%Y-%m-%d %H:%M}Z)")
        if Totals.read(engine).channels == 0:
            counts = seed_demo(engine, users=users, channels=channels, seed=seed, now=world.now)
            out(f"seeded {counts.users} users, {counts.channels} channels, {counts.subscriptions} subscriptions, "
                f"{counts.videos} videos, {counts.watch_rows} watch-history rows; {counts.orphans} orphaned")
        demo = Demo(engine, database_url, server, out)
        start = Totals.read(engine)

        out(f"\nday 1 — {world.now:%Y-%m-%d}")
        demo.refresh()
        demo.series()
        demo.cleanup(dry_run=True)
        demo.cleanup(dry_run=False)

        world.advance(days=DAY_2_AFTER.days)
        gone = demo.unsubscribe_some(0.03, rng)
        out(f"\nday 2 — {world.now:%Y-%m-%d}: the world moved a day; {gone} subscriptions ended")
        mark = world.now - timedelta(seconds=1)
        demo.refresh()
        changes = changes_since(engine, mark)
        out("  update log since yesterday: " + ", ".join(f"{k} {v}" for k, v in sorted(changes.items())))
        demo.series()
        demo.cleanup(dry_run=False)

        world.advance(days=DAY_10_AFTER.days)
        out(f"\nday 10 — {world.now:%Y-%m-%d}: the 7-day cool-down has passed")
        middle = Totals.read(engine)
        demo.refresh()
        demo.cleanup(dry_run=False)
        relink = demo.resubscribe_to_removed()
        if relink:
            youtube_id, relinked, history = relink
            out(f"  a user re-subscribed to removed channel {youtube_id}: {relinked} preserved videos re-linked, "
                f"{history} of their watch-history rows attached again")
        demo.series()
        end = Totals.read(engine)

    out("\nsummary")
    out(f"  channels {start.channels} → {end.channels} (available {end.available}, fetched {end.fetched}, "
        f"soft-deleted {end.soft_deleted}, held for review {end.held})")
    out(f"  videos {start.videos} → {end.videos} (new uploads added, none removed: "
        f"{'yes' if end.videos >= middle.videos else 'NO'})")
    out(f"  watch-history rows {start.watch_rows} → {end.watch_rows} "
        f"({'none lost' if end.watch_rows == start.watch_rows else 'CHANGED'})")
    out("  open the runs in the UI: make dev, then http://127.0.0.1:3000")
    return end
