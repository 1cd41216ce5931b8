"""The refresh's writes beside the live app: the pipeline's sessions name themselves and wait a bounded time
for a row the app holds; a group the database refuses is written again later in the run, and one it keeps
refusing is deferred to the next run (uncharged, logged), never a failed run, never a lost or doubled row."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from channel_assets.cycle import Cycle
from channel_assets.db.core.engine import APPLICATION_NAME, make_engine, transaction
from channel_assets.db.core.models import Channel, ChannelUpdateLog
from channel_assets.refresh import metadata as metadata_module
from channel_assets.refresh import pump as pump_module
from channel_assets.refresh.metadata import refresh_shards
from channel_assets_tests.refresh.conftest import client_factory, emulator, insert_channels, ledger_factory  # noqa: F401

ALL = list(range(16))


def _pipeline_engine(engine, lock_timeout_ms: int = 100):
    return make_engine(engine.url.render_as_string(hide_password=False), lock_timeout_ms=lock_timeout_ms,
                       statement_timeout_s=60)


def test_pipeline_sessions_carry_their_name_and_timeouts(engine):
    pipeline = _pipeline_engine(engine, lock_timeout_ms=250)
    with pipeline.connect() as conn:
        name, lock, statement = conn.execute(sa.text(
            "SELECT current_setting('application_name'), current_setting('lock_timeout'), "
            "current_setting('statement_timeout')")).one()
    pipeline.dispose()
    assert (name, lock, statement) == (APPLICATION_NAME, "250ms", "1min")


def test_a_row_the_app_holds_defers_its_group_without_failing_the_run(engine, emulator, ledger_factory,  # noqa: F811
                                                                      client_factory, monkeypatch):  # noqa: F811
    ids = emulator.ids(120)
    insert_channels(engine, ids)
    monkeypatch.setattr(pump_module, "WRITE_RETRY_PAUSE_S", 0.0)
    pipeline = _pipeline_engine(engine)
    gate = ledger_factory()
    held = ids[7]
    with transaction(engine) as app:  # an app transaction holds one channel row for the whole run
        app.execute(sa.select(Channel.uuid).where(Channel.channel_id == held).with_for_update())
        summary = refresh_shards(pipeline, client_factory(gate), gate, Cycle(emulator.world.now), ALL, in_flight=2)
    assert summary.failed == 0 and summary.deferred_total > 0  # the refused group waits, uncharged
    assert summary.refreshed + summary.deferred_total == 120
    with engine.connect() as conn:
        busy = conn.execute(sa.select(ChannelUpdateLog).where(ChannelUpdateLog.error_type == "database_busy")).all()
        not_refreshed = conn.execute(sa.select(sa.func.count()).select_from(Channel).where(
            Channel.last_updated.is_(None))).scalar_one()
        charged = conn.execute(sa.select(sa.func.count()).select_from(Channel).where(
            Channel.failed_update_count > 0)).scalar_one()
    assert busy and sum(r.changes_made["deferred"] for r in busy) == summary.deferred_total == not_refreshed
    assert charged == 0
    assert summary.quota_units == sum(r.api_quota_used for r in busy) + _logged_units(engine, "metadata")

    again = refresh_shards(pipeline, client_factory(gate), gate, Cycle(emulator.world.now), ALL, in_flight=2)
    pipeline.dispose()
    assert again.refreshed == not_refreshed and again.deferred_total == 0


def test_a_refused_write_is_written_again_and_counted_once(engine, emulator, ledger_factory, client_factory,  # noqa: F811
                                                           monkeypatch):
    ids = emulator.ids(200)
    insert_channels(engine, ids)
    monkeypatch.setattr(pump_module, "WRITE_RETRY_PAUSE_S", 0.0)
    real, refusals = metadata_module.apply_answers, []

    def refused_once(conn, *args, **kwargs):
        if not refusals:
            refusals.append(1)
            raise OperationalError("UPDATE videos_channel …", {}, _Deadlock())
        return real(conn, *args, **kwargs)

    monkeypatch.setattr(metadata_module, "apply_answers", refused_once)
    gate = ledger_factory()
    summary = refresh_shards(engine, client_factory(gate), gate, Cycle(emulator.world.now), ALL, in_flight=4)
    assert refusals == [1] and summary.failed == 0 and summary.deferred_total == 0
    assert summary.attempted == 200  # every channel once, none twice
    with engine.connect() as conn:
        per_channel = conn.execute(sa.select(ChannelUpdateLog.channel_id, sa.func.count()).where(
            ChannelUpdateLog.update_type == "metadata", ChannelUpdateLog.channel_id.is_not(None))
            .group_by(ChannelUpdateLog.channel_id)).all()
    assert len(per_channel) == summary.refreshed + summary.gone and max(n for _, n in per_channel) == 1
    assert summary.quota_units == _logged_units(engine, "metadata") == gate.total


class _Deadlock(Exception):
    sqlstate = "40P01"


def _logged_units(engine, update_type: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.coalesce(sa.func.sum(ChannelUpdateLog.api_quota_used), 0)).where(
            ChannelUpdateLog.update_type == update_type, ChannelUpdateLog.error_type.is_distinct_from(
                "database_busy"))).scalar_one()


def test_an_uploads_group_the_database_keeps_refusing_waits_for_the_next_run(engine, emulator, ledger_factory,  # noqa: F811
                                                                            client_factory, monkeypatch):  # noqa: F811
    from channel_assets.refresh.uploads import refresh_uploads

    ids = emulator.ids(60)
    insert_channels(engine, ids)
    monkeypatch.setattr(pump_module, "WRITE_RETRY_PAUSE_S", 0.0)
    pipeline = _pipeline_engine(engine)
    gate = ledger_factory()
    with transaction(engine) as app:  # the app holds one channel row through the whole pass
        app.execute(sa.select(Channel.uuid).where(Channel.channel_id == ids[0]).with_for_update())
        first = refresh_uploads(pipeline, client_factory(gate), gate, Cycle(emulator.world.now), ALL, in_flight=2,
                                group_size=20)
    assert first.failed == 0 and first.deferred == 20 and first.checked == 40
    with engine.connect() as conn:
        [busy] = conn.execute(sa.select(ChannelUpdateLog).where(ChannelUpdateLog.error_type == "database_busy")).all()
    assert (busy.update_type, busy.changes_made) == ("uploads", {"deferred": 20})
    second = refresh_uploads(pipeline, client_factory(gate), gate, Cycle(emulator.world.now), ALL, in_flight=2,
                             group_size=20)
    pipeline.dispose()
    assert (second.checked, second.deferred) == (20, 0)
