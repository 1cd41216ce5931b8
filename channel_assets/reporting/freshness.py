"""The freshness report (F17): per tier, how many available channels are within their frequency, the age
distribution, the most stale and the failing channels, quota used/left and the next scheduled runs.

Grouped SQL only (one GROUP BY for tiers × age buckets, two LIMIT 10 lists), so it stays cheap at 500k rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, case, func, select

from channel_assets.db.models import Channel
from channel_assets.db.quota_ledger import QuotaStatus
from channel_assets.refresh.tiers import INTERVALS, POLICY_MAX_AGE, PRIORITY_INTERVAL
from channel_assets.reporting.markdown import md_table

BUCKETS = (("≤30 min", timedelta(minutes=30)), ("≤1 d", timedelta(days=1)), ("≤7 d", timedelta(days=7)),
           ("≤27 d", timedelta(days=27)), ("≤30 d", POLICY_MAX_AGE), (">30 d", None))
TIERS = ("critical", "priority", "daily", "weekly", "monthly")
SCHEDULES = (("daily_full_refresh", 2, 0), ("priority_refresh", None, 30), ("daily_statistics", 3, 30),
             ("daily_freshness_report", 4, 0))


@dataclass
class TierFreshness:
    tier: str
    available: int = 0
    never_fetched: int = 0
    within: int = 0
    buckets: dict[str, int] = field(default_factory=dict)

    @property
    def within_pct(self) -> float:
        fetched = self.available - self.never_fetched
        return round(100.0 * self.within / fetched, 2) if fetched else 100.0

    def percentile(self, q: float) -> str:
        """The age bucket holding the q-quantile of fetched channels' ages."""
        total = sum(self.buckets.values())
        seen = 0
        for label, _ in BUCKETS:
            seen += self.buckets.get(label, 0)
            if total and seen >= q * total:
                return label
        return "-"


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

    @property
    def within_pct(self) -> float:
        fetched = sum(t.available - t.never_fetched for t in self.tiers)
        return round(100.0 * sum(t.within for t in self.tiers) / fetched, 2) if fetched else 100.0


def _tier_expr():
    c = Channel.__table__.c
    return case((c.is_critical.is_(True), "critical"), (c.is_priority.is_(True), "priority"),
                (c.update_frequency.in_(list(INTERVALS)), c.update_frequency), else_="weekly")


def next_runs(now: datetime) -> list[tuple[str, datetime]]:
    """Next UTC fire time of each refresh schedule (crons in channel_assets.refresh.schedules)."""
    out = []
    for name, hour, minute in SCHEDULES:
        if hour is None:
            base = now.replace(second=0, microsecond=0)
            step = timedelta(minutes=minute)
            nxt = base - timedelta(minutes=base.minute % minute) + step
        else:
            nxt = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
            if nxt <= now:
                nxt += timedelta(days=1)
        out.append((name, nxt))
    return out


def build_freshness_report(engine: Engine, now: datetime, ledger) -> FreshnessReport:
    c = Channel.__table__.c
    tier = _tier_expr().label("tier")
    interval = case((c.is_critical.is_(True) | c.is_priority.is_(True), now - PRIORITY_INTERVAL),
                    *((c.update_frequency == f, now - iv) for f, iv in INTERVALS.items() if f != "weekly"),
                    else_=now - INTERVALS["weekly"])
    bucket = case((c.last_updated.is_(None), "never"),
                  *((c.last_updated >= now - limit, label) for label, limit in BUCKETS if limit is not None),
                  else_=">30 d").label("bucket")
    live = [c.soft_deleted_at.is_(None)]
    with engine.connect() as conn:
        grouped = conn.execute(
            select(tier, bucket, func.count(), func.sum(case((c.last_updated >= interval, 1), else_=0)))
            .where(*live, c.is_available.is_(True)).group_by(tier, bucket)).all()
        totals = conn.execute(select(
            func.count(), func.sum(case((c.is_available.is_(False), 1), else_=0)),
            func.sum(case((c.failed_update_count > 0, 1), else_=0)),
            func.sum(case(((c.next_refresh_at.is_(None)) | (c.next_refresh_at <= now), 1), else_=0)),
        ).where(*live)).one()
        stale = conn.execute(
            select(c.channel_id, c.title, tier, c.last_updated)
            .where(*live, c.is_available.is_(True), c.last_updated.is_not(None))
            .order_by(c.last_updated, c.channel_id).limit(10)).all()
        failing = conn.execute(
            select(c.channel_id, c.title, c.failed_update_count, c.last_error)
            .where(*live, c.failed_update_count > 0)
            .order_by(c.failed_update_count.desc(), c.channel_id).limit(10)).all()
    tiers = {name: TierFreshness(name) for name in TIERS}
    for tier_name, bucket_name, count, within in grouped:
        t = tiers[tier_name]
        t.available += count
        if bucket_name == "never":
            t.never_fetched += count
        else:
            t.buckets[bucket_name] = t.buckets.get(bucket_name, 0) + count
            t.within += int(within or 0)
    total, unavailable, failing_n, due = (int(v or 0) for v in totals)
    return FreshnessReport(
        now=now, total=total, available=total - unavailable, unavailable=unavailable, failing=failing_n, due=due,
        over_policy=sum(t.buckets.get(">30 d", 0) for t in tiers.values()),
        tiers=list(tiers.values()), stale=[tuple(r) for r in stale],
        failing_channels=[tuple(r) for r in failing], quota=ledger.status(), next_runs=next_runs(now),
    )


def _tier_rows(report: FreshnessReport) -> list[list]:
    return [[t.tier, t.available, t.never_fetched, t.within, f"{t.within_pct}%", t.percentile(0.5),
             t.percentile(0.9), t.buckets.get(">30 d", 0)] for t in report.tiers]


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
    ])


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
    return "\n".join(lines)
