"""videos.list's compiled templates must answer byte for byte what a plain rendering does: a dict per
video built the obvious way from ``World.video``, ``select_fields`` and ``json.dumps``.

The ETags (hashes of each video's state key, ``video_key``) are shared with the reference: what is
checked here is rendering, ``fields`` selection, part sets, shapes and the list around the items.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from datetime import timedelta
from urllib.parse import quote

import pytest

from channel_assets.emulator.api import compact_json, parse_fields, select_fields
from channel_assets.emulator.hashing import etag as item_etag
from channel_assets.emulator.server import Emulator
from channel_assets.emulator.video_render import EMBED_HTML, video_key, video_list_etag
from channel_assets.emulator.videos import THUMBNAIL_SIZES, VideoState
from channel_assets.emulator.world import World, iso
from channel_assets_tests.emulator.test_fast_paths import _random_selector

REFRESH_FIELDS = ("items(id,snippet(title,description,tags,thumbnails/default/url),contentDetails(duration,"
                  "regionRestriction),statistics,status(privacyStatus,uploadStatus,embeddable))")
SELECTORS = [
    REFRESH_FIELDS, "items(id)", "items/snippet/title,etag", "*", "items(*)", "items", "kind,etag", "pageInfo",
    "items(snippet(thumbnails/*/url))", "items(statistics,id),pageInfo/totalResults", "items(bogus)",
    "items(snippet/tags,contentDetails/regionRestriction/blocked)", "items/id/x", "pageInfo,items(etag,kind)", "*(id)",
    "items(status(rejectionReason,failureReason),statistics(likeCount,commentCount))", "items(*(*))", "nextPageToken",
    "items(contentDetails(contentRating/x,regionRestriction(*)),player)", "items(snippet(localized,tags))",
]
_PARTS = ("id", "snippet", "contentDetails", "status", "statistics", "player")
_SHAPE = {"kind": None, "etag": None, "pageInfo": {"totalResults": None, "resultsPerPage": None},
          "items": {"kind": None, "etag": None, "id": None,
                    "snippet": {"publishedAt": None, "channelId": None, "title": None, "description": None,
                                "thumbnails": {n: {"url": None, "width": None, "height": None}
                                               for n in ("default", "medium", "high", "standard", "maxres")},
                                "channelTitle": None, "tags": None, "categoryId": None, "localized": {"title": None}},
                    "contentDetails": {"duration": None, "definition": None, "contentRating": None,
                                       "regionRestriction": {"blocked": None, "allowed": None}},
                    "status": {"uploadStatus": None, "rejectionReason": None, "failureReason": None,
                               "privacyStatus": None, "embeddable": None},
                    "statistics": {"viewCount": None, "likeCount": None, "commentCount": None},
                    "player": {"embedHtml": None}}}


def plain_item(v: VideoState, parts: set[str], etag: str) -> dict:
    """A video resource built the obvious way, members in the recorded fixtures' order."""
    item: dict = {"kind": "youtube#video", "etag": etag, "id": v.id}
    if "snippet" in parts:
        snippet = {"publishedAt": iso(v.published_ts), "channelId": v.channel_id, "title": v.title,
                   "description": v.description,
                   "thumbnails": {name: {"url": f"https://i.ytimg.com/vi/{v.id}/{file}.jpg", "width": w, "height": h}
                                  for name, file, w, h in THUMBNAIL_SIZES[:v.thumbnails]},
                   "channelTitle": v.channel_title}
        if v.tags:
            snippet["tags"] = list(v.tags)
        item["snippet"] = snippet | {"categoryId": v.category_id, "liveBroadcastContent": "none",
                                     "localized": {"title": v.title, "description": v.description}}
    if "contentDetails" in parts:
        details = {"duration": v.duration, "dimension": "2d", "definition": v.definition, "caption": v.caption,
                   "licensedContent": v.licensed_content}
        if v.region_restriction:
            details["regionRestriction"] = {v.region_restriction[0]: list(v.region_restriction[1])}
        item["contentDetails"] = details | {"contentRating": {}, "projection": "rectangular"}
    if "status" in parts:
        status = {"uploadStatus": v.upload_status}
        if v.upload_status != "processed":
            status[{"rejected": "rejectionReason", "failed": "failureReason"}[v.upload_status]] = v.upload_reason
        item["status"] = status | {"privacyStatus": v.privacy_status, "license": v.license, "embeddable": v.embeddable,
                                   "publicStatsViewable": v.public_stats_viewable, "madeForKids": v.made_for_kids}
    if "statistics" in parts:
        item["statistics"] = {"viewCount": str(v.view_count)} | (
            {} if v.likes_hidden else {"likeCount": str(v.like_count)}) | {"favoriteCount": "0"} | (
            {} if v.comments_disabled else {"commentCount": str(v.comment_count)})
    if "player" in parts:
        item["player"] = {"embedHtml": EMBED_HTML.format(id=v.id)}
    return item


def plain_answer(world: World, ids: list[str], parts: set[str], fields: str | None) -> tuple[bytes, str]:
    """The whole videos.list answer, from ``World.video`` per id."""
    parts_key = ",".join(sorted(parts)).encode()
    listed = [v for v in (world.video(vid) for vid in dict.fromkeys(ids)) if v is not None and v.listed]
    keys = [video_key(v, parts_key) for v in listed]
    items = [plain_item(v, parts, item_etag(key).decode()) for v, key in zip(listed, keys, strict=True)]
    etag = video_list_etag(keys)
    answer = {"kind": "youtube#videoListResponse", "etag": etag, "items": items,
              "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)}}
    return compact_json(answer if fields is None else select_fields(answer, parse_fields(fields))), etag


@pytest.fixture(scope="module")
def world() -> World:
    w = World(300, seed=13)
    w.advance(days=40)  # some videos gone, blocked, retitled; some channels gone
    return w


def _ids(world: World, rng: random.Random, n: int) -> list[str]:
    i = rng.randrange(world.channels)
    return [world.video_id((i + rng.randrange(40)) % world.channels, rng.randrange(300)) for _ in range(n)]


def _get(em: Emulator, ids: list[str], part: str, fields: str | None, per_page: str | None = None):  # noqa: ANN202
    target = f"/youtube/v3/videos?part={part}&id={quote(','.join(ids))}&key=k"
    target += f"&fields={quote(fields)}" if fields else ""
    target += f"&maxResults={per_page}" if per_page else ""
    return em.respond("GET", target, {}, b"")


@pytest.mark.parametrize("fields", [None, *SELECTORS])
@pytest.mark.parametrize("part", ["snippet,contentDetails,statistics,status", "id", "statistics", "status,player",
                                  "contentDetails,snippet"])
def test_videos_fields_equal_plain_rendering(world: World, part: str, fields: str | None) -> None:
    em = Emulator(world, ["k"], 10**6)
    rng = random.Random(hash((part, fields)) % 1000)
    for _ in range(3):
        ids = _ids(world, rng, 50)
        got = _get(em, ids, part, fields)
        want, etag = plain_answer(world, ids, set(part.split(",")), fields)
        assert (got.status, got.body, got.headers) == (200, want, {"ETag": f'"{etag}"'})


def test_every_reachable_shape_renders_like_the_plain_item() -> None:
    """Each of the 24 combinations of thumbnail set, tags, likes and comments, under each availability that
    is listed: 120 shapes (an upload status and a region restriction never come together)."""
    w = World(3000, seed=13)
    base: dict[int, str] = {}
    for i in range(w.channels):
        for vid, _ in w.uploads(i, 0, 300):
            base.setdefault(w.video(vid).shape % 24, vid)
        if len(base) == 24:
            break
    assert len(base) == 24
    em = Emulator(w, ["k"], 10**6)
    shapes = set()
    for status in ("public", "rejected:duplicate", "failed:codec", "blocked:JP", "allowed:US,CA,MX"):
        for vid in base.values():
            w.set_video_status(vid, status)
            shapes.add(w.video(vid).shape)
        for fields in (None, REFRESH_FIELDS, "items(snippet(thumbnails,tags),statistics,status,contentDetails)"):
            got = _get(em, list(base.values()), ",".join(_PARTS), fields)
            assert got.body == plain_answer(w, list(base.values()), set(_PARTS), fields)[0]
    assert len(shapes) == 120


def test_fast_path_equals_plain_one_across_clock_mutations_and_odd_ids() -> None:
    rng = random.Random(17)
    w = World(200, seed=19)
    em = Emulator(w, ["k"], 10**9)
    odd = ["AAAAAAAAAAA", "short", "", " x", w.video_id(5, 511), w.video_id(199, 0)]
    uploads: list[str] = []
    for step in range(50):
        if step % 3 == 0:
            w.advance(hours=rng.choice([0.5, 7, 25, 24 * 9, 24 * 60]))
        i = rng.randrange(200)
        vid = w.video_id(i, rng.randrange(200))
        mutation = rng.randrange(7)
        if mutation == 0:
            w.set_video_status(vid, rng.choice(["deleted", "private", "public", "rejected", "failed:uploadAborted",
                                                "blocked:DE,PL", "allowed:BR"]))
        elif mutation == 1:
            w.set_video_title(vid, rng.choice(['Tab\there "quoted" \\ ✨', "", "</script>\u2028"]))
        elif mutation == 2:
            w.set_video_description(vid, rng.choice(["", "é" * 300, "line\nline"]))
        elif mutation == 3:
            w.set_status(i, rng.choice(["active", "deleted", "private", "terminated"]))
        elif mutation == 4:
            uploads.append(w.add_upload(i, w.now + timedelta(hours=rng.choice([-5, 1])), rng.choice([None, "Up ✨"])))
        elif mutation == 5:
            w.set_title(i, "Renamed \" channel")
        for _ in range(3):
            ids = _ids(w, rng, rng.randint(1, 44)) + rng.sample(odd, 2) + uploads[-3:]
            ids += ids[:2]  # duplicates count once
            part = ",".join(rng.sample(_PARTS, rng.randint(1, len(_PARTS))))
            fields = rng.choice([None, REFRESH_FIELDS, *SELECTORS[:6], _random_selector(rng, _SHAPE)])
            got = _get(em, ids, part, fields, rng.choice([None, "1", "50"]))
            want, etag = plain_answer(w, ids, set(part.split(",")), fields)
            assert (got.status, got.body, got.headers) == (200, want, {"ETag": f'"{etag}"'}), (step, part, fields)
    all_ids = [w.video_id(i, k) for i in range(200) for k in range(0, 300, 7)] + odd + uploads
    assert w.video_states(all_ids) == [w.video(v) for v in all_ids]


def test_answer_is_valid_json_with_the_recorded_key_order(world: World) -> None:
    em = Emulator(world, ["k"], 10**6)
    body = json.loads(_get(em, _ids(world, random.Random(3), 50), "snippet,contentDetails,statistics,status",
                           None).body)
    assert list(body) == ["kind", "etag", "items", "pageInfo"]
    assert list(body["items"][0]) == ["kind", "etag", "id", "snippet", "contentDetails", "status", "statistics"]


@pytest.mark.parametrize("size", [0, 1, 2046, 2047, 2048, 4094, 4095, 6000, 70_001])
def test_etag_fed_in_pieces_is_the_sha1_of_the_whole(size: int) -> None:
    data = random.Random(size).randbytes(size)
    whole = base64.urlsafe_b64encode(hashlib.sha1(data).digest()).rstrip(b"=")
    assert item_etag(data) == whole and len(whole) == 27
