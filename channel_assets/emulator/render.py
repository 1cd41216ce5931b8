"""Channel items as compiled string templates: the hot path of a full refresh.

A template is fixed per (parts, ``fields`` subtree, channel shape), where the shape says
whether the channel has a country and a visible subscriber count: with those two known,
every member and comma is known too, so rendering one channel is a single ``bytes.join``
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
_THUMB_PX = (("default", 88), ("medium", 240), ("high", 800))
ITEM_HEAD = b'{"kind":"youtube#channel","etag":"'

Renderer = Callable[[ChannelState, bytes], bytes]


@lru_cache(maxsize=4096)
def _text(value: str) -> bytes:
    """A JSON string as UTF-8: titles and descriptions come from small pools, descriptions are long."""
    return _enc(value).encode()


class Expr(str):
    """A Python expression giving JSON bytes from ``c`` (ChannelState), ``etag`` (bytes), ``title`` and
    ``desc`` (JSON bytes) or ``thumb`` (bytes); plain ``str`` in a template is literal JSON."""


def _q(expr: str) -> tuple:
    """A JSON string from a str expression known to need no escaping."""
    return '"', Expr(f"({expr}).encode()"), '"'


def _count(expr: str) -> tuple:
    return '"', Expr(f"b'%d' % {expr}"), '"'


def _template(parts: frozenset[str], country: bool, subscribers: bool) -> list:
    """The members of a channel item in wire order: ``[(name, node)]``, a node being a child list (a
    JSON object), a tuple of literal text and ``Expr`` pieces, or literal JSON text."""
    item: list = [("kind", '"youtube#channel"'), ("etag", ('"', Expr("etag"), '"')), ("id", _q("c.id"))]
    if "snippet" in parts:
        thumbs = [(name, [("url", ('"', Expr("thumb"), f'=s{px}-c-k-c0x00ffffff-no-rj"')), ("width", str(px)),
                          ("height", str(px))]) for name, px in _THUMB_PX]
        title, desc = (Expr("title"),), (Expr("desc"),)
        snippet = [("title", title), ("description", desc), ("customUrl", (Expr("_enc(c.custom_url).encode()"),)),
                   ("publishedAt", _q("c.published_at")), ("thumbnails", thumbs),
                   ("localized", [("title", title), ("description", desc)])]
        item.append(("snippet", snippet + ([("country", _q("c.country"))] if country else [])))
    if "contentDetails" in parts:
        item.append(("contentDetails", [("relatedPlaylists", [("likes", '""'),
                                                              ("uploads", _q("'UU' + c.id[2:]"))])]))
    if "statistics" in parts:
        item.append(("statistics", [
            ("viewCount", _count("c.view_count")),
            *([("subscriberCount", _count("c.subscriber_count"))] if subscribers else []),
            ("hiddenSubscriberCount", (Expr("(b'true' if c.hidden_subscriber_count else b'false')"),)),
            ("videoCount", _count("c.video_count")),
        ]))
    if "status" in parts:
        item.append(("status", [("privacyStatus", '"public"'), ("isLinked", "true"),
                                ("longUploadsStatus", '"longUploadsUnspecified"'), ("madeForKids", "false")]))
    return item


def pieces(children: list, tree: dict | None) -> list[str]:
    """An object's JSON as literal text and ``Expr`` pieces, filtered by a ``fields`` tree.

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
    out = ["{"]
    for n, ((name, node), sub) in enumerate(chosen):
        out.append(("," if n else "") + json.dumps(name) + ":")
        out += pieces(node, sub) if isinstance(node, list) else node if isinstance(node, tuple) else [node]
    out.append("}")
    return out


def join_source(parts: list[str]) -> str:
    """Python source of a tuple's items that ``b"".join`` turns into the JSON: adjacent literals merged
    into one bytes constant, expressions as they are."""
    merged: list[str] = []
    for piece in parts:
        if merged and not isinstance(piece, Expr) and not isinstance(merged[-1], Expr):
            merged[-1] += piece
        else:
            merged.append(piece)
    return ", ".join(str(p) if isinstance(p, Expr) else repr(p.encode()) for p in merged)


def _compile(parts: list[str]) -> Renderer:
    """``render(c, etag)`` joining the pieces."""
    joined = join_source(parts)
    src = "\n".join([
        "def render(c, etag):",
        "    title = _text(c.title)",
        "    desc = _text(c.description)",
        "    thumb = b'https://yt3.ggpht.com/ytc/' + c.thumbnail_key.encode()",
        f"    return b''.join(({joined},))\n",
    ])
    scope = {"_enc": _enc, "_text": _text}
    exec(compile(src, "<channel renderer>", "exec"), scope)  # noqa: S102 - generated from a fixed template
    return scope["render"]


def shape(c: ChannelState) -> int:
    """Which of a tuple of renderers fits ``c``: by country, and subscriber count shown or hidden."""
    return 2 * bool(c.country) + (c.subscriber_count is not None)


@lru_cache(maxsize=256)
def renderers(parts: frozenset[str], items_tree: str | None) -> tuple[Renderer, ...]:
    """``render(c, etag) -> JSON bytes`` per ``shape``. ``items_tree`` is the ``repr`` of the ``fields`` subtree for
    each item (plain strings, dicts and None, so ``repr`` is a faithful, hashable key), or None for
    the item's body without kind and etag, ``{"id":…}`` (what the etag is a hash of)."""
    out = []
    for n in range(4):
        template = _template(parts, n >= 2, n % 2 == 1)
        if items_tree is None:
            out.append(_compile(pieces(template[2:], None)))
        else:
            out.append(_compile(pieces(template, ast.literal_eval(items_tree))))
    return tuple(out)
