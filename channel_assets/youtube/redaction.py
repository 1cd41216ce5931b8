"""One place that knows how to scrub secrets (the API key) out of text and log records.

httpx logs "HTTP Request: GET <url>" and its exceptions embed the URL, and the URL carries
``key=...``: every layer that turns client data into text (logs, exceptions, Dagster metadata)
should pass it through :func:`redact`.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

MASK = "***"
_KEY_PARAM_RE = re.compile(r"(?i)(\bkey=)[^&\s'\"<>]+")
_lock = threading.Lock()
_secrets: set[str] = set()
_filtered_loggers = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
)


def register_secret(secret: str | None) -> None:
    """Remember a secret so that every later ``redact(text)`` masks it, wherever it is called."""
    if secret and len(secret) >= 4:  # masking 1-3 characters would shred ordinary text
        with _lock:
            _secrets.add(secret)


def redact(text: object, secrets: Iterable[str] = ()) -> str:
    """Return ``str(text)`` with registered and given secrets and any ``key=`` value masked."""
    out = text if isinstance(text, str) else str(text)
    with _lock:
        known = set(_secrets)
    known.update(s for s in secrets if s)
    for secret in sorted(known, key=len, reverse=True):
        out = out.replace(secret, MASK)
    return _KEY_PARAM_RE.sub(r"\1" + MASK, out)


def one_line(text: object, limit: int = 300, secrets: Iterable[str] = ()) -> str:
    """Redacted, whitespace collapsed to single spaces, at most `limit` characters: for logs, metadata,
    update-log rows and errors a human reads in a table cell."""
    flat = " ".join(redact(text, secrets).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class RedactingFilter(logging.Filter):
    """Rewrites a record's message in place so no handler ever sees the key."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is not ours to fix; drop its args safely
            message = str(record.msg)
        clean = redact(message)
        if clean != message or record.args:
            record.msg = clean
            record.args = None
        return True


_filter = RedactingFilter()


def install_log_redaction() -> None:
    """Attach the filter to httpx/httpcore loggers (filters do not inherit to child loggers)."""
    for name in _filtered_loggers:
        logger = logging.getLogger(name)
        if _filter not in logger.filters:
            logger.addFilter(_filter)
