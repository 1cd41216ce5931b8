"""The official google-api-python-client, pointed at the emulator, must just work."""

from __future__ import annotations

import json
from pathlib import Path

import googleapiclient
import httplib2
import httpx
import pytest
from googleapiclient.discovery import build_from_document
from googleapiclient.errors import HttpError

from channel_assets.emulator import DEFAULT_API_KEY, EmulatorServer

DOC = json.loads((Path(googleapiclient.__file__).parent / "discovery_cache/documents/youtube.v3.json").read_text())
_TYPES = {"string": str, "boolean": bool, "integer": int, "number": (int, float), "object": dict, "array": list}


@pytest.fixture
def youtube(emulator: EmulatorServer):  # noqa: ANN201 - googleapiclient Resource is dynamic
    doc = dict(DOC, rootUrl=emulator.base_url + "/", baseUrl=emulator.base_url + "/")
    return build_from_document(doc, developerKey=DEFAULT_API_KEY, http=httplib2.Http())


def _busiest(emulator: EmulatorServer) -> int:
    return max(range(emulator.world.channels), key=emulator.world.upload_count)


def test_official_client_lists_channels_videos_and_pages(emulator: EmulatorServer, youtube) -> None:  # noqa: ANN001
    w = emulator.world
    i = _busiest(emulator)
    cid = w.channel_id(i)
    got = youtube.channels().list(part="snippet,statistics,contentDetails", id=f"{cid},{w.channel_id(1)}").execute()
    assert cid in [c["id"] for c in got["items"]]
    uploads = next(c for c in got["items"] if c["id"] == cid)["contentDetails"]["relatedPlaylists"]["uploads"]
    vids = [v for v, _ in w.uploads(i, 0, 3)]
    videos = youtube.videos().list(part="snippet,contentDetails,statistics", id=",".join(vids)).execute()
    assert [v["id"] for v in videos["items"]] == vids
    seen = []
    request = youtube.playlistItems().list(part="contentDetails", playlistId=uploads, maxResults=50)
    while request is not None:
        page = request.execute()
        seen += [it["contentDetails"]["videoId"] for it in page["items"]]
        request = youtube.playlistItems().list_next(request, page)
    assert seen == [v for v, _ in w.uploads(i, 0, 10_000)] and len(seen) == w.upload_count(i)


def _check(value: object, schema: dict, path: str) -> None:
    """Every key the emulator emits exists in the discovery schema with the right JSON type."""
    if "$ref" in schema:
        schema = DOC["schemas"][schema["$ref"]]
    kind = schema.get("type")
    if kind:
        assert isinstance(value, _TYPES[kind]) and not (kind == "integer" and isinstance(value, bool)), path
    if isinstance(value, dict):
        props, extra = schema.get("properties"), schema.get("additionalProperties")
        for k, v in value.items():
            sub = props.get(k) if props else extra
            assert sub is not None, f"{path}.{k} is not in the discovery schema"
            _check(v, sub, f"{path}.{k}")
    elif isinstance(value, list):
        for n, v in enumerate(value):
            _check(v, schema["items"], f"{path}[{n}]")


def test_responses_match_discovery_schemas(emulator: EmulatorServer, client: httpx.Client) -> None:
    w = emulator.world
    i = _busiest(emulator)
    all_parts = {"part": "id,snippet,statistics,contentDetails,status"}
    ids = ",".join(w.channel_id(n) for n in range(40))
    _check(client.get("/youtube/v3/channels", params=all_parts | {"id": ids}).json(),
           {"$ref": "ChannelListResponse"}, "channels")
    vids = ",".join(v for v, _ in w.uploads(i, 0, 50))
    _check(client.get("/youtube/v3/videos", params=all_parts | {"id": vids}).json(),
           {"$ref": "VideoListResponse"}, "videos")
    params = {"part": "id,snippet,contentDetails,status", "playlistId": "UU" + w.channel_id(i)[2:], "maxResults": 7}
    page1 = client.get("/youtube/v3/playlistItems", params=params).json()
    page2 = client.get("/youtube/v3/playlistItems", params=params | {"pageToken": page1["nextPageToken"]}).json()
    for page in (page1, page2):
        _check(page, {"$ref": "PlaylistItemListResponse"}, "playlistItems")
    assert "prevPageToken" in page2


def test_official_client_lists_videos_with_parts_and_fields(emulator: EmulatorServer, youtube) -> None:  # noqa: ANN001
    """googleapiclient's videos().list, every listed availability among the ids, each answer valid against
    the discovery document's VideoListResponse."""
    w = emulator.world
    i = _busiest(emulator)
    vids = [v for v, _ in w.uploads(i, 0, 50)]
    for vid, status in zip(vids, ("deleted", "private", "rejected:termsOfUse", "failed:codec", "blocked:DE",
                                  "allowed:US,CA"), strict=False):
        w.set_video_status(vid, status)
    full = youtube.videos().list(part="id,snippet,contentDetails,statistics,status,player", id=",".join(vids)).execute()
    _check(full, {"$ref": "VideoListResponse"}, "videos")
    assert [v["id"] for v in full["items"]] == vids[2:] and full["pageInfo"]["totalResults"] == 48
    assert full["items"][0]["status"]["rejectionReason"] == "termsOfUse"
    assert full["items"][2]["contentDetails"]["regionRestriction"] == {"blocked": ["DE"]}
    fields = ("items(id,snippet(title,description,tags,thumbnails/default/url),contentDetails(duration,"
              "regionRestriction),statistics,status(privacyStatus,uploadStatus,embeddable)),pageInfo")
    part = youtube.videos().list(part="snippet,contentDetails,statistics,status", id=vids[:10], fields=fields,
                                 maxResults=50).execute()
    _check(part, {"$ref": "VideoListResponse"}, "videos")
    assert [v["id"] for v in part["items"]] == vids[2:10] and set(part) == {"items", "pageInfo"}
    assert {v["status"]["uploadStatus"] for v in part["items"]} == {"rejected", "failed", "processed"}
    none = youtube.videos().list(part="id", id="AAAAAAAAAAA").execute()
    assert none["items"] == [] and none["pageInfo"]["totalResults"] == 0
    with pytest.raises(HttpError) as err:
        youtube.videos().list(part="snippet", id=vids + vids[:1] + ["x"]).execute()
    assert err.value.resp.status == 400
