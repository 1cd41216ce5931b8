"""What deserves a message, decided from plain inputs (no Dagster, no database).

A *condition* is failing or passing. Its first failure is sent at once, a failure that lasts is
repeated at most once a day, and its recovery is announced once; a passing condition that never
failed says nothing. Digests gather what needs no immediate reaction into one message a day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from channel_assets.alerts.notifiers import Message
from channel_assets.db.refresh.quota_ledger import QuotaStatus
from channel_assets.refresh.quota_levels import (
    QUOTA_ERROR_PCT_OF_DAILY,
    QUOTA_WARN_PCT_OF_SHARE,
    quota_levels,
)

REPEAT_AFTER = timedelta(days=1)
FAILURE_SPIKE_PCT = 5.0  # seed 000: alert on failure rate spikes above 5%
FAILURE_SPIKE_MIN_ATTEMPTS = 50  # below this a handful of failures is not a rate
LOCATION = "channel_assets"  # the code location's name in workspace.yaml
REPOSITORY = "__repository__"  # Dagster's name for a location's implicit repository


@dataclass(frozen=True)
class Observation:
    """A condition as seen now; `message` says what is wrong and is needed when failing."""

    condition: str
    failing: bool
    message: Message | None = None


@dataclass(frozen=True)
class State:
    failing: bool
    since: datetime
    last_sent_at: datetime
    title: str


@dataclass(frozen=True)
class Outgoing:
    """A message to record once under `dedup_key` (the outbox ignores a key it already holds)."""

    dedup_key: str
    message: Message


def decide(observations: Iterable[Observation], states: Mapping[str, State],
           now: datetime) -> tuple[list[Outgoing], dict[str, State]]:
    """(messages to send, states that changed) for this tick."""
    out: list[Outgoing] = []
    changed: dict[str, State] = {}
    for obs in observations:
        state = changed.get(obs.condition) or states.get(obs.condition)
        key = f"{obs.condition}#{now.isoformat()}"
        if obs.failing and obs.message is not None:
            if state is None or not state.failing:
                changed[obs.condition] = State(True, now, now, obs.message.title)
                out.append(Outgoing(key, obs.message))
            elif now - state.last_sent_at >= REPEAT_AFTER:
                changed[obs.condition] = replace(state, last_sent_at=now)
                out.append(Outgoing(key, replace(
                    obs.message, title=f"Still failing: {obs.message.title}",
                    text=f"Failing since {state.since:%Y-%m-%d %H:%M} UTC.\n{obs.message.text}")))
        elif not obs.failing and state is not None and state.failing:
            changed[obs.condition] = State(False, now, now, state.title)
            text = f"Back to normal after {_duration(now - state.since)}: {state.title}"
            link = obs.message.link if obs.message else None
            out.append(Outgoing(key, Message(obs.condition, "resolved", f"Resolved: {state.title}", text, link)))
    return out, changed


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h" + (f" {minutes % 60} min" if minutes % 60 else "")


def asset_link(ui_url: str, asset: str, view: str = "") -> str:
    return f"{ui_url}/assets/{asset}" + (f"?view={view}" if view else "")


def quota_observations(status: QuotaStatus, daily_limit: int, ui_url: str) -> list[Observation]:
    """75% of the share, 80% of the daily quota, the share spent (the ledger stops calls), quotaExceeded."""
    link = asset_link(ui_url, "channel_metadata", "checks")
    facts = (f"Pacific day {status.day}: {status.used} of the pipeline's {status.limit} units used "
             f"(daily quota {daily_limit}), {status.reserved} reserved; the quota resets at "
             f"{status.resets_at:%Y-%m-%d %H:%M} UTC.")
    levels = quota_levels(status, daily_limit)
    found = [
        Observation(f"quota_{QUOTA_WARN_PCT_OF_SHARE}", levels.warn, Message(
            f"quota_{QUOTA_WARN_PCT_OF_SHARE}", "warning",
            f"YouTube quota: {QUOTA_WARN_PCT_OF_SHARE}% of the pipeline's share used", facts, link)),
        Observation(f"quota_{QUOTA_ERROR_PCT_OF_DAILY}", levels.error, Message(
            f"quota_{QUOTA_ERROR_PCT_OF_DAILY}", "error",
            f"YouTube quota: {QUOTA_ERROR_PCT_OF_DAILY}% of the day's quota used", facts, link)),
    ]
    spent = status.reserved >= status.limit and not levels.exceeded_early
    found.append(Observation("quota_share_spent", spent, Message(
        "quota_share_spent", "error", "YouTube quota: share spent, the ledger stops API calls until the reset",
        facts + " Due channels are deferred by priority; lower-tier refreshes wait.", link)))
    found.append(Observation("quota_exceeded", levels.exceeded_early, Message(
        "quota_exceeded", "error", "YouTube answered quotaExceeded before the pipeline's share was spent",
        facts + " Something else (the app?) spends this Google project's quota. No calls until the reset.",
        link)))
    return found


@dataclass(frozen=True)
class CheckOutcome:
    asset: str
    name: str
    severity: str  # "ERROR" or "WARN"
    passed: bool
    run_id: str
    summary: str = ""


def check_observations(outcomes: Iterable[CheckOutcome], ui_url: str) -> list[Observation]:
    """ERROR checks alert at once; WARN checks only appear in the digest."""
    found = []
    for c in outcomes:
        if c.severity != "ERROR":
            continue
        condition = f"check:{c.asset}:{c.name}"
        text = f"Asset check {c.name} on {c.asset} failed (severity ERROR) in run {c.run_id}. {c.summary}".strip()
        found.append(Observation(condition, not c.passed, Message(
            condition, "error", f"Check failed: {c.name} on {c.asset}", text, asset_link(ui_url, c.asset, "checks"))))
    return found


def freshness_observations(states: Mapping[str, str], ui_url: str) -> list[Observation]:
    """FAIL is failing, PASS is passing; WARN and UNKNOWN leave the condition as it was."""
    return [Observation(f"freshness:{asset}", state == "FAIL", Message(
        f"freshness:{asset}", "error", f"Freshness policy failing: {asset}",
        f"{asset} has not been materialized within its freshness policy's fail window.",
        asset_link(ui_url, asset)))
        for asset, state in sorted(states.items()) if state in ("PASS", "FAIL")]


@dataclass(frozen=True)
class TickOutcome:
    name: str
    kind: str  # "schedule" or "sensor"
    failed: bool
    at: datetime
    error: str = ""


def repository_location(location: str = LOCATION) -> str:
    """The UI's name of the location's repository ("__repository__@channel_assets")."""
    return f"{REPOSITORY}@{location}"


def tick_observations(ticks: Iterable[TickOutcome], ui_url: str, location: str = LOCATION) -> list[Observation]:
    """The latest tick of each schedule and sensor: failing while it fails, resolved when one succeeds."""
    return [Observation(f"tick:{t.name}", t.failed, Message(
        f"tick:{t.name}", "error", f"{t.kind.capitalize()} tick failed: {t.name}",
        f"The {t.kind} {t.name} failed its tick at {t.at:%Y-%m-%d %H:%M:%S} UTC: {t.error}".strip(),
        f"{ui_url}/locations/{repository_location(location)}/{t.kind}s/{t.name}")) for t in ticks]


def circuit_observation(runs: Mapping[str, int], window: timedelta, ui_url: str) -> Observation:
    """`runs`: run id -> stops of a metadata run or uploads channels that met an open breaker in the window."""
    shown = ", ".join(f"{run_id} ({n} stopped)" for run_id, n in sorted(runs.items())[:5])
    link = f"{ui_url}/runs/{min(runs)}" if runs else None
    return Observation("circuit_open", bool(runs), Message(
        "circuit_open", "error", "YouTube client circuit breaker opened",
        f"The client stopped calling a failing API (5 consecutive transient errors) within the last "
        f"{_duration(window)}, in runs: {shown}. The rest of each run was deferred, not counted against the "
        f"channels; the next run resumes. See stopped_by_circuit in channel_metadata's metadata.", link))


def failure_spike_observation(attempts: int, failed: int, recent: Iterable[tuple], window: timedelta,
                              ui_url: str) -> Observation:
    """More than 5% of the channel refreshes attempted within the window failed."""
    failing = attempts >= FAILURE_SPIKE_MIN_ATTEMPTS and failed * 100 > attempts * FAILURE_SPIKE_PCT
    examples = "; ".join(f"{cid}: {error}" for cid, error in list(recent)[:5])
    return Observation("failure_spike", failing, Message(
        "failure_spike", "error", f"Channel refresh failures above {FAILURE_SPIKE_PCT:g}%",
        f"{failed} of {attempts} channel refreshes failed in the last {_duration(window)}. Recent: {examples}",
        asset_link(ui_url, "channel_metadata")))


def run_failure_message(job: str, run_id: str, launched_by: str, reason: str, error: str, ui_url: str) -> Message:
    """A scheduled or sensor-launched run failed; a run stopped by run monitoring says so."""
    timed_out = "maximum runtime" in error or reason == "START_TIMEOUT"
    what = "exceeded its time limit" if timed_out else "failed"
    return Message(f"run:{job}", "error", f"Run of {job} {what}",
                   f"Run {run_id} of job {job} (launched by {launched_by}) {what}: {error}".strip(),
                   f"{ui_url}/runs/{run_id}")


@dataclass
class Digest:
    """What happened in the digest's day that a human should know, but not at once."""

    day: date
    gone: list[str] = field(default_factory=list)
    back: list[str] = field(default_factory=list)
    soft_deleted: int = 0
    hard_deleted: int = 0
    restored: int = 0
    held: list[tuple[str, str]] = field(default_factory=list)
    failing: list[tuple[str, int, str]] = field(default_factory=list)
    warn_checks: list[str] = field(default_factory=list)
    videos_gone: list[str] = field(default_factory=list)  # "id (reason)"
    videos_back: list[str] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.gone or self.back or self.soft_deleted or self.hard_deleted or self.restored
                    or self.held or self.failing or self.warn_checks or self.videos_gone or self.videos_back)


def _ids(ids: list[str], limit: int = 20) -> str:
    more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
    return ", ".join(ids[:limit]) + more


def digest_message(d: Digest, ui_url: str) -> Message:
    """One message for the day, also on a quiet day: a digest that stops arriving means alerts are broken."""
    title = f"channel_assets daily digest for {d.day}"
    if d.empty():
        return Message("digest", "info", title, "Nothing needs a human: no availability changes, no cleanup, "
                       "nothing held, no channel failing repeatedly, no WARN check failing.",
                       asset_link(ui_url, "channel_freshness_report"))
    lines = [f"Channel availability: {len(d.gone)} gone, {len(d.back)} back."]
    if d.gone:
        lines.append(f"  Gone (deleted, terminated or private): {_ids(d.gone)}")
    if d.back:
        lines.append(f"  Back: {_ids(d.back)}")
    if d.videos_gone or d.videos_back:
        lines.append(f"Video availability: {len(d.videos_gone)} unavailable, {len(d.videos_back)} back.")
        if d.videos_gone:
            lines.append(f"  Unavailable (reason): {_ids(d.videos_gone)}")
        if d.videos_back:
            lines.append(f"  Back: {_ids(d.videos_back)}")
    lines.append(f"Cleanup: {d.soft_deleted} soft-deleted, {d.hard_deleted} hard-deleted, {d.restored} restored.")
    if d.held or d.failing:
        lines.append(f"Waiting for a human: {len(d.held)} held removals, {len(d.failing)} channels failing repeatedly.")
        lines += [f"  Held {cid}: {reason}" for cid, reason in d.held[:20]]
        lines += [f"  Failing {cid} ({n} times): {error}" for cid, n, error in d.failing[:20]]
    if d.warn_checks:
        lines.append("WARN checks failing: " + "; ".join(d.warn_checks))
    return Message("digest", "info", title, "\n".join(lines),
                   asset_link(ui_url, "channel_freshness_report"))
