"""The video tiers, defined once: the SQL that names a video's tier and its refresh interval.

The selection, the checks and the freshness report all label videos with `tier_case` and judge them by
`VideoTierRules.intervals`, so the three can never disagree. The thresholds come in as plain values
(channel_assets.videos.tiers builds them from the settings).

- requested (the app or an operator set `metadata_refresh_requested_at`): the next run;
- published in the last `new_age` (7 days): daily;
- watched by any user in the last `watched_window` (30 days): at least weekly;
- published in the last `recent_age` (90 days): weekly;
- older (or no publish time): monthly (27 days, the channels' margin under 30).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

TIERS = ("requested", "daily", "watched", "weekly", "monthly")
RANK = {tier: n for n, tier in enumerate(TIERS)}


def _intervals() -> dict[str, timedelta]:
    return {"requested": timedelta(0), "daily": timedelta(days=1), "watched": timedelta(days=7),
            "weekly": timedelta(days=7), "monthly": timedelta(days=27)}


@dataclass(frozen=True)
class VideoTierRules:
    new_age: timedelta = timedelta(days=7)
    recent_age: timedelta = timedelta(days=90)
    watched_window: timedelta = timedelta(days=30)
    intervals: dict[str, timedelta] = field(default_factory=_intervals)
    unavailable_recheck: timedelta = timedelta(days=7)  # a confirmed unavailable video: is it back?
    invalid_retry: timedelta = timedelta(days=1)  # an answer the parser refused: asked again tomorrow

    def params(self, now: datetime) -> dict:
        """The bound values `tier_case`, `WATCHED` and `AGE_INTERVAL` use (psycopg %(name)s style)."""
        i = self.intervals
        return {"now": now, "new_since": now - self.new_age, "recent_since": now - self.recent_age,
                "watched_since": now - self.watched_window, "watched_due": now - i["watched"],
                "daily_next": now + i["daily"], "weekly_next": now + i["weekly"],
                "monthly_next": now + i["monthly"], "recheck_next": now + self.unavailable_recheck,
                "invalid_next": now + self.invalid_retry}


# The videos any user watched in the window: one range scan of users_uservideo(watched_at).
WATCHED = "SELECT DISTINCT video_id FROM users_uservideo WHERE watched_at > %(watched_since)s"


def _tier_whens(v: str, watched: str) -> list[tuple[str, str]]:
    """(condition, tier) in precedence order; a row none of them matches is monthly."""
    return [(f"{v}.metadata_refresh_requested_at IS NOT NULL", "requested"),
            (f"{v}.published_at > %(new_since)s", "daily"), (watched, "watched"),
            (f"{v}.published_at > %(recent_since)s", "weekly")]


def tier_case(v: str = "v", watched: str = "w.video_id IS NOT NULL") -> str:
    """The tier of the video row `v` (`watched`: whether it is in WATCHED)."""
    return "CASE " + " ".join(f"WHEN {c} THEN '{t}'" for c, t in _tier_whens(v, watched)) + " ELSE 'monthly' END"


def rank_case(v: str = "v", watched: str = "w.video_id IS NOT NULL") -> str:
    """The spending rank (RANK) of the row's tier, decided by the same conditions as `tier_case`: an integer
    sort key, not a comparison of the tier's text against each name."""
    return ("CASE " + " ".join(f"WHEN {c} THEN {RANK[t]}" for c, t in _tier_whens(v, watched))
            + f" ELSE {RANK['monthly']} END")


def age_next_due(published: str) -> str:
    """When a video just refreshed is next due, by its age (the watched tier is found by the selection:
    a watch after the write must not wait for a monthly due date)."""
    return (f"CASE WHEN {published} > %(new_since)s THEN %(daily_next)s "
            f"WHEN {published} > %(recent_since)s THEN %(weekly_next)s ELSE %(monthly_next)s END")
