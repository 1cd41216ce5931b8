"""The quota ledger: units reserved atomically before API calls, per Pacific-time day.

The API's quota resets at midnight America/Los_Angeles. A reservation is one conditional UPDATE
that refuses to cross the pipeline's share, so concurrent runs (threads or processes) can never
overspend: PostgreSQL re-checks the WHERE clause under the row lock. Runs reserve in blocks
(``reserve_block``, one transaction for many calls) and give back what a block did not use
(``release``); units and used are moved together, so they stay equal to the calls made.

The video metadata refresh reserves through a ledger with a ``video_limit``: its grants count in
``units_reserved`` like every other unit (the share, the checks and the alerts see them) and also in
``video_units``, which never passes the video cap; a video ledger's grant is the least of the two rests.
The app's user requests spend through UserRequestLedger (also under their own daily cap), their video
requests through UserVideoRequestLedger (under all three).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from channel_assets.db.core.engine import transaction
from channel_assets.db.core.models import ApiQuotaLedger

PACIFIC = ZoneInfo("America/Los_Angeles")


# Grants min(units, what is left) in one statement: the CTE locks today's row and reads its latest
# version (FOR UPDATE re-reads under read committed), so concurrent grants never add past the limit.
_RESERVE_BLOCK = text("""
    WITH cur AS (
        SELECT units_reserved FROM api_quota_ledger
        WHERE quota_day = :day AND exhausted_at IS NULL AND units_reserved < :limit
        FOR UPDATE)
    UPDATE api_quota_ledger AS l
    SET units_reserved = l.units_reserved + LEAST(:units, :limit - cur.units_reserved),
        units_used = l.units_used + LEAST(:units, :limit - cur.units_reserved),
        updated_at = :now
    FROM cur WHERE l.quota_day = :day
    RETURNING LEAST(:units, :limit - cur.units_reserved)
""")


# The video ledger's grant: also under the video cap, and counted in video_units.
_RESERVE_VIDEO_BLOCK = text("""
    WITH cur AS (
        SELECT units_reserved, video_units FROM api_quota_ledger
        WHERE quota_day = :day AND exhausted_at IS NULL AND units_reserved < :limit AND video_units < :vlimit
        FOR UPDATE)
    UPDATE api_quota_ledger AS l
    SET units_reserved = l.units_reserved + LEAST(:units, :limit - cur.units_reserved, :vlimit - cur.video_units),
        units_used = l.units_used + LEAST(:units, :limit - cur.units_reserved, :vlimit - cur.video_units),
        video_units = l.video_units + LEAST(:units, :limit - cur.units_reserved, :vlimit - cur.video_units),
        updated_at = :now
    FROM cur WHERE l.quota_day = :day
    RETURNING LEAST(:units, :limit - cur.units_reserved, :vlimit - cur.video_units)
""")


def quota_day(now: datetime) -> date:
    return now.astimezone(PACIFIC).date()


def next_reset(now: datetime) -> datetime:
    """The next midnight in America/Los_Angeles, as UTC."""
    local = now.astimezone(PACIFIC)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), tzinfo=PACIFIC)
    return midnight.astimezone(UTC)


@dataclass(frozen=True)
class QuotaStatus:
    day: date
    limit: int
    reserved: int
    used: int
    exhausted: bool
    resets_at: datetime
    video_used: int = 0
    video_limit: int | None = None  # set on a video ledger's status

    @property
    def left(self) -> int:
        """Units this ledger may still grant today (a video ledger: also under the video cap)."""
        left = 0 if self.exhausted else max(self.limit - self.reserved, 0)
        return left if self.video_limit is None else min(left, max(self.video_limit - self.video_used, 0))


class QuotaLedger:
    """Implements the YouTube client's QuotaGate protocol on the app database."""

    def __init__(self, engine: Engine, limit: int, now=lambda: datetime.now(UTC), video_limit: int | None = None):
        self.engine = engine
        self.limit = limit
        self.video_limit = video_limit  # set: the video refresh's ledger (grants also count in video_units)
        self._now = now
        self._row_day: date | None = None

    def _ensure_row(self, conn, day: date) -> None:
        if day == self._row_day:  # the day's row exists (it is never deleted): skip the statement
            return
        conn.execute(
            pg_insert(ApiQuotaLedger)
            .values(quota_day=day, units_reserved=0, units_used=0, updated_at=self._now())
            .on_conflict_do_nothing(index_elements=["quota_day"])
        )

    def today(self) -> date:
        return quota_day(self._now())

    def reserve_block(self, units: int) -> tuple[date, int]:
        """Reserve up to `units` for today: (the day, units granted; 0 when the share is spent or the
        API said quotaExceeded). One transaction for a whole block of calls."""
        now = self._now()
        day = quota_day(now)
        with transaction(self.engine) as conn:
            self._ensure_row(conn, day)
            params = {"day": day, "limit": self.limit, "units": units, "now": now}
            if self.video_limit is None:
                granted = conn.execute(_RESERVE_BLOCK, params).scalar()
            else:
                granted = conn.execute(_RESERVE_VIDEO_BLOCK, params | {"vlimit": self.video_limit}).scalar()
        self._row_day = day  # committed: later blocks of the day skip the INSERT
        return day, int(granted or 0)

    def release(self, day: date, units: int) -> None:
        """Give back `units` reserved on `day` but never spent (the rest of a block at the end of a step)."""
        if units <= 0:
            return
        values = {"units_reserved": ApiQuotaLedger.units_reserved - units,
                  "units_used": ApiQuotaLedger.units_used - units, "updated_at": self._now()}
        if self.video_limit is not None:
            values["video_units"] = ApiQuotaLedger.video_units - units
        with transaction(self.engine) as conn:
            conn.execute(
                update(ApiQuotaLedger)
                .where(ApiQuotaLedger.quota_day == day, ApiQuotaLedger.units_reserved >= units)
                .values(**values)
            )

    def try_reserve(self, units: int = 1) -> bool:
        """Reserve `units` for today if the share allows it; one atomic statement, no read-modify-write."""
        if self.video_limit is not None:
            day, granted = self.reserve_block(units)
            if granted < units:  # the caps' last units: not enough for this call
                self.release(day, granted)
            return granted >= units
        now = self._now()
        day = quota_day(now)
        with transaction(self.engine) as conn:
            self._ensure_row(conn, day)
            result = conn.execute(
                update(ApiQuotaLedger)
                .where(
                    ApiQuotaLedger.quota_day == day,
                    ApiQuotaLedger.exhausted_at.is_(None),
                    ApiQuotaLedger.units_reserved + units <= self.limit,
                )
                .values(
                    units_reserved=ApiQuotaLedger.units_reserved + units,
                    units_used=ApiQuotaLedger.units_used + units,
                    updated_at=now,
                )
            )
            return result.rowcount == 1

    def mark_exhausted(self) -> None:
        """The API answered quotaExceeded: nobody tries again before the Pacific reset."""
        now = self._now()
        day = quota_day(now)
        with transaction(self.engine) as conn:
            self._ensure_row(conn, day)
            conn.execute(
                update(ApiQuotaLedger)
                .where(ApiQuotaLedger.quota_day == day, ApiQuotaLedger.exhausted_at.is_(None))
                .values(exhausted_at=now, updated_at=now)
            )

    def status(self) -> QuotaStatus:
        now = self._now()
        day = quota_day(now)
        with self.engine.connect() as conn:
            row = conn.execute(select(ApiQuotaLedger).where(ApiQuotaLedger.quota_day == day)).first()
        return QuotaStatus(
            day=day,
            limit=self.limit,
            reserved=row.units_reserved if row else 0,
            used=row.units_used if row else 0,
            exhausted=bool(row and row.exhausted_at),
            resets_at=next_reset(now),
            video_used=row.video_units if row else 0,
            video_limit=self.video_limit,
        )


# As _RESERVE_BLOCK, and also within the day's cap for the app's user requests (their units counted apart).
_RESERVE_USER_BLOCK = text("""
    WITH cur AS (
        SELECT LEAST(:units, :limit - units_reserved, :user_limit - user_request_units) AS granted
        FROM api_quota_ledger
        WHERE quota_day = :day AND exhausted_at IS NULL AND units_reserved < :limit
          AND user_request_units < :user_limit
        FOR UPDATE)
    UPDATE api_quota_ledger AS l
    SET units_reserved = l.units_reserved + cur.granted, units_used = l.units_used + cur.granted,
        user_request_units = l.user_request_units + cur.granted, updated_at = :now
    FROM cur WHERE l.quota_day = :day
    RETURNING cur.granted
""")


class UserRequestLedger(QuotaLedger):
    """The ledger as the app's user requests spend it: within the pipeline's share AND within `user_limit`
    units a day for all user requests together (counted in api_quota_ledger.user_request_units), both
    checked in one statement under the day's row lock."""

    _RESERVE = _RESERVE_USER_BLOCK
    _COUNTED = ("user_request_units",)  # the columns beside units_reserved/units_used a block counts in

    def __init__(self, engine: Engine, limit: int, user_limit: int, now=lambda: datetime.now(UTC)):
        super().__init__(engine, limit, now)
        self.user_limit = user_limit

    def _caps(self) -> dict:
        return {"user_limit": self.user_limit}

    def reserve_block(self, units: int) -> tuple[date, int]:
        now = self._now()
        day = quota_day(now)
        with transaction(self.engine) as conn:
            self._ensure_row(conn, day)
            granted = conn.execute(self._RESERVE, {"day": day, "limit": self.limit, "units": units, "now": now,
                                                   **self._caps()}).scalar()
        self._row_day = day
        return day, int(granted or 0)

    def release(self, day: date, units: int) -> None:
        if units <= 0:
            return
        counted = [getattr(ApiQuotaLedger, name) for name in self._COUNTED]
        with transaction(self.engine) as conn:
            conn.execute(
                update(ApiQuotaLedger)
                .where(ApiQuotaLedger.quota_day == day, ApiQuotaLedger.units_reserved >= units,
                       *(column >= units for column in counted))
                .values(units_reserved=ApiQuotaLedger.units_reserved - units,
                        units_used=ApiQuotaLedger.units_used - units, updated_at=self._now(),
                        **{column.key: column - units for column in counted})
            )

    def try_reserve(self, units: int = 1) -> bool:
        day, granted = self.reserve_block(units)
        if granted < units:
            self.release(day, granted)
            return False
        return True

    def status(self) -> QuotaStatus:
        """The tighter of the two: the share's status, or the user requests' own (limit `user_limit`)."""
        share = super().status()
        with self.engine.connect() as conn:
            spent = conn.execute(select(ApiQuotaLedger.user_request_units)
                                 .where(ApiQuotaLedger.quota_day == share.day)).scalar() or 0
        if self.user_limit - spent >= share.left:
            return share
        return QuotaStatus(day=share.day, limit=self.user_limit, reserved=spent, used=spent,
                           exhausted=share.exhausted, resets_at=share.resets_at)


# As _RESERVE_USER_BLOCK, and also within the video cap (the app's users' video requests).
_RESERVE_USER_VIDEO_BLOCK = text("""
    WITH cur AS (
        SELECT LEAST(:units, :limit - units_reserved, :user_limit - user_request_units,
                     :vlimit - video_units) AS granted
        FROM api_quota_ledger
        WHERE quota_day = :day AND exhausted_at IS NULL AND units_reserved < :limit
          AND user_request_units < :user_limit AND video_units < :vlimit
        FOR UPDATE)
    UPDATE api_quota_ledger AS l
    SET units_reserved = l.units_reserved + cur.granted, units_used = l.units_used + cur.granted,
        user_request_units = l.user_request_units + cur.granted, video_units = l.video_units + cur.granted,
        updated_at = :now
    FROM cur WHERE l.quota_day = :day
    RETURNING cur.granted
""")


class UserVideoRequestLedger(UserRequestLedger):
    """The users' video requests: within the pipeline's share, the user requests' cap and the video cap,
    all three checked in one statement; the units count in user_request_units and video_units."""

    _RESERVE = _RESERVE_USER_VIDEO_BLOCK
    _COUNTED = ("user_request_units", "video_units")

    def __init__(self, engine: Engine, limit: int, user_limit: int, video_limit: int,
                 now=lambda: datetime.now(UTC)):
        super().__init__(engine, limit, user_limit, now)
        self.video_limit = video_limit

    def _caps(self) -> dict:
        return {"user_limit": self.user_limit, "vlimit": self.video_limit}

    def status(self) -> QuotaStatus:
        """The user requests' status, its `left` also under what the video cap leaves."""
        video = QuotaLedger.status(self)
        return replace(super().status(), video_used=video.video_used, video_limit=self.video_limit)
