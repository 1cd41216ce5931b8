"""The main job end to end on the embedded default: what `make demo` runs, on a small population."""

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from channel_assets.cli.demo import SIMULATED_SPAN, _clock_start, run_demo
from channel_assets.db.core.engine import make_engine
from channel_assets.db.core.models import Channel, ChannelUpdateLog, UserVideo, Video


def test_demo_cycle_refreshes_removes_relinks_and_loses_no_watch_history(pg_url, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    url = pg_url
    lines: list[str] = []
    end = run_demo(url, users=60, channels=200, seed=3, out=lines.append)
    text = "\n".join(lines)

    assert "cleanup DRY RUN (nothing changed)" in text
    assert "none lost" in text and "CHANGED" not in text
    assert "preserved videos re-linked" in text
    # the clock starts in the past: days 1, 2 and 10 each materialize their own daily partition
    days = re.findall(r"statistics snapshot and freshness report \(partition (\d{4}-\d\d-\d\d)\)", text)
    assert len(days) == 3 and len(set(days)) == 3, days
    engine = make_engine(url)
    with engine.connect() as conn:
        removals = conn.execute(select(func.count()).select_from(ChannelUpdateLog)
                                .where(ChannelUpdateLog.update_type == "removal")).scalar_one()
        snapshotted = conn.execute(select(func.count()).select_from(Video)
                                   .where(Video.original_channel_metadata.is_not(None))).scalar_one()
        watch_rows = conn.execute(select(func.count()).select_from(UserVideo)).scalar_one()
        channels = conn.execute(select(func.count()).select_from(Channel)).scalar_one()
    assert removals > 0 and snapshotted > 0
    assert end.watch_rows == watch_rows and end.channels == channels < 200
    assert end.fetched > 150


def test_clock_starts_in_the_past_and_reruns_move_forward(pg_engine):
    from channel_assets.db.core.engine import transaction

    now = datetime(2026, 12, 1, 14, 30, 15, tzinfo=UTC)
    assert _clock_start(pg_engine, now) == datetime(2026, 12, 1, 14, 30, tzinfo=UTC) - SIMULATED_SPAN
    with transaction(pg_engine) as conn:  # a previous demo's day 10 wrote at 14:00 today
        conn.execute(Channel.__table__.insert().values(channel_id="UC" + "a" * 22,
                                                       last_updated=now - timedelta(minutes=30)))
    assert _clock_start(pg_engine, now) == now - timedelta(minutes=29)
