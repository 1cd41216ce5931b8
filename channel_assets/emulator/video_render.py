"""Video items as compiled templates: videos.list's hot path (a metadata refresh reads 50 per call).

As for channels (``render``): a template is fixed per (parts, ``fields`` subtree, shape), the
shape saying which optional members a video has (``VideoState.shape``: thumbnail sizes, tags,
likeCount, commentCount, upload status, region restriction). With those known every member and
comma is known, so rendering a video is one ``bytes.join`` of constant text and its values.
Templates are compiled on first use of a shape. The plain reference (a dict per video,
``select_fields``, ``json.dumps``) lives in the tests.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from functools import lru_cache

from channel_assets.emulator.hashing import etag
from channel_assets.emulator.render import Expr, join_source, pieces
from channel_assets.emulator.videos import THUMBNAIL_SIZES, VideoState
from channel_assets.emulator.world import iso

ITEM_KIND = "youtube#video"
EMBED_HTML = ('<iframe width="480" height="270" src="//www.youtube.com/embed/{id}" frameborder="0" allow="accelerometer; '
              'autoplay; clipboard-write; encrypted-media; gyroscope; picture-in-picture; web-share" '
              'referrerpolicy="strict-origin-when-cross-origin" allowfullscreen></iframe>')
SHAPES = 216  # 3 thumbnail sets x tags x likes x comments x 3 upload statuses x 3 region kinds
_enc = json.encoder.encode_basestring  # the C string escaper json.dumps(ensure_ascii=False) uses

Renderer = Callable[[VideoState, bytes], bytes]


@lru_cache(maxsize=32_768)
def _text(value: str) -> bytes:
    """A JSON string as UTF-8: titles and descriptions come from pools, descriptions are long."""
    return _enc(value).encode()


@lru_cache(maxsize=8192)
def _strings(values: tuple[str, ...]) -> bytes:
    """A JSON array of strings (tags, region codes: pooled tuples)."""
    return b"[" + b",".join(_text(v) for v in values) + b"]"


def video_key(v: VideoState, parts_key: bytes) -> bytes:
    """Everything a video's item can show under ``parts_key`` (versions stand in for the texts they
    pick): equal keys, equal items."""
    tv, dv, rev = v.revision
    return (f"{v.id}|{v.title}|{v.channel_title}|{tv}|{dv}|{rev}|{v.view_count}|{v.like_count}|{v.comment_count}|"
            f"{v.shape}|{v.upload_reason}|{v.region_restriction}|".encode() + parts_key)


def video_list_etag(keys: list[bytes]) -> str:
    """A videos.list answer's ETag: a hash of its items' keys (an item's ETag is ``etag(key)``), so it
    changes when any item does, and costs no per-item hash when ``fields`` leaves item ETags out."""
    return etag(b"\n".join(keys) + b"|%d" % len(keys)).decode()


def _q(expr: str) -> tuple:
    """A JSON string from a str expression known to need no escaping."""
    return '"', Expr(f"({expr}).encode()"), '"'


def _count(expr: str) -> tuple:
    return '"', Expr(f"b'%d' % {expr}"), '"'


def _bool(expr: str) -> tuple:
    return (Expr(f"(b'true' if {expr} else b'false')"),)


def _template(parts: frozenset[str], shape: int) -> list:
    """The members of a video item in wire order (the recorded fixtures' order of parts)."""
    thumbs, tags, likes = shape % 3 + 3, shape // 3 % 2, shape // 6 % 2
    comments, upload, region = shape // 12 % 2, shape // 24 % 3, shape // 72
    vid = Expr("vid")
    item: list = [("kind", f'"{ITEM_KIND}"'), ("etag", ('"', Expr("etag"), '"')), ("id", ('"', vid, '"'))]
    if "snippet" in parts:
        title, desc = (Expr("title"),), (Expr("desc"),)
        item.append(("snippet", [
            ("publishedAt", _q("iso(v.published_ts)")), ("channelId", _q("v.channel_id")),
            ("title", title), ("description", desc),
            ("thumbnails", [(name, [("url", ('"https://i.ytimg.com/vi/', vid, f'/{file}.jpg"')), ("width", str(w)),
                                    ("height", str(h))]) for name, file, w, h in THUMBNAIL_SIZES[:thumbs]]),
            ("channelTitle", (Expr("_text(v.channel_title)"),)),
            *([("tags", (Expr("_strings(v.tags)"),))] if tags else []),
            ("categoryId", _q("v.category_id")), ("liveBroadcastContent", '"none"'),
            ("localized", [("title", title), ("description", desc)]),
        ]))
    if "contentDetails" in parts:
        restriction = [("regionRestriction", [(("blocked", "allowed")[region - 1],
                                               (Expr("_strings(v.region_restriction[1])"),))])] if region else []
        item.append(("contentDetails", [
            ("duration", _q("v.duration")), ("dimension", '"2d"'), ("definition", _q("v.definition")),
            ("caption", _q("v.caption")), ("licensedContent", _bool("v.licensed_content")), *restriction,
            ("contentRating", "{}"), ("projection", '"rectangular"'),
        ]))
    if "status" in parts:
        reason = [(("rejectionReason", "failureReason")[upload - 1], _q("v.upload_reason"))] if upload else []
        item.append(("status", [
            ("uploadStatus", ('"processed"', '"rejected"', '"failed"')[upload]), *reason,
            ("privacyStatus", _q("v.privacy_status")), ("license", _q("v.license")),
            ("embeddable", _bool("v.embeddable")), ("publicStatsViewable", _bool("v.public_stats_viewable")),
            ("madeForKids", _bool("v.made_for_kids")),
        ]))
    if "statistics" in parts:
        item.append(("statistics", [
            ("viewCount", _count("v.view_count")), *([("likeCount", _count("v.like_count"))] if likes else []),
            ("favoriteCount", '"0"'), *([("commentCount", _count("v.comment_count"))] if comments else []),
        ]))
    if "player" in parts:
        before, after = json.dumps(EMBED_HTML, ensure_ascii=False).split("{id}")
        item.append(("player", [("embedHtml", (before, vid, after))]))
    return item


_PROLOGUE = (("vid", "    vid = v.id.encode()"), ("title", "    title = _text(v.title)"),
             ("desc", "    desc = _text(v.description)"))


def _compile(parts: list[str]) -> Renderer:
    """``render(v, etag)`` joining the pieces; computes only the values its pieces use."""
    joined = join_source(parts)
    used = {str(p) for p in parts if isinstance(p, Expr)}
    src = "\n".join(["def render(v, etag):", *(line for name, line in _PROLOGUE if name in used),
                     f"    return b''.join(({joined},))\n"])
    scope = {"_text": _text, "_strings": _strings, "iso": iso}
    exec(compile(src, "<video renderer>", "exec"), scope)  # noqa: S102 - generated from a fixed template
    return scope["render"]


class VideoRenderers:
    """``render(v, etag) -> item JSON`` per shape, for one part set and ``fields`` subtree, compiled on
    first use. ``items_tree`` is the ``repr`` of the subtree each item is filtered by, or None for
    whole items."""

    def __init__(self, parts: frozenset[str], items_tree: str | None) -> None:
        self._parts = parts
        self._tree = None if items_tree is None else ast.literal_eval(items_tree)
        self._table: list[Renderer | None] = [None] * SHAPES
        self.shows_etag = Expr("etag") in pieces(_template(parts, 0), self._tree)  # the same in every shape

    def __getitem__(self, shape: int) -> Renderer:
        render = self._table[shape]
        if render is None:
            render = self._table[shape] = _compile(pieces(_template(self._parts, shape), self._tree))
        return render


@lru_cache(maxsize=256)
def video_renderers(parts: frozenset[str], items_tree: str | None) -> VideoRenderers:
    return VideoRenderers(parts, items_tree)
