"""The no-spam, no-silence rules, on plain inputs."""

from datetime import UTC, date, datetime, timedelta

import pytest

from channel_assets.alerts.conditions import (
    CheckOutcome,
    Digest,
    Observation,
    TickOutcome,
    check_observations,
    decide,
    digest_message,
    failure_spike_observation,
    quota_observations,
    run_failure_message,
    tick_observations,
)
from channel_assets.alerts.config import load_alert_config
from channel_assets.alerts.notifiers import Message
from channel_assets.db.refresh.quota_ledger import QuotaStatus
from channel_assets.settings import SettingsError

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BAD = Observation("quota_75", True, Message("quota_75", "warning", "Quota 75%", "facts"))
GOOD = Observation("quota_75", False)


def run_ticks(ticks):
    """Feed (now, observation) pairs through decide, carrying the states; returns all titles sent."""
    states, sent = {}, []
    for now, obs in ticks:
        out, changed = decide([obs], states, now)
        states |= changed
        sent += [o.message.title for o in out]
    return sent


def test_first_failure_sent_once_then_daily_then_recovery_once():
    ticks = [(T0 + timedelta(minutes=i), BAD) for i in range(0, 60 * 24 + 5)]  # every minute for a day+
    ticks += [(T0 + timedelta(days=1, minutes=10 + i), GOOD) for i in range(3)]
    assert run_ticks(ticks) == ["Quota 75%", "Still failing: Quota 75%", "Resolved: Quota 75%"]


def test_passing_condition_that_never_failed_says_nothing():
    assert run_ticks([(T0, GOOD), (T0 + timedelta(hours=1), GOOD)]) == []


def test_flapping_condition_announces_each_transition():
    assert run_ticks([(T0, BAD), (T0 + timedelta(minutes=1), GOOD), (T0 + timedelta(minutes=2), BAD)]) == [
        "Quota 75%", "Resolved: Quota 75%", "Quota 75%"]


def _status(used, reserved=None, exhausted=False):
    return QuotaStatus(date(2026, 12, 1), 8000, reserved if reserved is not None else used, used, exhausted,
                       T0 + timedelta(hours=8))


@pytest.mark.parametrize(("used", "reserved", "exhausted", "failing"), [
    (5999, None, False, set()),
    (6000, None, False, {"quota_75"}),
    (6400, None, False, {"quota_75"}),  # 80% of the share is not 80% of the day's 10,000
    (7990, 8000, False, {"quota_75", "quota_share_spent"}),
    (8000, 8000, False, {"quota_75", "quota_80", "quota_share_spent"}),
    (100, None, True, {"quota_exceeded"}),
    (8000, 8000, True, {"quota_75", "quota_80", "quota_share_spent"}),  # quotaExceeded at the share's end
])
def test_quota_thresholds_75_of_the_share_and_80_of_the_daily_quota(used, reserved, exhausted, failing):
    found = quota_observations(_status(used, reserved, exhausted), 10_000, "http://ui")
    assert {o.condition for o in found if o.failing} == failing


def test_quota_80_alert_is_an_error_like_its_check():
    severities = {o.condition: o.message.severity for o in quota_observations(_status(8000), 10_000, "http://ui")}
    assert severities["quota_75"] == "warning" and severities["quota_80"] == "error"


@pytest.mark.parametrize(("attempts", "failed", "failing"), [(1000, 50, False), (1000, 51, True), (40, 40, False)])
def test_failure_spike_above_five_percent_of_enough_attempts(attempts, failed, failing):
    obs = failure_spike_observation(attempts, failed, [("UCx", "HTTP 503")], timedelta(hours=1), "http://ui")
    assert obs.failing is failing and "UCx: HTTP 503" in obs.message.text


def test_error_checks_alert_warn_checks_do_not():
    outcomes = [CheckOutcome("channel_metadata", "within_30_day_policy", "ERROR", False, "r1"),
                CheckOutcome("channel_metadata", "update_success_rate", "WARN", False, "r1")]
    [obs] = check_observations(outcomes, "http://ui")
    assert obs.condition == "check:channel_metadata:within_30_day_policy" and obs.failing
    assert obs.message.link == "http://ui/assets/channel_metadata?view=checks"


def test_a_run_stopped_by_run_monitoring_says_it_overran():
    m = run_failure_message("refresh_all_shards", "abc", "schedule daily_full_refresh", "",
                            "Exceeded maximum runtime of 3600 seconds.", "http://ui")
    assert m.title == "Run of refresh_all_shards exceeded its time limit" and m.link == "http://ui/runs/abc"


def test_digest_is_one_message_and_says_so_on_a_quiet_day():
    assert "Nothing needs a human" in digest_message(Digest(day=date(2026, 12, 1)), "http://ui").text
    d = Digest(day=date(2026, 12, 1), gone=[f"UC{i:022d}" for i in range(25)], soft_deleted=3,
               held=[("UCheld", "watch rows 12000 >= 10000")], warn_checks=["update_success_rate on channel_metadata"])
    m = digest_message(d, "http://ui")
    assert "25 gone" in m.text and "and 5 more" in m.text and "3 soft-deleted" in m.text
    assert "Held UCheld: watch rows 12000" in m.text and "update_success_rate" in m.text


def test_silence_patterns_and_settings_errors_hide_secrets():
    config = load_alert_config({"CHANNEL_ASSETS_ALERTS_SILENCE": "quota_75, check:channel_metadata:*"})
    assert config.silenced("quota_75") and config.silenced("check:channel_metadata:within_30_day_policy")
    assert not config.silenced("quota_80") and config.channels == ()
    with pytest.raises(SettingsError) as err:
        load_alert_config({"CHANNEL_ASSETS_ALERTS_WEBHOOK_URL": "hooks.example/secret-token"})
    assert "secret-token" not in str(err.value) and "CHANNEL_ASSETS_ALERTS_WEBHOOK_URL" in str(err.value)
    with pytest.raises(SettingsError, match="SLACK_CHANNEL"):
        load_alert_config({"CHANNEL_ASSETS_ALERTS_SLACK_TOKEN": "xoxb-1"})


def test_tick_links_use_the_sensors_location():
    tick = TickOutcome("alerts_sensor", "sensor", True, T0, "boom")
    assert tick_observations([tick], "http://ui")[0].message.link == \
        "http://ui/locations/__repository__@channel_assets/sensors/alerts_sensor"
    assert tick_observations([tick], "http://ui", "staging")[0].message.link == \
        "http://ui/locations/__repository__@staging/sensors/alerts_sensor"
