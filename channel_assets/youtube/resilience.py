"""Retry policy and circuit breaker: bounded back-off for transient trouble, fail fast on a dead API."""

from __future__ import annotations

import threading
from collections.abc import Callable

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)
from tenacity.stop import stop_base

from .errors import CircuitOpen, RateLimited, TransientError

RETRYABLE = (TransientError, RateLimited)


class stop_after_clock(stop_base):
    """Stop when the next sleep would pass the deadline, measured on the injected clock.

    tenacity's own ``stop_after_delay`` reads ``time.monotonic`` and cannot be faked in tests.
    """

    def __init__(self, clock: Callable[[], float], max_delay_s: float) -> None:
        self.clock = clock
        self.deadline = clock() + max_delay_s

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self.clock() + (retry_state.upcoming_sleep or 0.0) >= self.deadline


def make_retrying(*, max_attempts: int, max_retry_time_s: float, backoff_base_s: float, backoff_max_s: float,
                  sleep: Callable[[float], None], clock: Callable[[], float],
                  before_sleep: Callable[[RetryCallState], None] | None = None) -> Retrying:
    """Full-jitter exponential back-off; the last classified error is re-raised, not RetryError."""
    return Retrying(
        retry=retry_if_exception_type(RETRYABLE),
        wait=wait_random_exponential(multiplier=backoff_base_s, max=backoff_max_s),
        stop=stop_after_attempt(max_attempts) | stop_after_clock(clock, max_retry_time_s),
        sleep=sleep,
        reraise=True,
        before_sleep=before_sleep,
    )


class CircuitBreaker:
    """Opens after ``threshold`` consecutive transient failures; after ``reset_s`` lets one probe through.

    States: "closed" (calls flow), "open" (fail fast), "half_open" (one probe in flight or allowed).
    """

    def __init__(self, threshold: int, reset_s: float, clock: Callable[[], float]) -> None:
        self.threshold = max(1, threshold)
        self.reset_s = reset_s
        self._clock = clock
        self._lock = threading.Lock()
        self._state = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._probe_in_flight = False

    @property
    def state(self) -> str:
        with self._lock:
            if self._state == "open" and self._clock() - self._opened_at >= self.reset_s:
                return "half_open"
            return self._state

    def before_call(self) -> None:
        """Raise CircuitOpen unless a call may go out now (claims the probe slot when half-open)."""
        with self._lock:
            if self._state == "open" and self._clock() - self._opened_at >= self.reset_s:
                self._state = "half_open"
                self._probe_in_flight = False
            if self._state == "closed":
                return
            if self._state == "half_open" and not self._probe_in_flight:
                self._probe_in_flight = True
                return
            retry_in = max(0.0, self.reset_s - (self._clock() - self._opened_at))
            raise CircuitOpen(
                f"circuit open after {self._failures} consecutive transient failures; "
                f"failing fast (next probe in {retry_in:.1f}s)"
            )

    def cancel(self) -> None:
        """The claimed call never went out (e.g. quota refused): free the probe slot."""
        with self._lock:
            self._probe_in_flight = False

    def record_success(self) -> None:
        """Any non-transient answer proves the API is alive."""
        with self._lock:
            self._state = "closed"
            self._failures = 0
            self._probe_in_flight = False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._state == "half_open" or self._failures >= self.threshold:
                self._state = "open"
                self._opened_at = self._clock()
                self._probe_in_flight = False
