"""Fault injection, configured over HTTP (``POST /_emulator/faults``) or directly by tests.

Decisions come from one ``random.Random(seed)`` consumed in request order, so a
single-threaded client sees the same faults on every run.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, fields

_FIELDS = ("error_rate", "rate_limit_rate", "rate_limit_status", "latency_ms", "malformed_rate",
           "truncated_rate", "feed_outage", "feed_outage_status", "quota_limit", "fail_next", "seed")


@dataclass
class FaultConfig:
    error_rate: float = 0.0  # share of API calls answered 500/503 backendError
    rate_limit_rate: float = 0.0  # share answered rateLimitExceeded
    rate_limit_status: int = 403  # 403 (usageLimits) or 429
    latency_ms: float = 0.0  # added before every API and feed answer
    malformed_rate: float = 0.0  # 200 with a body that is not valid JSON
    truncated_rate: float = 0.0  # connection closed halfway through the body
    feed_outage: bool = False  # the public feed answers feed_outage_status for everyone
    feed_outage_status: int = 404
    quota_limit: int | None = None  # overrides the server's daily quota per key
    fail_next: int = 0  # the next N API calls answer 503 backendError
    seed: int = 0


class Faults:
    """The live fault settings plus the seeded random stream that applies them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.config = FaultConfig()
        self._rng = random.Random(0)

    def configure(self, settings: dict) -> FaultConfig:
        """Replace the settings with ``settings`` (unnamed ones back to defaults)."""
        unknown = set(settings) - set(_FIELDS)
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        config = FaultConfig(**settings)
        if config.rate_limit_status not in (403, 429):
            raise ValueError("rate_limit_status must be 403 or 429")
        for f in fields(FaultConfig):
            if f.name.endswith("_rate") and not 0.0 <= getattr(config, f.name) <= 1.0:
                raise ValueError(f"{f.name} must be in [0, 1]")
        with self._lock:
            self.config = config
            self._rng = random.Random(config.seed)
        return config

    def clear(self) -> None:
        self.configure({})

    def as_dict(self) -> dict:
        return asdict(self.config)

    @property
    def latency_s(self) -> float:
        return self.config.latency_ms / 1000.0

    def api_fault(self) -> str | None:
        """What goes wrong with this API call before it is answered: 'error', 'rate_limit' or None."""
        with self._lock:
            c = self.config
            if c.fail_next > 0:
                c.fail_next -= 1
                return "error"
            if c.error_rate and self._rng.random() < c.error_rate:
                return "error"
            if c.rate_limit_rate and self._rng.random() < c.rate_limit_rate:
                return "rate_limit"
        return None

    def body_fault(self) -> str | None:
        """What goes wrong with a successful answer's body: 'malformed', 'truncated' or None."""
        with self._lock:
            c = self.config
            if c.malformed_rate and self._rng.random() < c.malformed_rate:
                return "malformed"
            if c.truncated_rate and self._rng.random() < c.truncated_rate:
                return "truncated"
        return None

    def pick_5xx(self) -> int:
        with self._lock:
            return 503 if self._rng.random() < 0.5 else 500
