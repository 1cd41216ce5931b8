"""Seed 000's failure cap: 5 failures cap a channel (weekly recheck only), 5 access-denied failures make
it unavailable; failures are logged with their error type."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from channel_assets.cycle import Cycle
from channel_assets.db.audit.update_log import write_events
from channel_assets.db.core.engine import transaction
from channel_assets.db.core.models import Channel, ChannelUpdateLog
from channel_assets.db.refresh.channel_writes import FailedAnswer, apply_answers
from channel_assets.db.refresh.selection import select_due
from channel_assets.refresh.metadata import RULES
from channel_assets.refresh.tiers import CAPPED_RECHECK, FAILURE_CAP, failure_backoff
from channel_assets_tests.refresh.test_tiers import ALL, NOW, add_channel, cid, row


def _fail(engine, failures: dict[str, FailedAnswer], now=NOW) -> None:
    with transaction(engine) as conn:
        applied = apply_answers(conn, {}, [], failures, cycle=Cycle(now, run_id="r1", actor="test"), rules=RULES)
        write_events(conn, applied.events)


def test_fifth_failure_caps_the_channel_to_a_weekly_recheck(engine):
    assert failure_backoff(FAILURE_CAP - 1) <= timedelta(days=1) and failure_backoff(FAILURE_CAP) == CAPPED_RECHECK
    add_channel(engine, 1, failed_update_count=FAILURE_CAP - 1, next_refresh_at=NOW)
    _fail(engine, {cid(1): FailedAnswer("YouTube API error: backend (backendError)", "transient")})
    capped = row(engine, 1)
    assert capped.failed_update_count == FAILURE_CAP and capped.is_available  # transient: stays available
    assert capped.next_refresh_at == NOW + timedelta(days=7)
    assert not select_due(engine, ALL, NOW + timedelta(days=2))  # skipped by due selection …
    assert [d.channel_id for d in select_due(engine, ALL, NOW + timedelta(days=7))] == [cid(1)]  # … until the recheck


def test_fifth_access_denied_failure_makes_the_channel_unavailable_and_logs_the_type(engine):
    add_channel(engine, 1, failed_update_count=FAILURE_CAP - 1, next_refresh_at=NOW)
    add_channel(engine, 2, failed_update_count=1, next_refresh_at=NOW)
    _fail(engine, {cid(1): FailedAnswer("channel closed (channelClosed)", "access_denied"),
                   cid(2): FailedAnswer("channel closed (channelClosed)", "access_denied")})
    assert (row(engine, 1).is_available, row(engine, 1).unavailable_reason) == (False, "access_denied")
    assert row(engine, 2).is_available and row(engine, 2).failed_update_count == 2
    with engine.connect() as conn:
        logged = {r.channel_id: r for r in conn.execute(select(ChannelUpdateLog))}
    assert {r.error_type for r in logged.values()} == {"access_denied"}
    assert logged[cid(1)].changes_made == {"is_available": [True, False], "unavailable_reason": [None, "access_denied"]}
    assert logged[cid(2)].changes_made is None
    with engine.connect() as conn:
        assert conn.execute(select(Channel.failed_update_count).where(Channel.channel_id == cid(1))).scalar_one() == 5
