"""The pipeline on a real Django gallery app's database, through Dagster, cycle after cycle.

Schema by Django's `migrate`, rows by the app's ORM, then `db upgrade` adopts it. After every cycle
no user's subscription, video or watch row is lost or duplicated, and at the end the app's ORM still
creates, reads, updates and deletes everything (deleting a user cascades in Python) and
`makemigrations --check` finds nothing new.
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import pytest

from channel_assets.db.core import migrate
from channel_assets.db.core.engine import make_engine
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
from channel_assets.emulator import DEFAULT_API_KEY, EmulatorServer, World
from channel_assets_tests.refresh.conftest import START

from .conftest import GalleryDatabase, django, orm

USERS = [f"viewer{i}" for i in range(4)]
FOLLOWED, QUIET, ORPHANS, RESTORED, RECREATED = range(0, 4), 4, (5, 6), 7, 8


class Gallery:
    """The module's one gallery database, its emulator world and the Dagster plumbing around them."""

    def __init__(self, url: str, server: EmulatorServer) -> None:
        self.url, self.world = url, server.world
        self.engine = make_engine(url)
        self.instance = dg.DagsterInstance.ephemeral()
        self.resources = {
            "app_db": AppDatabase(database_url=url),
            "policy": PipelinePolicy(),
            "youtube": YouTubeApi(api_key=DEFAULT_API_KEY, base_url=server.base_url, feed_base_url=server.base_url,
                                  max_calls_in_flight=4),
        }

    def cid(self, i: int) -> str:
        return self.world.channel_id(i)

    def refresh(self, now) -> dg.ExecuteInProcessResult:
        config = {"ops": {n: {"config": {"now": now.isoformat()}} for n in ("channel_metadata", "channel_uploads")}}
        result = dg.materialize([channel_metadata, channel_uploads, *metadata_checks], resources=self.resources,
                                instance=self.instance, tags=dict(ALL_SHARDS_TAGS), run_config=config)
        assert result.success
        day = now.date().isoformat()
        series = dg.materialize(
            [channel_statistics, channel_freshness_report], partition_key=day, resources=self.resources,
            instance=self.instance, run_config={"ops": {"channel_freshness_report": {"config": {"now": now.isoformat()}}}})
        assert series.success
        return result

    def cleanup(self, now) -> dg.ExecuteInProcessResult:
        config = {"now": now.isoformat(), "dry_run": False}
        result = dg.materialize([*cleanup_assets, *cleanup_checks], partition_key=now.date().isoformat(),
                                resources={k: self.resources[k] for k in ("app_db", "policy")}, instance=self.instance,
                                run_config={"ops": {a.op.name: {"config": config} for a in cleanup_assets}})
        assert result.success and all(e.passed for e in result.get_asset_check_evaluations())
        return result

    def rows(self, sql: str, *params) -> list[tuple]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(sql, tuple(params))]

    def channel(self, i: int):
        with self.engine.connect() as conn:
            return conn.exec_driver_sql("SELECT * FROM videos_channel WHERE channel_id = %s", (self.cid(i),)).first()

    def ledger(self) -> dict:
        """Every user's rows, as multisets: nothing may be lost or duplicated by a cycle."""
        return {
            "users": self.rows("SELECT id FROM users_user ORDER BY id"),
            "subscriptions": self.rows("SELECT user_id, channel_id, is_active FROM users_userchannel ORDER BY 1, 2"),
            "watch": self.rows("SELECT w.user_id, v.video_id FROM users_uservideo w "
                               "JOIN videos_video v ON v.uuid = w.video_id ORDER BY 1, 2"),
            "videos": self.rows("SELECT uuid FROM videos_video ORDER BY 1"),
        }

    def assert_kept(self, before: dict, *, videos_added: int = 0, subscriptions_removed: int = 0) -> dict:
        after = self.ledger()
        assert after["users"] == before["users"] and after["watch"] == before["watch"]
        assert set(before["videos"]) <= set(after["videos"])
        assert len(after["videos"]) == len(before["videos"]) + videos_added
        assert len(after["subscriptions"]) == len(before["subscriptions"]) - subscriptions_removed
        assert self.rows("SELECT channel_id, video_id FROM videos_video WHERE channel_id IS NOT NULL "
                         "GROUP BY 1, 2 HAVING count(*) > 1") == []
        return after


@pytest.fixture(scope="module")
def gallery(gallery_template):
    server = EmulatorServer(World(200, 11, START))
    server.start()
    db = GalleryDatabase(gallery_template)
    url = db.__enter__()
    world = server.world
    active = {i: [0, 1] for i in FOLLOWED} | {QUIET: [2]}
    inactive = {i: [1, 2, 3] for i in (*ORPHANS, RESTORED, RECREATED)}
    channels = [{"channel_id": world.channel_id(i), "active": active.get(i, []), "inactive": inactive.get(i, []),
                 "videos": [vid for vid, _ in world.uploads(i, 0, 3)], "watchers": [0, 1, 2, 3]}
                for i in range(RECREATED + 1)]
    orm(url, "seed", {"users": USERS, "channels": channels})
    g = Gallery(url, server)
    yield g
    g.engine.dispose()
    db.__exit__(None, None, None)
    server.stop()


def test_cycles_on_the_apps_data_keep_every_users_rows_and_the_app_working(gallery):
    g, now = gallery, START
    assert migrate.upgrade(g.engine)[1] == migrate.head_revision()
    imported = g.rows("SELECT channel_id, video_id FROM videos_video")
    kept = g.ledger()

    # Refresh: channels the app inserted (no shard, never fetched) are all due first; uploads skip the
    # videos the app imported (no channel_id_snapshot) and add only the rest of each feed.
    result = g.refresh(now)
    meta = result.asset_materializations_for_node("channel_metadata")[0].metadata
    assert meta["due"].value == RECREATED + 1
    assert g.rows("SELECT count(*) FROM videos_channel WHERE shard IS NULL OR last_updated IS NULL") == [(0,)]
    added = sum(m.metadata["videos_added"].value for m in result.asset_materializations_for_node("channel_uploads")[:1])
    assert added > 0
    kept = g.assert_kept(kept, videos_added=added)
    assert set(imported) <= set(g.rows("SELECT channel_id, video_id FROM videos_video"))

    # Cleanup day 0: the four unfollowed channels are soft-deleted.
    g.cleanup(now)
    kept = g.assert_kept(kept)
    soft = {r[0] for r in g.rows("SELECT channel_id FROM videos_channel WHERE soft_deleted_at IS NOT NULL")}
    assert soft == {g.cid(i) for i in (*ORPHANS, RESTORED, RECREATED)}

    # The app writes: a QuerySet.update() unsubscription (updated_at untouched: the sensors' fast path is
    # blind to it) and a re-subscription through save(). The next daily cycle, within a day, sees both.
    assert orm(g.url, "unsubscribe_quietly", {"channel_ids": [g.cid(QUIET)]}) == {"updated": 1}
    orm(g.url, "subscribe", {"user": USERS[3], "channel_id": g.cid(RESTORED)})
    kept = g.ledger()
    day1 = now + timedelta(days=1)
    g.cleanup(day1)
    kept = g.assert_kept(kept)
    assert g.channel(QUIET).soft_deleted_at == day1
    assert g.channel(RESTORED).soft_deleted_at is None and g.channel(RESTORED).orphaned_at is None

    # Day 8: past the cool-down. Hard delete with snapshots: videos and watch rows stay, the videos lose
    # their channel link, inactive subscriptions go (explicitly: Django's FKs have no ON DELETE). The quietly
    # unsubscribed channel, soft-deleted on day 1, has served its 7 days too.
    gone = (*ORPHANS, RECREATED, QUIET)
    uuids = [g.channel(i).uuid for i in gone]
    inactive_subs = len(g.rows("SELECT 1 FROM users_userchannel s JOIN videos_channel c ON c.uuid = s.channel_id "
                               "WHERE c.channel_id = ANY(%s)", [g.cid(i) for i in gone]))
    day8 = now + timedelta(days=8)
    removed = g.cleanup(day8).asset_materializations_for_node("removed_channels")[0].metadata
    assert removed["hard_deleted"].value == len(gone)
    kept = g.assert_kept(kept, subscriptions_removed=inactive_subs)
    for i, u in zip(gone, uuids, strict=True):
        assert g.channel(i) is None
        snap = g.rows("SELECT channel_id, original_channel_metadata->>'channel_id', channel_id_snapshot "
                      "FROM videos_video WHERE channel_id_snapshot = %s", g.cid(i))
        assert snap and all(r == (None, g.cid(i), g.cid(i)) for r in snap), snap
        assert u not in {r[0] for r in g.rows("SELECT channel_id FROM users_userchannel")}
    assert g.rows("SELECT count(*) FROM users_uservideo w JOIN videos_video v ON v.uuid = w.video_id "
                  "WHERE v.channel_id IS NULL AND w.channel_context IS NULL") == [(0,)]

    # The app re-creates a removed channel (a user follows it again): the next cycle refreshes it (no
    # shard, never fetched) and re-links its preserved videos and their watch history.
    orm(g.url, "create_channel", {"user": USERS[0], "channel_id": g.cid(RECREATED)})
    kept = g.ledger()
    day9 = now + timedelta(days=9)
    g.refresh(day9)
    kept = g.assert_kept(kept, videos_added=len(g.ledger()["videos"]) - len(kept["videos"]))
    g.cleanup(day9)
    kept = g.assert_kept(kept)
    recreated = g.channel(RECREATED)
    assert recreated.shard is not None and recreated.last_updated is not None
    relinked = g.rows("SELECT count(*) FROM videos_video WHERE channel_id = %s AND channel_id_snapshot = %s",
                      recreated.uuid, g.cid(RECREATED))
    assert relinked[0][0] >= 3

    # The app still does everything on its tables; its models match its migrations.
    done = orm(g.url, "crud", {"delete_user": USERS[2]})
    assert done["videos_read"] == len(kept["videos"]) and done["channel_less_videos"] > 0
    assert done["deleted_user_rows"][1] > 0 and done["video_after_channel_delete"] is None
    after = g.ledger()
    assert len(after["users"]) == len(kept["users"]) - 1 and len(after["videos"]) == len(kept["videos"])
    assert django(g.url, "makemigrations", "--check", "--dry-run").returncode == 0
    assert migrate.check(g.engine) == ([], True)
