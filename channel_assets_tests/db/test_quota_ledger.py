import threading
from datetime import UTC, datetime

from channel_assets.db.core.engine import make_engine
from channel_assets.db.refresh.quota_ledger import QuotaLedger, next_reset, quota_day


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def test_pacific_day_and_reset():
    # 07:30 UTC on Nov 26 is still Nov 25 in Los Angeles (UTC-8); the reset is 08:00 UTC.
    now = datetime(2026, 11, 26, 7, 30, tzinfo=UTC)
    assert str(quota_day(now)) == "2026-11-25"
    assert next_reset(now) == datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def test_reserve_refuses_past_the_share_and_resets_next_pacific_day(engine):
    clock = Clock(datetime(2026, 11, 26, 7, 0, tzinfo=UTC))
    ledger = QuotaLedger(engine, limit=5, now=clock)
    assert all(ledger.try_reserve(1) for _ in range(5))
    assert not ledger.try_reserve(1)  # refused: the share is spent
    status = ledger.status()
    assert (status.reserved, status.left, status.exhausted) == (5, 0, False)
    clock.now = datetime(2026, 11, 26, 8, 0, 1, tzinfo=UTC)  # past midnight Pacific
    assert ledger.try_reserve(2)
    assert ledger.status().reserved == 2


def test_mark_exhausted_blocks_until_reset(engine):
    clock = Clock(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
    ledger = QuotaLedger(engine, limit=100, now=clock)
    assert ledger.try_reserve(1)
    ledger.mark_exhausted()
    assert not ledger.try_reserve(1)
    assert ledger.status().exhausted and ledger.status().left == 0
    clock.now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert ledger.try_reserve(1)


def _hammer(url: str, limit: int, threads: int, attempts: int) -> list[int]:
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    granted = [0] * threads
    barrier = threading.Barrier(threads)

    def worker(i: int) -> None:
        engine = make_engine(url)
        ledger = QuotaLedger(engine, limit=limit, now=lambda: now)
        barrier.wait()
        for _ in range(attempts):
            if ledger.try_reserve(1):
                granted[i] += 1
        engine.dispose()

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return granted


def test_twenty_threads_never_overshoot_on_postgres(pg_engine, pg_url):
    granted = _hammer(pg_url, limit=137, threads=20, attempts=12)
    assert sum(granted) == 137
    ledger = QuotaLedger(pg_engine, limit=137, now=lambda: datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
    assert ledger.status().reserved == 137
