"""A full cycle through Dagster (metadata + uploads + statistics + report + checks, forced refresh,
cleanup with checks) with a distinctive API key and faults injected, on a persistent DagsterInstance;
then every captured log line, every event record of every run, all metadata, check results, exception
texts, the app database (update log, channel errors) and the instance's files are searched: zero hits."""

from __future__ import annotations

import json
import logging
import socket
from datetime import timedelta
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
from dagster._serdes import serialize_value

from channel_assets.db.core.models import Channel, ChannelUpdateLog
from channel_assets.defs.cleanup.assets import cleanup_assets
from channel_assets.defs.cleanup.checks import cleanup_checks
from channel_assets.defs.refresh.assets import (
    channel_metadata,
    channel_statistics,
    channel_uploads,
)
from channel_assets.defs.refresh.checks import metadata_checks
from channel_assets.defs.refresh.jobs import force_refresh_channels
from channel_assets.defs.refresh.schedules import ALL_SHARDS_TAGS
from channel_assets.defs.reporting.assets import channel_freshness_report
from channel_assets.defs.resources import build_resources
from channel_assets.emulator import EmulatorServer, World
from channel_assets.youtube import YouTubeClient
from channel_assets_tests.refresh.conftest import SEED, START, insert_channels

SECRET = "AIzaSyZ-LeakCanary_9f3b7c1d5e"
FRAGMENTS = (SECRET, SECRET[8:], "LeakCanary")  # the key, and pieces a partial leak would show


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cfg(now, *ops, **extra) -> dict:
    return {"ops": {op: {"config": {"now": now.isoformat(), **extra}} for op in ops}}


def test_full_cycle_with_faults_never_shows_the_key(engine, tmp_path, monkeypatch, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    # retries back off without real sleeping (the client built by the resource keeps every other default)
    monkeypatch.setitem(YouTubeClient.__init__.__kwdefaults__, "sleep", lambda s: None)
    world = World(200, SEED, START)
    server = EmulatorServer(world, api_keys=(SECRET,)).start()
    url = engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("CHANNEL_ASSETS_DATABASE_URL", url)
    monkeypatch.setenv("YOUTUBE_API_KEY", SECRET)  # as production: resources read it through dg.EnvVar
    monkeypatch.setenv("YOUTUBE_API_BASE_URL", server.base_url)
    monkeypatch.setenv("YOUTUBE_FEED_BASE_URL", server.base_url)
    monkeypatch.setenv("YOUTUBE_MAX_CALLS_IN_FLIGHT", "4")
    ids = [world.channel_id(i) for i in range(120)]
    insert_channels(engine, ids)
    now = world.now
    resources = build_resources()
    results = []
    home = tmp_path / "dagster_home"
    home.mkdir()
    try:
        with dg.instance_for_test(temp_dir=str(home)) as instance:
            def run(assets, **kwargs):
                res = dg.materialize(assets, resources=resources, instance=instance, raise_on_error=False, **kwargs)
                results.append(res)
                return res

            refresh = [channel_metadata, channel_uploads, *metadata_checks]
            ops = ("channel_metadata", "channel_uploads")
            server.faults.configure({"error_rate": 0.3, "rate_limit_rate": 0.1, "malformed_rate": 0.1,
                                     "truncated_rate": 0.1, "seed": 11})
            run(refresh, tags=dict(ALL_SHARDS_TAGS), run_config=_cfg(now, *ops))
            server.faults.configure({"quota_limit": 2})  # quotaExceeded from the API mid-run
            run(refresh, tags=dict(ALL_SHARDS_TAGS), run_config=_cfg(now + timedelta(days=1), *ops))
            server.faults.configure({"fail_next": 1000})  # API down: retries, breaker, step failures
            run(refresh, tags=dict(ALL_SHARDS_TAGS), run_config=_cfg(now + timedelta(days=2), *ops))
            server.faults.clear()
            later = now + timedelta(days=3)
            world.now = later
            run([channel_metadata, channel_uploads, *metadata_checks], tags=dict(ALL_SHARDS_TAGS),
                run_config=_cfg(later, *ops))
            run([channel_statistics, channel_freshness_report], partition_key=later.date().isoformat(),
                run_config=_cfg(later, "channel_freshness_report"))
            forced = force_refresh_channels.execute_in_process(
                run_config={"ops": {"force_refresh_op": {"config": {"now": later.isoformat(),
                                                                     "channel_ids": ids[:3]}}}},
                resources=resources, instance=instance, raise_on_error=False)
            results.append(forced)
            # the API unreachable: httpx error texts carry the URL, which carries key=
            monkeypatch.setenv("YOUTUBE_API_BASE_URL", f"http://127.0.0.1:{_closed_port()}")
            monkeypatch.setenv("YOUTUBE_FEED_BASE_URL", f"http://127.0.0.1:{_closed_port()}")
            with engine.begin() as conn:
                conn.execute(sa.update(Channel).values(next_refresh_at=later))
            run([channel_metadata], tags=dict(ALL_SHARDS_TAGS), run_config=_cfg(later, "channel_metadata"))
            # the key refused (keyInvalid): the step fails with one line; the request URL carried the key
            rejecting = EmulatorServer(World(10, SEED, START), api_keys=("some-other-key",)).start()
            try:
                monkeypatch.setenv("YOUTUBE_API_BASE_URL", rejecting.base_url)
                refused = run([channel_metadata], tags=dict(ALL_SHARDS_TAGS),
                              run_config=_cfg(later + timedelta(days=1), "channel_metadata"))
            finally:
                rejecting.stop()
            # cleanup (nobody follows these channels): soft delete, then hard delete after the cool-down
            for day in (later, later + timedelta(days=8)):
                run([*cleanup_assets, *cleanup_checks], partition_key=day.date().isoformat(),
                    run_config={"ops": {a.op.name: {"config": {"now": day.isoformat()}} for a in cleanup_assets}})

            texts: list[str] = []
            for res in results:
                run_id = res.run_id
                for record in instance.all_logs(run_id):
                    texts.append(serialize_value(record))
                texts.append(serialize_value(instance.get_run_by_id(run_id)))
                for ev in res.all_events:
                    texts.append(repr(ev))
            for key in instance.get_asset_keys():
                for ev in instance.fetch_materializations(key, limit=1000).records:
                    texts.append(serialize_value(ev.asset_materialization))
            statuses = [res.success for res in results]
    finally:
        server.stop()

    assert statuses.count(False) == 1 and not refused.success, statuses  # only the refused key fails the run
    texts += [r.getMessage() for r in caplog.records]
    texts += [logging.Formatter().formatException(r.exc_info) for r in caplog.records if r.exc_info]
    out, err = capfd.readouterr()
    texts += [out, err]
    with engine.connect() as conn:
        for row in conn.execute(sa.select(ChannelUpdateLog)):
            texts.append(json.dumps({k: str(v) for k, v in row._mapping.items()}))
        for row in conn.execute(sa.select(Channel.last_error, Channel.title, Channel.description)):
            texts.append(str(tuple(row)))
        log_rows = conn.execute(sa.select(sa.func.count()).select_from(ChannelUpdateLog)).scalar_one()
    files = [p for p in Path(home).rglob("*") if p.is_file()]
    raw = [(p, p.read_bytes()) for p in files]

    assert log_rows > 30 and len(texts) > 300
    for needle in ("keyInvalid", "quotaExceeded", "HTTP 5", "onnect", "rateLimitExceeded", "circuit open"):
        assert any(needle in t for t in texts), f"the {needle!r} path was not exercised"
    assert any("failed" in t for t in texts) and files
    leaks = [(f, t[max(t.find(f) - 80, 0): t.find(f) + 80]) for t in texts for f in FRAGMENTS if f in t]
    assert leaks == [], leaks[:3]
    file_leaks = [str(p) for p, data in raw for f in FRAGMENTS if f.encode() in data]
    assert file_leaks == []
