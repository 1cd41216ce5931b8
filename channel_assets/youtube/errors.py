"""The client's one error hierarchy, and the mapping from API error bodies to it.

Which class an answer becomes decides what the pipeline does (stop for the day, back off, mark a
channel failing, stop the run), so the mapping follows the documented ``reason`` strings first,
then the newer ``error.status``, then the HTTP status. Messages are redacted and one line.
"""

from __future__ import annotations

import json

from .redaction import one_line


class YouTubeError(Exception):
    """Base class: ``.reason`` (API reason or a local one), ``.status`` (HTTP status or None)."""

    default_reason = "error"

    def __init__(self, message: str, *, reason: str | None = None, status: int | None = None) -> None:
        self.message = one_line(message)
        self.reason = reason or self.default_reason
        self.status = status
        super().__init__(self.message)

    def __str__(self) -> str:
        where = f"HTTP {self.status}, " if self.status is not None else ""
        return f"{self.message} ({where}{self.reason})"

    def __reduce__(self):  # keep reason/status across pickling (Exception only pickles args)
        return (_rebuild, (type(self), self.message, self.reason, self.status))


def _rebuild(cls, message, reason, status):
    return cls(message, reason=reason, status=status)


class QuotaExceeded(YouTubeError):
    """The API's daily quota is spent (403 youtube.quota quotaExceeded): stop until the reset."""

    default_reason = "quotaExceeded"


class QuotaShareExhausted(YouTubeError):
    """The local ledger refused a reservation: the pipeline's share of the day is used up."""

    default_reason = "quotaShareExhausted"


class RateLimited(YouTubeError):
    """rateLimitExceeded / userRateLimitExceeded: back off and retry."""

    default_reason = "rateLimitExceeded"


class ChannelForbidden(YouTubeError):
    """forbidden / channelClosed / channelSuspended."""

    default_reason = "forbidden"


class NotFound(YouTubeError):
    """A ``*NotFound`` reason (e.g. playlistNotFound) or HTTP 404."""

    default_reason = "notFound"


class ConfigurationError(YouTubeError):
    """Bad key, bad request or parameter: retrying cannot help; stop the run with this message."""

    default_reason = "badRequest"


class TransientError(YouTubeError):
    """5xx, timeout, connection error or malformed body: retried, never proof of anything."""

    default_reason = "transient"


class CircuitOpen(YouTubeError):
    """Too many consecutive transient failures: failing fast without calling the API."""

    default_reason = "circuitOpen"


_BY_REASON: dict[str, type[YouTubeError]] = {
    "quotaExceeded": QuotaExceeded,
    "dailyLimitExceeded": QuotaExceeded,
    "rateLimitExceeded": RateLimited,
    "userRateLimitExceeded": RateLimited,
    "RATE_LIMIT_EXCEEDED": RateLimited,
    "forbidden": ChannelForbidden,
    "channelClosed": ChannelForbidden,
    "channelSuspended": ChannelForbidden,
    "accountClosed": ChannelForbidden,
    "accountSuspended": ChannelForbidden,
    "keyInvalid": ConfigurationError,
    "keyExpired": ConfigurationError,
    "badRequest": ConfigurationError,
    "invalidPageToken": ConfigurationError,
    "invalidParameter": ConfigurationError,
    "invalidValue": ConfigurationError,
    "missingRequiredParameter": ConfigurationError,
    "required": ConfigurationError,
    "accessNotConfigured": ConfigurationError,
    "ipRefererBlocked": ConfigurationError,
    "backendError": TransientError,
    "internalError": TransientError,
}

_BY_GRPC_STATUS: dict[str, type[YouTubeError]] = {
    "PERMISSION_DENIED": ConfigurationError,  # the caller (key/project) lacks permission
    "UNAUTHENTICATED": ConfigurationError,
    "INVALID_ARGUMENT": ConfigurationError,
    "FAILED_PRECONDITION": ConfigurationError,
    "NOT_FOUND": NotFound,
    "RESOURCE_EXHAUSTED": RateLimited,
    "UNAVAILABLE": TransientError,
    "INTERNAL": TransientError,
    "DEADLINE_EXCEEDED": TransientError,
}


def _by_http_status(status: int) -> type[YouTubeError]:
    if status == 429:
        return RateLimited
    if status >= 500 or status == 408:
        return TransientError
    if status == 404:
        return NotFound
    if 400 <= status < 500:
        # Includes 403 with an unrecognised reason: stopping the run is safer than blaming 50 channels.
        return ConfigurationError
    return TransientError  # 1xx/2xx/3xx where an error was expected: an unexpected answer, retry


def classify_error(status: int, body: bytes | str | None) -> YouTubeError:
    """Map an HTTP error answer to the hierarchy; any body (HTML, empty, truncated JSON) is accepted."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    body = body or ""
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    error = payload.get("error") if isinstance(payload, dict) else None
    reasons: list[str] = []
    message = ""
    grpc_status = None
    if isinstance(error, dict):
        errs = error.get("errors")
        for item in errs if isinstance(errs, list) else []:
            if isinstance(item, dict) and isinstance(item.get("reason"), str):
                reasons.append(item["reason"])
        message = error.get("message") if isinstance(error.get("message"), str) else ""
        grpc_status = error.get("status") if isinstance(error.get("status"), str) else None
        code = error.get("code")
        if not status and isinstance(code, int) and not isinstance(code, bool):
            status = code
    elif isinstance(error, str):
        message = error

    cls: type[YouTubeError] | None = None
    reason = None
    for r in reasons:
        cls = _BY_REASON.get(r) or (NotFound if r.endswith("NotFound") else None)
        if cls is not None:
            reason = r
            break
    if cls is None and grpc_status in _BY_GRPC_STATUS:
        cls = _BY_GRPC_STATUS[grpc_status]
    if cls is None:
        cls = _by_http_status(status)
    if reason is None:
        reason = reasons[0] if reasons else (grpc_status or f"http{status}")
    if not message:
        message = "non-JSON error body" if payload is None and body.strip() else "error without message"
    return cls(f"YouTube API error: {message}", reason=reason, status=status)
