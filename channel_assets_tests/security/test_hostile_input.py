"""Hostile and odd input: mutated recorded API answers through a whole refresh, real-world texts through
the emulator into both databases, wrong-shaped ids in the gallery's tables, SQL-injection-shaped strings
through every input path, and bad operator input (one clear line, nothing changed)."""

from __future__ import annotations

import copy
import hashlib
import json

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channel_assets.cycle import Cycle
from channel_assets.db.cleanup.removal import override_held_removals
from channel_assets.db.cleanup.restore import restore_channels
from channel_assets.db.core import migrate
from channel_assets.db.core.engine import make_engine
from channel_assets.db.core.models import Channel, ChannelUpdateLog, User, UserChannel, Video
from channel_assets.db.refresh.quota_ledger import QuotaLedger
from channel_assets.db.refresh.selection import DueChannel
from channel_assets.defs.refresh.api_session import summary_metadata
from channel_assets.refresh.forced import force_refresh
from channel_assets.refresh.metadata import refresh_channels, refresh_shards
from channel_assets.refresh.quota_gate import CountingGate
from channel_assets.refresh.uploads import refresh_uploads
from channel_assets.reporting.markdown import md_table
from channel_assets.youtube import YouTubeClient
from channel_assets_tests.pg import ThrowawayPostgres
from channel_assets_tests.refresh.conftest import insert_channels
from channel_assets_tests.reliability.conftest import ALL, channel_rows
from channel_assets_tests.youtube.test_parsing import json_paths, json_values

FIXTURE = "/work/shared/fixtures/youtube-api-recorded/apidata__channels__info_multiple.json"
with open(FIXTURE) as fh:
    RECORDED = json.load(fh)
RECORDED_IDS = [item["id"] for item in RECORDED["items"]]

INJECTIONS = [
    "'; DROP TABLE videos_channel; --",
    "Robert'); DELETE FROM users_userchannel WHERE ('1'='1",
    "\" OR 1=1 --",
    "1; UPDATE api_quota_ledger SET units_reserved = 0",
    "$$; TRUNCATE videos_video; $$",
]
ODD_TEXTS = [
    "x" * 5_000,
    "🎮🔥 Gaming 👾 " * 40,
    "مرحبا بكم في قناتي — שלום עולם",
    "<script>alert(1)</script> **bold** [link](javascript:alert(1)) | pipe | `code` # h1",
    "before\x00after\x00",
    *INJECTIONS,
]


@st.composite
def mutated_answers(draw):
    payload = copy.deepcopy(RECORDED)
    for _ in range(draw(st.integers(1, 5))):
        paths = [p for p in json_paths(payload) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = payload
        for step in path[:-1]:
            parent = parent[step]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values | st.sampled_from(ODD_TEXTS) | st.integers(-2**70, 2**70))
    return payload


@pytest.fixture(scope="module")
def recorded_db(tmp_path_factory):
    """One database for every hypothesis example; each example restores the two rows first."""
    with ThrowawayPostgres() as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        insert_channels(engine, RECORDED_IDS)
        yield engine
        engine.dispose()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(answer=mutated_answers(), as_text=st.booleans())
def test_mutated_recorded_answers_through_a_refresh_never_crash(recorded_db, answer, as_text):
    engine = recorded_db
    with engine.begin() as conn:
        conn.execute(sa.update(Channel).values(title=None, last_updated=None, failed_update_count=0,
                                               is_available=True, next_refresh_at=None))
    body = json.dumps(answer)
    if as_text:  # a truncated body on top of the mutation
        body = body[: len(body) // 2]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=body, headers={"content-type": "application/json"})

    now = __import__("datetime").datetime(2026, 3, 2, tzinfo=__import__("datetime").UTC)
    gate = CountingGate(QuotaLedger(engine, 10**9, now=lambda: now))
    with YouTubeClient("https://yt.test", "k", quota=gate, transport=httpx.MockTransport(handler),
                       sleep=lambda s: None, max_attempts=1) as client:
        channels = [DueChannel(None, cid, "new") for cid in RECORDED_IDS]
        summary = refresh_channels(engine, client, gate, Cycle(now), channels, in_flight=1)
    rows = channel_rows(engine)
    assert set(rows) == set(RECORDED_IDS)
    assert summary.refreshed + summary.failed + summary.missing_first_pass + summary.gone <= 2 * len(RECORDED_IDS)
    for r in rows.values():  # applied (valid values), failed (counted), or gone (only after two passes)
        if r.last_updated is not None:
            assert r.title is None or "\x00" not in r.title
            for count in (r.subscriber_count, r.video_count, r.view_count):
                assert count is None or 0 <= count < 2**63
        assert r.failed_update_count in (0, 1)
    summary_metadata(summary, Cycle(now))  # the Dagster metadata renders whatever came in


@pytest.mark.parametrize("text", ODD_TEXTS, ids=[f"t{i}" for i in range(len(ODD_TEXTS))])
def test_odd_titles_and_descriptions_are_stored_and_shown_as_text(engine, emulator, ledger_factory,
                                                                  client_factory, text):
    ids = emulator.ids(60)
    insert_channels(engine, ids)
    live = [cid for cid in ids if emulator.world.status(emulator.world.channel_index(cid)) == "active"]
    target = live[0]
    emulator.world.set_title(target, text[:300])
    emulator.world.set_description(target, text)
    gate = ledger_factory()
    summary = refresh_shards(engine, client_factory(gate), gate, Cycle(emulator.world.now), ALL)
    assert summary.failed == 0 and summary.invalid == 0
    row = channel_rows(engine)[target]
    assert row.title == text[:300].replace("\x00", "")  # verbatim, NUL stripped (PostgreSQL refuses \x00)
    assert row.description == text.replace("\x00", "")
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Channel)).scalar_one() == 60
    table = md_table(("channel", "title"), [(target, row.title)])
    cell = table.splitlines()[2]
    assert "<script>" not in cell and "](" not in cell and cell.count(" | ") == 1  # text, never markup


@pytest.mark.parametrize("bad_id", ["not-a-channel", "UC123", "'; DROP TABLE videos_channel; --",
                                    "UC" + "a" * 21 + "'", " UC" + "b" * 22 + "\n"])
def test_wrong_shaped_ids_in_the_gallery_tables_are_skipped(engine, emulator, ledger_factory, client_factory,
                                                            bad_id, caplog):
    ids = emulator.ids(40)
    insert_channels(engine, ids)
    with engine.begin() as conn:  # the gallery app wrote a row the API cannot know
        conn.execute(sa.insert(Channel), [{"uuid": __import__("uuid").uuid4(), "channel_id": bad_id, "shard": 0,
                                           "url": "x"}])
    gate = ledger_factory()
    client = client_factory(gate)
    now = emulator.world.now
    meta = refresh_shards(engine, client, gate, Cycle(now), ALL)
    refresh_uploads(engine, client, gate, Cycle(now), ALL)
    rows = channel_rows(engine)
    assert meta.refreshed >= 30 and rows[bad_id].title is None  # skipped, never applied, run not crashed
    assert all(rows[cid].last_updated == now or not rows[cid].is_available for cid in ids)


def _fingerprint(engine) -> str:
    h = hashlib.sha256()
    with engine.connect() as conn:
        for model in (Channel, UserChannel, Video, ChannelUpdateLog):
            for row in conn.execute(sa.select(model.__table__).order_by(*model.__table__.primary_key.columns)):
                h.update(repr(tuple(row)).encode())
    return h.hexdigest()


BAD_OPERATOR_IDS = [[], [""], ["UC123"], ["not a channel"], INJECTIONS[:2], ["UC" + "x" * 22, "UC'--"],
                    ["UC" + "z" * 22]]  # the last is well formed but unknown / not held


@pytest.mark.parametrize("ids", BAD_OPERATOR_IDS, ids=[f"ids{i}" for i in range(len(BAD_OPERATOR_IDS))])
def test_bad_operator_input_gives_one_line_and_changes_nothing(engine, emulator, ledger_factory, client_factory,
                                                               ids):
    insert_channels(engine, emulator.ids(20))
    before = _fingerprint(engine)
    gate = ledger_factory()
    now = emulator.world.now
    calls = [
        lambda: force_refresh(engine, client_factory(gate), gate, Cycle(now), ids),
        lambda: restore_channels(engine, ids, "ops ticket 1", Cycle(now, actor="ops")),
        lambda: override_held_removals(engine, ids, "ops ticket 1", Cycle(now, actor="ops")),
        lambda: restore_channels(engine, emulator.ids(1), "", Cycle(now, actor="ops")),  # a reason is required
    ]
    for call in calls:
        with pytest.raises(ValueError) as info:
            call()
        message = str(info.value)
        assert message and "\n" not in message and len(message) < 400 and "Traceback" not in message
    assert _fingerprint(engine) == before
    assert gate.status().reserved == 0


def test_injection_shaped_subscriptions_and_ids_are_data(engine):
    """Injection-shaped usernames and ids stored through the ORM come back verbatim; the tables survive."""
    with engine.begin() as conn:
        conn.execute(sa.insert(User), [{"id": i + 1, "username": s} for i, s in enumerate(INJECTIONS)])
    with engine.connect() as conn:
        names = [r[0] for r in conn.execute(sa.select(User.username).order_by(User.id))]
        assert names == INJECTIONS
        for table in ("videos_channel", "users_userchannel", "videos_video", "api_quota_ledger"):
            conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()

