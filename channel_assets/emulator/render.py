"""Channel items as compiled string templates: the hot path of a full refresh.

A template is fixed per (parts, ``fields`` subtree, channel shape), where the shape says
whether the channel has a country and a visible subscriber count: with those two known,
every member and comma is known too, so rendering one channel is a single ``str.join``
of constant text and its few varying values. The generic ``select_fields`` over the
parsed plain answer is the reference (``test_fast_paths``).
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from functools import lru_cache

from channel_assets.emulator.world import ChannelState

_enc = json.encoder.encode_basestring  # the C string escaper json.dumps(ensure_ascii=False) uses
_enc_cached = lru_cache(maxsize=1024)(_enc)  # descriptions come from a small pool and are long
_THUMB_PX = (("default", 88), ("medium", 240), ("high", 800))
ITEM_HEAD = b'{"kind":"youtube#channel","etag":"'

Renderer = Callable[[ChannelState, str], str]


def _template(parts: frozenset[str], country: bool, subscribers: bool) -> list:
    """The members of a channel item in wire order: ``[(name, node)]``, a node being a child list (a
    JSON object) or a Python expression giving the value's JSON text from ``c`` (ChannelState),
    ``etag``, ``title``/``desc`` (already JSON-encoded) and ``thumb``."""
    def q(expr: str) -> str:  # a JSON string from an expression known to need no escaping
        return f"'\"' + {expr} + '\"'"

    def lit(value: str) -> str:
        return repr(json.dumps(value))

    item: list = [("kind", lit("youtube#channel")), ("etag", q("etag")), ("id", q("c.id"))]
    if "snippet" in parts:
        thumbs = [(name, [("url", q(f"thumb + '=s{px}-c-k-c0x00ffffff-no-rj'")), ("width", repr(str(px))),
                          ("height", repr(str(px)))]) for name, px in _THUMB_PX]
        snippet = [("title", "title"), ("description", "desc"), ("customUrl", "_enc(c.custom_url)"),
                   ("publishedAt", q("c.published_at")), ("thumbnails", thumbs),
                   ("localized", [("title", "title"), ("description", "desc")])]
        item.append(("snippet", snippet + ([("country", q("c.country"))] if country else [])))
    if "contentDetails" in parts:
        item.append(("contentDetails", [("relatedPlaylists", [("likes", lit("")),
                                                              ("uploads", q("'UU' + c.id[2:]"))])]))
    if "statistics" in parts:
        item.append(("statistics", [
            ("viewCount", q("str(c.view_count)")),
            *([("subscriberCount", q("str(c.subscriber_count)"))] if subscribers else []),
            ("hiddenSubscriberCount", "('true' if c.hidden_subscriber_count else 'false')"),
            ("videoCount", q("str(c.video_count)")),
        ]))
    if "status" in parts:
        item.append(("status", [("privacyStatus", lit("public")), ("isLinked", "'true'"),
                                ("longUploadsStatus", lit("longUploadsUnspecified")), ("madeForKids", "'false'")]))
    return item


def _pieces(children: list, tree: dict | None) -> list[tuple[bool, str]]:
    """An object's JSON text as ``[(is_literal, text or expression)]``, filtered by a ``fields`` tree.

    Mirrors ``select_fields``: ``None`` keeps everything, ``*`` applies its subtree to every key in
    wire order (other names beside it are ignored), otherwise the selected names in selector order;
    scalars ignore any subtree.
    """
    if tree is None:
        chosen = [(child, None) for child in children]
    elif "*" in tree:
        chosen = [(child, tree["*"]) for child in children]
    else:
        by_name = dict(children)
        chosen = [((name, by_name[name]), sub) for name, sub in tree.items() if name in by_name]
    out = [(True, "{")]
    for n, ((name, node), sub) in enumerate(chosen):
        out.append((True, ("," if n else "") + json.dumps(name) + ":"))
        out += _pieces(node, sub) if isinstance(node, list) else [(False, node)]
    out.append((True, "}"))
    return out


def _compile(pieces: list[tuple[bool, str]]) -> Renderer:
    """``render(c, etag)`` joining the pieces, adjacent literals merged into one constant."""
    merged: list[tuple[bool, str]] = []
    for literal, text in pieces:
        if literal and merged and merged[-1][0]:
            merged[-1] = (True, merged[-1][1] + text)
        else:
            merged.append((literal, text))
    joined = ", ".join(repr(text) if literal else text for literal, text in merged)
    src = "\n".join([
        "def render(c, etag):",
        "    title = _enc(c.title)",
        "    desc = _enc_cached(c.description)",
        "    thumb = 'https://yt3.ggpht.com/ytc/' + c.thumbnail_key",
        f"    return ''.join(({joined},))\n",
    ])
    scope = {"_enc": _enc, "_enc_cached": _enc_cached}
    exec(compile(src, "<channel renderer>", "exec"), scope)  # noqa: S102 - generated from a fixed template
    return scope["render"]


def shape(c: ChannelState) -> int:
    """Which of a tuple of renderers fits ``c``: by country, and subscriber count shown or hidden."""
    return 2 * bool(c.country) + (c.subscriber_count is not None)


@lru_cache(maxsize=256)
def renderers(parts: frozenset[str], items_tree: str | None) -> tuple[Renderer, ...]:
    """``render(c, etag)`` per ``shape``. ``items_tree`` is the ``repr`` of the ``fields`` subtree for
    each item (plain strings, dicts and None, so ``repr`` is a faithful, hashable key), or None for
    the item's body without kind and etag, ``{"id":…}`` (what the etag is a hash of)."""
    out = []
    for n in range(4):
        template = _template(parts, n >= 2, n % 2 == 1)
        if items_tree is None:
            out.append(_compile(_pieces(template[2:], None)))
        else:
            out.append(_compile(_pieces(template, ast.literal_eval(items_tree))))
    return tuple(out)
