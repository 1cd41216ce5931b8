"""The `error_type` of a failed refresh (seed 000's error logs), one word per kind of trouble.

The update log stores it beside the one-line message, so the failure cap, the channel history and the
alerts read a type instead of parsing error text. Classification only: nothing here writes.
"""

from __future__ import annotations

from channel_assets.youtube import (
    ChannelForbidden,
    CircuitOpen,
    NotFound,
    QuotaExceeded,
    RateLimited,
    TransientError,
    YouTubeError,
)

ACCESS_DENIED = "access_denied"
CIRCUIT_OPEN = "circuit_open"
QUOTA_EXCEEDED = "quota_exceeded"
TRANSIENT = "transient"
DATABASE_BUSY = "database_busy"  # the app database kept refusing a write (lock/statement timeout, deadlock)
INVALID_DATA = "invalid_data"
_BY_CLASS: tuple[tuple[type[YouTubeError], str], ...] = (
    (ChannelForbidden, ACCESS_DENIED),
    (NotFound, "not_found"),
    (RateLimited, "rate_limited"),
    (QuotaExceeded, QUOTA_EXCEEDED),
    (CircuitOpen, CIRCUIT_OPEN),
)
_BY_REASON = {"timeout": "timeout", "connectionError": "connection_error"}


def error_type_of(exc: YouTubeError) -> str:
    """access_denied, not_found, rate_limited, quota_exceeded, circuit_open, timeout, connection_error,
    transient (5xx and the like) or error (anything else)."""
    if exc.reason in _BY_REASON:
        return _BY_REASON[exc.reason]
    for cls, name in _BY_CLASS:
        if isinstance(exc, cls):
            return name
    return TRANSIENT if isinstance(exc, TransientError) else "error"
