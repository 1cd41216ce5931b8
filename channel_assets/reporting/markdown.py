"""Markdown for Dagster metadata that shows untrusted text (channel titles) as text, never as markup."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from channel_assets.youtube.redaction import redact

_MD_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_{}[]()#+-!|>~"})


def md_escape(value: object, limit: int = 80) -> str:
    """Escape a cell: HTML entities, markdown punctuation, no newlines, bounded length, secrets redacted."""
    text = redact("" if value is None else str(value))
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return html.escape(text, quote=False).translate(_MD_SPECIAL)


def md_table(headers: Sequence[str], rows: Iterable[Sequence[object]], empty: str = "_none_") -> str:
    rows = list(rows)
    if not rows:
        return empty
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(md_escape(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
