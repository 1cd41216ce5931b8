"""The freshness report: per tier, how many available channels are within their frequency, the age
distribution, the most stale and the failing channels, quota used/left and the next scheduled runs; and the
status at a glance (seed 000's update status): channels updated today, each schedule's last run, and what waits for a human
(capped channels, held removals, orphans past the 7-day deadline).

The rows come from channel_assets.db.refresh.freshness_rows; the tier intervals and schedules from the caller
(ReportRules), so reporting depends on no domain package.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from channel_assets.db.cleanup.check_reads import OrphanBacklog, orphan_backlog
from channel_assets.db.refresh.freshness_rows import AttentionRows, attention_rows, freshness_rows
from channel_assets.db.refresh.quota_ledger import QuotaStatus
from channel_assets.db.videos.report_rows import (
    AvailabilityChange,
    VideoTierFreshness,
    availability_changes,
    video_freshness,
)
from channel_assets.db.videos.tiering import VideoTierRules
from channel_assets.reporting.markdown import md_table

TIERS = ("critical", "priority", "daily", "weekly", "monthly")


@dataclass(frozen=True)
class ReportRules:
    """What the report measures against: tier intervals, the age buckets (the last one, limit None, is
    over the policy), and the schedules whose next run it shows."""

    intervals: Mapping[str, timedelta]
    priority_interval: timedelta
    buckets: Sequence[tuple[str, timedelta | None]]
    schedules: Sequence[tuple[str, int | None, int, str]]
    failure_cap: int
    orphan_deadline: timedelta


@dataclass(frozen=True)
class LastRun:
    """The latest run a schedule launched, as the Dagster instance recorded it."""

    schedule: str
    status: str
    started: datetime | None
    run_id: str


@dataclass
class TierFreshness:
    tier: str
    bucket_labels: Sequence[str] = ()
    available: int = 0
    never_fetched: int = 0
    within: int = 0
    buckets: dict[str, int] = field(default_factory=dict)

    @property
    def within_pct(self) -> float:
        fetched = self.available - self.never_fetched
        return round(100.0 * self.within / fetched, 2) if fetched else 100.0

    @property
    def over_policy(self) -> int:
        return self.buckets.get(self.bucket_labels[-1], 0) if self.bucket_labels else 0

    def percentile(self, q: float) -> str:
        """The age bucket holding the q-quantile of fetched channels' ages."""
        total = sum(self.buckets.values())
        seen = 0
        for label in self.bucket_labels:
            seen += self.buckets.get(label, 0)
            if total and seen >= q * total:
                return label
        return "-"


@dataclass(frozen=True)
class VideoReportRules:
    """The video tiers (from the settings) and the video part of the quota, for the report's video section."""

    tiers: VideoTierRules
    quota_limit: int


@dataclass
class VideoSection:
    tiers: list[VideoTierFreshness]
    changes: list[AvailabilityChange]  # of the last 24 hours
    units_used: int
    units_limit: int

    @property
    def went(self) -> list[AvailabilityChange]:
        return [c for c in self.changes if c.new_reason is not None]

    @property
    def came_back(self) -> list[AvailabilityChange]:
        return [c for c in self.changes if c.new_reason is None]


@dataclass
class FreshnessReport:
    now: datetime
    total: int
    available: int
    unavailable: int
    failing: int
    due: int
    over_policy: int
    tiers: list[TierFreshness]
    stale: list[tuple]  # (channel_id, title, tier, last_updated)
    failing_channels: list[tuple]  # (channel_id, title, failed_update_count, last_error)
    quota: QuotaStatus
    next_runs: list[tuple[str, datetime]]
    attention: AttentionRows
    orphans: OrphanBacklog
    orphan_deadline: timedelta
    last_runs: list[LastRun] | None  # None: no Dagster instance to ask (a terminal without DAGSTER_HOME)
    videos: VideoSection | None = None  # None: not asked for (the channel checks skip the videos' scan)

    @property
    def within_pct(self) -> float:
        fetched = sum(t.available - t.never_fetched for t in self.tiers)
        return round(100.0 * sum(t.within for t in self.tiers) / fetched, 2) if fetched else 100.0


def next_runs(now: datetime, schedules: Sequence[tuple[str, int | None, int, str]]) -> list[tuple[str, datetime]]:
    """Next fire time (in UTC) of each (name, hour or None for every `minute` minutes, minute, time zone)."""
    out = []
    for name, hour, minute, tz in schedules:
        if hour is None:
            base = now.replace(second=0, microsecond=0)
            step = timedelta(minutes=minute)
            nxt = base - timedelta(minutes=base.minute % minute) + step
        else:
            local = now.astimezone(ZoneInfo(tz))
            nxt = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
            if nxt <= local:
                nxt += timedelta(days=1)  # wall-clock arithmetic: 00:15 local on the next day, DST or not
            nxt = nxt.astimezone(UTC)
        out.append((name, nxt))
    return out


def build_video_section(engine: Engine, now: datetime, quota: QuotaStatus, rules: VideoReportRules) -> VideoSection:
    return VideoSection(video_freshness(engine, now, rules.tiers),
                        availability_changes(engine, now - timedelta(days=1), now), quota.video_used, rules.quota_limit)


def build_freshness_report(engine: Engine, now: datetime, ledger, rules: ReportRules,
                           last_runs: list[LastRun] | None = None,
                           videos: VideoReportRules | None = None) -> FreshnessReport:
    rows = freshness_rows(engine, now, rules.intervals, rules.priority_interval, rules.buckets)
    labels = [label for label, _ in rules.buckets]
    tiers = {name: TierFreshness(name, labels) for name in TIERS}
    for tier_name, bucket_name, count, within in rows.grouped:
        t = tiers[tier_name]
        t.available += count
        if bucket_name == "never":
            t.never_fetched += count
        else:
            t.buckets[bucket_name] = t.buckets.get(bucket_name, 0) + count
            t.within += int(within or 0)
    quota = ledger.status()
    return FreshnessReport(
        now=now, total=rows.total, available=rows.total - rows.unavailable, unavailable=rows.unavailable,
        failing=rows.failing, due=rows.due, over_policy=sum(t.over_policy for t in tiers.values()),
        tiers=list(tiers.values()), stale=rows.stale, failing_channels=rows.failing_channels,
        quota=quota, next_runs=next_runs(now, rules.schedules),
        attention=attention_rows(engine, now, rules.failure_cap),
        orphans=orphan_backlog(engine, now, rules.orphan_deadline), orphan_deadline=rules.orphan_deadline,
        last_runs=last_runs, videos=None if videos is None else build_video_section(engine, now, quota, videos),
    )


def _tier_rows(report: FreshnessReport) -> list[list]:
    return [[t.tier, t.available, t.never_fetched, t.within, f"{t.within_pct}%", t.percentile(0.5),
             t.percentile(0.9), t.over_policy] for t in report.tiers]


TIER_HEADERS = ("tier", "available", "never fetched", "within frequency", "within %", "age p50", "age p90",
                "over 30 d")


def render_markdown(report: FreshnessReport) -> str:
    q = report.quota
    return "\n\n".join([
        f"**Freshness at {report.now:%Y-%m-%d %H:%M} UTC**: {report.within_pct}% of fetched available channels "
        f"within their frequency; {report.over_policy} over the 30-day policy; {report.available} available, "
        f"{report.unavailable} unavailable, {report.failing} failing, {report.due} due.",
        md_table(TIER_HEADERS, _tier_rows(report)),
        "**Most stale**\n\n" + md_table(("channel", "title", "tier", "last updated"),
                                        [[r[0], r[1], r[2], f"{r[3]:%Y-%m-%d %H:%M}"] for r in report.stale]),
        "**Failing**\n\n" + md_table(("channel", "title", "failures", "last error"), report.failing_channels),
        f"**Quota** {q.day}: {q.used}/{q.limit} units used, {q.left} left"
        + (" (exhausted)" if q.exhausted else "") + f", resets {q.resets_at:%Y-%m-%d %H:%M} UTC.",
        "**Next runs**\n\n" + md_table(("schedule", "at (UTC)"),
                                       [[n, f"{t:%Y-%m-%d %H:%M}"] for n, t in report.next_runs]),
        f"**Updated today**: {report.attention.updated_today} channels.",
        "**Last runs**\n\n" + (md_table(LAST_RUN_HEADERS, _last_run_rows(report)) if report.last_runs is not None
                                else NO_INSTANCE),
        f"**Waiting for a human**: {_orphan_line(report)}",
        "**Capped** (failure cap reached: rechecked weekly only; reset with `channel-assets channel reset-failures`)"
        "\n\n" + md_table(CAPPED_HEADERS, report.attention.capped),
        "**Held removals** (safety rules; `override_held_removals` removes them)\n\n"
        + md_table(("channel", "title", "hold"), report.attention.held),
        *([_video_markdown(report.videos)] if report.videos is not None else []),
        HISTORY_HINT,
    ])


VIDEO_HEADERS = ("tier", "available", "never refreshed", "within interval", "within %", "unavailable")


def _video_rows(v: VideoSection) -> list[list]:
    return [[t.tier, t.available, t.never_refreshed, t.within, f"{t.within_pct}%", t.unavailable] for t in v.tiers]


def _change_rows(changes: list[AvailabilityChange]) -> list[list]:
    return [[c.video_id, c.old_reason or "available", c.new_reason or "available", f"{c.at:%Y-%m-%d %H:%M}"]
            for c in changes]


CHANGE_HEADERS = ("video", "was", "now", "at (UTC)")


def _video_markdown(v: VideoSection) -> str:
    return "\n\n".join([
        f"**Videos**: {v.units_used}/{v.units_limit} video quota units used today; in the last 24 h "
        f"{len(v.went)} went unavailable, {len(v.came_back)} came back.",
        md_table(VIDEO_HEADERS, _video_rows(v)),
        "**Videos gone and back (24 h)**\n\n" + md_table(CHANGE_HEADERS, _change_rows(v.changes)),
    ])


LAST_RUN_HEADERS = ("schedule", "status", "started (UTC)", "run")
CAPPED_HEADERS = ("channel", "title", "failures", "available", "last error")
NO_INSTANCE = "not shown: no Dagster instance here (set DAGSTER_HOME to the deployment's)."
HISTORY_HINT = "A channel's update history: `channel-assets history UC…` (`--limit N`)."


def _last_run_rows(report: FreshnessReport) -> list[list]:
    return [[r.schedule, r.status, f"{r.started:%Y-%m-%d %H:%M}" if r.started else "-", r.run_id]
            for r in report.last_runs or []]


def _orphan_line(report: FreshnessReport) -> str:
    o, deadline = report.orphans, report.orphan_deadline.days
    age = o.oldest_age(report.now)
    oldest = f", the oldest orphaned {age.days} d ago" if age else ""
    return (f"{o.waiting} orphan(s) not yet removed{oldest}; {o.overdue} past the {deadline}-day deadline"
            + (" (is daily_cleanup on?)" if o.overdue else "") + f"; {len(report.attention.capped)} capped channel(s), "
            f"{len(report.attention.held)} held removal(s).")


def _text_table(headers, rows) -> list[str]:
    rows = [[" ".join(str("" if v is None else v).split())[:60] for v in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) if rows else len(str(h)) for i, h in enumerate(headers)]
    line = "  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True))
    return [line, "-" * len(line)] + ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in rows]


def render_text(report: FreshnessReport) -> str:
    """The same report for a terminal (`channel-assets report`)."""
    q = report.quota
    lines = [f"Freshness at {report.now:%Y-%m-%d %H:%M} UTC: {report.within_pct}% within frequency, "
             f"{report.over_policy} over 30 days; {report.available} available, {report.unavailable} unavailable, "
             f"{report.failing} failing, {report.due} due", ""]
    lines += _text_table(TIER_HEADERS, _tier_rows(report)) + ["", "Most stale:"]
    lines += _text_table(("channel", "title", "tier", "last updated"),
                         [[r[0], r[1], r[2], f"{r[3]:%Y-%m-%d %H:%M}"] for r in report.stale]) or ["  none"]
    lines += ["", "Failing:"] + _text_table(("channel", "title", "failures", "last error"), report.failing_channels)
    lines += ["", f"Quota {q.day}: {q.used}/{q.limit} used, {q.left} left{' (exhausted)' if q.exhausted else ''}",
              "", "Next runs:"] + [f"  {n}: {t:%Y-%m-%d %H:%M} UTC" for n, t in report.next_runs]
    lines += ["", f"Updated today: {report.attention.updated_today} channels", "", "Last runs:"]
    lines += _text_table(LAST_RUN_HEADERS, _last_run_rows(report)) if report.last_runs is not None \
        else [f"  {NO_INSTANCE}"]
    lines += ["", f"Waiting for a human: {_orphan_line(report)}", "", "Capped:"]
    lines += _text_table(CAPPED_HEADERS, report.attention.capped)
    lines += ["", "Held removals:"] + _text_table(("channel", "title", "hold"), report.attention.held)
    if report.videos is not None:
        v = report.videos
        lines += ["", f"Videos: {v.units_used}/{v.units_limit} video quota units used today; in the last 24 h "
                      f"{len(v.went)} went unavailable, {len(v.came_back)} came back", ""]
        lines += _text_table(VIDEO_HEADERS, _video_rows(v))
        lines += ["", "Videos gone and back (24 h):"] + _text_table(CHANGE_HEADERS, _change_rows(v.changes))
    lines += ["", HISTORY_HINT]
    return "\n".join(lines)
