"""Automatic tiering and due order: no API needed, rows as the app writes them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, update

from channel_assets.db.core.engine import transaction
from channel_assets.db.core.models import Channel, User, UserChannel
from channel_assets.db.core.sharding import SHARD_COUNT, shard_of
from channel_assets.db.refresh.selection import select_due
from channel_assets.refresh.tiers import (
    INTERVALS,
    POLICY_MAX_AGE,
    PRIORITY_INTERVAL,
    UNAVAILABLE_RECHECK,
    apply_tiers,
    failure_backoff,
)

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
ALL = list(range(SHARD_COUNT))


def cid(n: int) -> str:
    return f"UC{n:022d}"


def add_channel(engine, n: int, **columns) -> uuid.UUID:
    key = uuid.uuid4()
    row = {"uuid": key, "channel_id": cid(n), "shard": shard_of(cid(n)), "update_frequency": "weekly", **columns}
    with transaction(engine) as conn:
        conn.execute(insert(Channel).values(**row))
    return key


def add_users(engine, first_id: int, count: int, *, last_login: datetime | None, is_active: bool = True) -> list[int]:
    ids = list(range(first_id, first_id + count))
    with transaction(engine) as conn:
        conn.execute(insert(User), [{"id": i, "username": f"u{i}", "last_login": last_login, "is_active": is_active}
                                    for i in ids])
    return ids


def subscribe(engine, channel: uuid.UUID, users: list[int], *, is_active: bool = True) -> None:
    with transaction(engine) as conn:
        conn.execute(insert(UserChannel), [{"user_id": u, "channel_id": channel, "is_active": is_active}
                                           for u in users])


def row(engine, n: int):
    with engine.connect() as conn:
        return conn.execute(select(Channel).where(Channel.channel_id == cid(n))).one()


def fetched(last_updated: datetime, frequency: str = "weekly", **columns) -> dict:
    """Columns of a channel refreshed at `last_updated` on its tier's cadence."""
    return {"last_updated": last_updated, "update_frequency": frequency,
            "next_refresh_at": last_updated + INTERVALS[frequency], **columns}


def test_priority_needs_five_active_subscriptions_from_recently_active_users(engine):
    recent = NOW - timedelta(days=3)
    five, four, stale_users, closed_subs, disabled_users = (add_channel(engine, n, **fetched(NOW - timedelta(hours=1)))
                                                            for n in range(5))
    active = add_users(engine, 1, 5, last_login=recent)
    subscribe(engine, five, active)
    subscribe(engine, four, active[:4])
    # 4 qualifying + 2 whose users have not logged in within 30 days (or never)
    subscribe(engine, stale_users, active[:4] + add_users(engine, 10, 1, last_login=NOW - timedelta(days=31))
              + add_users(engine, 20, 1, last_login=None))
    # 4 qualifying + 1 inactive subscription
    subscribe(engine, closed_subs, active[:4])
    subscribe(engine, closed_subs, add_users(engine, 30, 1, last_login=recent), is_active=False)
    # 4 qualifying + 1 deactivated account that did log in recently
    subscribe(engine, disabled_users, active[:4] + add_users(engine, 40, 1, last_login=recent, is_active=False))

    summary = apply_tiers(engine, NOW)
    assert [row(engine, n).is_priority for n in range(5)] == [True, False, False, False, False]
    assert summary.promoted == 1 and summary.demoted == 0
    # promoted: due again 30 min after its last refresh (here: already due)
    assert row(engine, 0).next_refresh_at == NOW - timedelta(hours=1) + PRIORITY_INTERVAL

    # one subscriber unsubscribes: 4 left, demoted back to its weekly cadence
    with transaction(engine) as conn:
        conn.execute(update(UserChannel).where(UserChannel.channel_id == five, UserChannel.user_id == active[0])
                     .values(is_active=False))
    summary = apply_tiers(engine, NOW)
    r = row(engine, 0)
    assert summary.demoted == 1 and not r.is_priority
    assert r.next_refresh_at == NOW - timedelta(hours=1) + INTERVALS["weekly"]

    # users who stop logging in stop counting: a priority channel loses the tier 30 days after their last login
    with transaction(engine) as conn:
        conn.execute(update(UserChannel).where(UserChannel.channel_id == five).values(is_active=True))
    assert apply_tiers(engine, NOW).promoted == 1
    later = recent + timedelta(days=30, minutes=1)
    assert apply_tiers(engine, later).demoted == 1 and not row(engine, 0).is_priority


def test_dormant_channels_go_monthly_unless_pinned_and_recent_uploaders_go_daily(engine):
    last = NOW - timedelta(days=2)
    add_channel(engine, 0, **fetched(last, "weekly", last_upload_at=NOW - timedelta(days=181)))
    add_channel(engine, 1, **fetched(last, "weekly", last_upload_at=NOW - timedelta(days=181), frequency_pinned=True))
    add_channel(engine, 2, **fetched(last, "weekly", last_upload_at=NOW - timedelta(days=179)))
    add_channel(engine, 3, **fetched(last, "weekly", last_upload_at=NOW - timedelta(days=3)))
    add_channel(engine, 4, **fetched(last, "monthly", last_upload_at=NOW - timedelta(days=7)))
    add_channel(engine, 5, **fetched(last, "monthly", last_upload_at=NOW - timedelta(days=1), frequency_pinned=True))
    add_channel(engine, 6, **fetched(last, "daily", last_upload_at=NOW - timedelta(days=400)))
    add_channel(engine, 7, **fetched(last, "weekly", last_upload_at=None))  # never seen an upload: left alone
    add_channel(engine, 8, update_frequency="weekly", last_upload_at=NOW - timedelta(days=1))  # never fetched

    summary = apply_tiers(engine, NOW)
    freqs = [row(engine, n).update_frequency for n in range(9)]
    assert freqs == ["monthly", "weekly", "weekly", "daily", "daily", "monthly", "monthly", "weekly", "daily"]
    assert (summary.to_monthly, summary.to_daily) == (2, 3)
    # next_refresh_at follows the new interval from the last refresh; never-fetched stays "due now" (NULL)
    assert row(engine, 0).next_refresh_at == last + INTERVALS["monthly"]
    assert row(engine, 3).next_refresh_at == last + INTERVALS["daily"]
    assert row(engine, 6).next_refresh_at == last + INTERVALS["monthly"]
    assert row(engine, 1).next_refresh_at == last + INTERVALS["weekly"]  # pinned: untouched
    assert row(engine, 2).next_refresh_at == last + INTERVALS["weekly"]
    assert row(engine, 8).next_refresh_at is None
    assert summary.rescheduled == 4
    # idempotent: a second pass changes nothing
    assert apply_tiers(engine, NOW) == type(summary)(0, 0, 0, 0, 0)
    assert [row(engine, n).update_frequency for n in range(9)] == freqs


def test_tier_changes_keep_the_cadence_of_failing_and_unavailable_channels(engine):
    """Backoff of a failing channel and the monthly recheck of a gone one are not reset by a tier change."""
    last = NOW - timedelta(days=10)
    failing_next = NOW + failure_backoff(4)
    add_channel(engine, 0, **fetched(last, "weekly", last_upload_at=NOW - timedelta(days=1), failed_update_count=4,
                                     last_error="503", next_refresh_at=failing_next))
    gone_next = NOW + UNAVAILABLE_RECHECK
    add_channel(engine, 1, **fetched(last, "weekly", last_upload_at=NOW - timedelta(days=1), is_available=False,
                                     unavailable_reason="missing", missing_since=NOW, next_refresh_at=gone_next))
    summary = apply_tiers(engine, NOW)
    assert summary.to_daily == 2 and summary.rescheduled == 0
    assert (row(engine, 0).update_frequency, row(engine, 0).next_refresh_at) == ("daily", failing_next)
    assert (row(engine, 1).update_frequency, row(engine, 1).next_refresh_at) == ("daily", gone_next)


def test_soft_deleted_channels_are_not_tiered(engine):
    add_channel(engine, 0, **fetched(NOW - timedelta(days=1), "weekly", last_upload_at=NOW - timedelta(days=1),
                                     soft_deleted_at=NOW - timedelta(days=1)))
    assert apply_tiers(engine, NOW).to_daily == 0 and row(engine, 0).update_frequency == "weekly"


def test_select_due_spends_on_critical_first_then_priority_new_daily_weekly_monthly(engine):
    due = NOW - timedelta(minutes=1)
    # inserted in the reverse of the expected order; within a tier, the oldest due first
    add_channel(engine, 0, **fetched(due - timedelta(days=27), "monthly"))
    add_channel(engine, 1, **fetched(due - timedelta(days=7), "weekly"))
    add_channel(engine, 2, **fetched(due - timedelta(days=1), "daily"))
    add_channel(engine, 3, **fetched(due - timedelta(days=2), "daily"))
    add_channel(engine, 4, update_frequency="monthly")  # never fetched
    add_channel(engine, 5, **fetched(due - timedelta(days=1), "daily", is_priority=True,
                                     next_refresh_at=due))
    add_channel(engine, 6, **fetched(due - timedelta(days=27), "monthly", is_critical=True))
    add_channel(engine, 7, **fetched(NOW, "daily", is_critical=True))  # critical but not due
    add_channel(engine, 8, **fetched(due - timedelta(days=1), "daily", soft_deleted_at=NOW))  # soft-deleted

    order = select_due(engine, ALL, NOW)
    assert [(ch.channel_id, ch.tier) for ch in order] == [
        (cid(6), "critical"), (cid(5), "priority"), (cid(4), "new"), (cid(3), "daily"), (cid(2), "daily"),
        (cid(1), "weekly"), (cid(0), "monthly")]
    assert [ch.channel_id for ch in select_due(engine, ALL, NOW, priority_only=True)] == [cid(6), cid(5)]


@pytest.mark.parametrize("start_delay_min", [0, 45])
def test_no_channel_exceeds_30_days_on_the_daily_schedule(engine, start_delay_min):
    """Simulate 120 days of the 02:00 daily run (each started up to 45 min late, the first one the latest):
    a monthly channel, a weekly channel that goes dormant and monthly, and a daily channel that goes dormant,
    all refreshed only when due; the largest age seen at any run stays under 30 days."""
    add_channel(engine, 0, update_frequency="monthly")
    add_channel(engine, 1, update_frequency="weekly", last_upload_at=NOW - timedelta(days=150))
    add_channel(engine, 2, update_frequency="daily", last_upload_at=NOW - timedelta(days=170))
    c = Channel.__table__.c
    worst = timedelta(0)
    for day in range(120):
        # the first run is the latest (worst case for a 27-day interval), later runs start on time or late
        delay = timedelta(minutes=start_delay_min) if day == 0 else timedelta(minutes=(day * 7) % 46)
        now = NOW + timedelta(days=day) + delay
        apply_tiers(engine, now)
        with engine.connect() as conn:
            for r in conn.execute(select(c.last_updated).where(c.last_updated.is_not(None))):
                worst = max(worst, now - r.last_updated)
        due = select_due(engine, ALL, now)
        with transaction(engine) as conn:  # what a successful refresh writes (metadata.py)
            for ch in due:
                r = conn.execute(select(c.update_frequency, c.is_priority, c.is_critical)
                                 .where(c.channel_id == ch.channel_id)).one()
                interval = PRIORITY_INTERVAL if r.is_priority or r.is_critical else INTERVALS[r.update_frequency]
                conn.execute(update(Channel.__table__).where(c.channel_id == ch.channel_id)
                             .values(last_updated=now, next_refresh_at=now + interval))
    assert [row(engine, n).update_frequency for n in range(3)] == ["monthly", "monthly", "monthly"]
    assert timedelta(days=27) < worst < POLICY_MAX_AGE


def test_daily_channels_that_went_quiet_for_a_month_go_weekly_unless_pinned(engine):
    last = NOW - timedelta(days=2)
    add_channel(engine, 0, **fetched(last, "daily", last_upload_at=NOW - timedelta(days=31)))
    add_channel(engine, 1, **fetched(last, "daily", last_upload_at=NOW - timedelta(days=31), frequency_pinned=True))
    add_channel(engine, 2, **fetched(last, "daily", last_upload_at=NOW - timedelta(days=29)))
    add_channel(engine, 3, **fetched(last, "weekly", last_upload_at=NOW - timedelta(days=60)))

    summary = apply_tiers(engine, NOW)
    assert [row(engine, n).update_frequency for n in range(4)] == ["weekly", "daily", "daily", "weekly"]
    assert summary.to_weekly == 1 and summary.rescheduled == 1
    assert row(engine, 0).next_refresh_at == last + INTERVALS["weekly"]
    assert apply_tiers(engine, NOW).to_weekly == 0


def test_priority_also_needs_available_and_fewer_than_three_failures(engine):
    """Seed 000: priority = ≥5 active subscriptions AND available AND fewer than 3 failures."""
    healthy, gone, failing, two_failures = (
        add_channel(engine, n, **fetched(NOW - timedelta(hours=1)), **extra) for n, extra in enumerate((
            {}, {"is_available": False, "unavailable_reason": "missing"}, {"failed_update_count": 3},
            {"failed_update_count": 2})))
    users = add_users(engine, 1, 5, last_login=NOW - timedelta(days=1))
    for channel in (healthy, gone, failing, two_failures):
        subscribe(engine, channel, users)
    with transaction(engine) as conn:  # a priority channel that starts failing loses the tier
        conn.execute(update(Channel).where(Channel.uuid == failing).values(is_priority=True))

    summary = apply_tiers(engine, NOW)

    assert [row(engine, n).is_priority for n in range(4)] == [True, False, False, True]
    assert summary.demoted == 1
