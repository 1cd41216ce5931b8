"""API faults during a refresh cycle (metadata + uploads) against the emulator, one test per fault.
After each: a defined end state, a consistent database, no healthy channel
marked unavailable, the ledger within the share, and a re-run after the fault clears converges to the
emulator's ground truth."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from channel_assets.cycle import Cycle
from channel_assets.db.core.models import Channel
from channel_assets.refresh.metadata import refresh_shards
from channel_assets.refresh.uploads import refresh_uploads

from .conftest import (
    ALL,
    assert_matches_truth,
    assert_no_duplicate_videos,
    assert_no_healthy_channel_unavailable,
    channel_rows,
    insert_channels,
    ledger_reserved,
    make_all_due,
    quota_logged,
    video_pairs,
)

N = 150
SHARE = 60  # pipeline share in units: well above one cycle's needs, so only the fault limits it

# name -> (emulator faults, client options)
FAULTS = {
    "5xx_burst": ({"fail_next": 10, "error_rate": 0.3, "seed": 1}, {"max_attempts": 3}),
    "rate_limit_403": ({"rate_limit_rate": 0.5, "rate_limit_status": 403, "seed": 2}, {"max_attempts": 3}),
    "rate_limit_429": ({"rate_limit_rate": 0.5, "rate_limit_status": 429, "seed": 3}, {"max_attempts": 3}),
    "quota_exhausted_after_2_calls": ({"quota_limit": 2}, {}),
    "latency_past_client_timeout": ({"latency_ms": 400}, {"timeout_s": 0.1, "max_attempts": 2}),
    "non_json_bodies": ({"malformed_rate": 0.5, "seed": 4}, {"max_attempts": 2}),
    "connection_resets": ({"truncated_rate": 0.5, "seed": 5}, {"max_attempts": 2}),
    "api_down_breaker_opens": ({"error_rate": 1.0, "seed": 6}, {"max_attempts": 2, "breaker_threshold": 3}),
    "feed_down_for_everyone": ({"feed_outage": True}, {}),
}


def _world_videos_ok(emulator, pairs) -> None:
    """Every stored video is a real upload of the channel it is stored under."""
    for cid, vid in pairs:
        state = emulator.world.video(vid)
        if state is not None:  # None only when the channel died since (the world's clock moved)
            assert state.channel_id == cid, (cid, vid)


def _feed_truth(emulator, cid: str) -> set[str]:
    w = emulator.world
    i = w.channel_index(cid)
    visible = w.now_ts - w.feed_lag(i)
    return {vid for vid, ts in [u for u in w.uploads(i, 0, 40) if u[1] <= visible][:15]}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_ends_defined_consistent_and_rerun_converges(fault, engine, emulator, ledger_factory,
                                                           client_factory):
    faults, client_opts = FAULTS[fault]
    ids = emulator.ids(N)
    insert_channels(engine, ids)
    now = emulator.world.now
    emulator.server.faults.configure(faults)
    gate = ledger_factory(limit=SHARE)
    client = client_factory(gate, **client_opts)

    # -- the faulty cycle: never raises, ends in a defined state ---------------------------------
    meta = refresh_shards(engine, client, gate, Cycle(now), ALL, in_flight=4)
    ups = refresh_uploads(engine, client, gate, Cycle(now), ALL, in_flight=4)
    rows = channel_rows(engine)
    assert len(rows) == N
    assert meta.attempted + meta.deferred_total == meta.due == N
    assert meta.failed == sum(1 for r in rows.values() if r.failed_update_count), "failures not recorded"
    assert ups.checked + ups.failed + ups.deferred == ups.candidates
    if fault.startswith("quota"):
        assert meta.stopped_by_quota and gate.status().exhausted
    if fault == "api_down_breaker_opens":
        # the calls that opened the breaker failed; the rest is deferred, not counted against the channels
        assert meta.refreshed == 0 and 0 < meta.failed < N and meta.failed + meta.deferred_total == N
        assert meta.stopped_by_circuit
        assert emulator.calls("api.channels") < 10, "the breaker did not stop the hammering"
    if fault == "feed_down_for_everyone":
        assert ups.feed_hits == 0 and ups.playlist_pages >= ups.checked > 0
    for r in rows.values():  # whatever was refreshed is exactly what the emulator says
        if r.last_updated is not None and r.is_available:
            t = emulator.world.channel(emulator.world.channel_index(r.channel_id))
            assert (r.title, r.video_count) == (t.title, t.video_count)
        if r.failed_update_count:
            assert r.last_error and "key=" not in r.last_error and r.next_refresh_at > now
    assert_no_healthy_channel_unavailable(engine, emulator, ids)
    assert_no_duplicate_videos(engine)
    _world_videos_ok(emulator, video_pairs(engine))
    reserved = ledger_reserved(engine)
    assert reserved <= SHARE and gate.status().reserved <= SHARE
    assert quota_logged(engine) == meta.quota_units + ups.quota_units <= reserved
    assert reserved == gate.total

    # -- the fault clears: the next cycle converges to the ground truth --------------------------
    emulator.server.faults.clear()
    emulator.world.advance(days=1)  # past the Pacific reset (the quota case needs it), the world drifts
    later = emulator.world.now
    make_all_due(engine, later)
    with engine.begin() as conn:
        conn.execute(update(Channel).values(uploads_checked_at=None))  # first check: feed, or one page
    gate2 = ledger_factory(limit=5_000)
    client2 = client_factory(gate2)  # a new run, a new client (its breaker starts closed)
    meta2 = refresh_shards(engine, client2, gate2, Cycle(later), ALL, in_flight=4)
    ups2 = refresh_uploads(engine, client2, gate2, Cycle(later), ALL, in_flight=4)
    assert meta2.failed == 0 and meta2.deferred_total == 0 and not meta2.stopped_by_quota
    assert ups2.failed == 0 and ups2.deferred == 0
    assert_matches_truth(engine, emulator, ids, later)
    pairs = video_pairs(engine)
    assert_no_duplicate_videos(engine)
    _world_videos_ok(emulator, pairs)
    stored: dict[str, set[str]] = {}
    for cid, vid in pairs:
        stored.setdefault(cid, set()).add(vid)
    rows = channel_rows(engine)
    for cid in ids:
        if rows[cid].is_available:
            missing = _feed_truth(emulator, cid) - stored.get(cid, set())
            assert not missing, (cid, missing)
            assert rows[cid].uploads_checked_at == later
