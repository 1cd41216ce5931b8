"""The success-rate check's arithmetic on the cycle's clock (no Dagster, no API)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from channel_assets.db.engine import transaction
from channel_assets.db.update_log import AuditEvent, success_rate, write_events
from channel_assets.refresh.checks import SUCCESS_TARGET_PCT

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def batch(at: datetime, asked: int, failed: int, *, second_pass: bool = False,
          update_type: str = "metadata") -> AuditEvent:
    return AuditEvent(update_type, "failed" if failed else "success", at,
                      changes={"batch": {"asked": asked, "found": asked - failed, "gone": 0, "missing": 0,
                                         "failed": failed, "second_pass": second_pass}})


def failure(at: datetime, channel_id: str) -> AuditEvent:
    return AuditEvent("metadata", "failed", at, channel_id=channel_id, error="backendError")


def test_success_rate_counts_first_pass_attempts_in_the_closed_24h_window(engine):
    with transaction(engine) as conn:
        write_events(conn, [
            batch(NOW, 50, 0), batch(NOW, 50, 1), failure(NOW, "UC" + "a" * 22),
            batch(NOW - timedelta(hours=23), 50, 0),
            batch(NOW, 7, 0, second_pass=True),  # misses re-asked: neither attempts nor failures
            batch(NOW - timedelta(hours=24), 50, 50),  # just outside the window
            batch(NOW + timedelta(minutes=1), 50, 50),  # a later cycle (clock ahead): not this one's business
            batch(NOW, 50, 50, update_type="uploads"),
        ])
    rate = success_rate(engine, NOW)
    assert (rate.attempts, rate.failed, rate.pct) == (150, 1, 99.33)
    assert rate.pct >= SUCCESS_TARGET_PCT and rate.recent_failures == [("UC" + "a" * 22, "backendError")]
    # a failing second-pass call does count (the channels were asked in the first pass)
    with transaction(engine) as conn:
        write_events(conn, [batch(NOW, 7, 7, second_pass=True)])
    assert (success_rate(engine, NOW).attempts, success_rate(engine, NOW).failed) == (150, 8)
    assert success_rate(engine, NOW - timedelta(days=2)).attempts == 0
    assert success_rate(engine, NOW - timedelta(days=2)).pct == 100.0
