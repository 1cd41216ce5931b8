"""videos.list over real HTTP: parts, ids, fields, errors, quota, faults, and the /_emulator/videos controls."""

from __future__ import annotations

import httpx
import pytest

from channel_assets.emulator import DEFAULT_API_KEY, EmulatorServer
from channel_assets.emulator.world import World

PARTS = "snippet,contentDetails,statistics,status"


def _error(r: httpx.Response) -> dict:
    return r.json()["error"]["errors"][0]


def _videos(w: World, n: int, skip: int = 0) -> list[str]:
    """``n`` listed videos of the world, a few per channel."""
    out = [vid for i in range(w.channels) for vid, _ in w.uploads(i, 0, 5)]
    return out[skip:skip + n]


def _with(w: World, flag: str) -> str:
    """A listed video whose ``VideoState`` has ``flag`` set."""
    return next(vid for i in range(w.channels) for vid, _ in w.uploads(i, 0, 300) if getattr(w.video(vid), flag))


def test_parts_and_the_items_they_bring(emulator: EmulatorServer, client: httpx.Client) -> None:
    vids = _videos(emulator.world, 3)
    body = client.get("/youtube/v3/videos", params={"part": "id", "id": ",".join(vids)}).json()
    assert [list(v) for v in body["items"]] == [["kind", "etag", "id"]] * 3
    assert body["pageInfo"] == {"totalResults": 3, "resultsPerPage": 3}
    body = client.get("/youtube/v3/videos", params={"part": PARTS + ",player", "id": ",".join(vids)}).json()
    item = body["items"][0]
    assert list(item) == ["kind", "etag", "id", "snippet", "contentDetails", "status", "statistics", "player"]
    assert item["snippet"]["thumbnails"]["default"]["url"] == f"https://i.ytimg.com/vi/{vids[0]}/default.jpg"
    assert all(isinstance(v, str) and v.isdigit() for v in item["statistics"].values())
    assert item["status"]["uploadStatus"] == "processed" and item["status"]["privacyStatus"] == "public"
    assert vids[0] in item["player"]["embedHtml"]


def test_part_errors(client: httpx.Client) -> None:
    r = client.get("/youtube/v3/videos", params={"part": "snippet,bogus", "id": "x"})
    assert r.status_code == 400 and _error(r) == {"message": "'bogus'", "domain": "youtube.part",
                                                  "reason": "unknownPart", "location": "part",
                                                  "locationType": "parameter"}
    r = client.get("/youtube/v3/videos", params={"id": "x"})
    assert r.status_code == 400 and _error(r)["reason"] == "required"


def test_id_lists(emulator: EmulatorServer, client: httpx.Client) -> None:
    vids = _videos(emulator.world, 51)
    r = client.get("/youtube/v3/videos", params={"part": "id", "id": ",".join(vids[:50])})
    assert r.status_code == 200 and [v["id"] for v in r.json()["items"]] == vids[:50]
    r = client.get("/youtube/v3/videos", params={"part": "id", "id": ",".join(vids)})
    assert r.status_code == 400 and r.json()["error"]["code"] == 400
    assert _error(r) == {"message": "The request specifies more than the maximum of 50 ids.", "domain": "global",
                         "reason": "badRequest", "location": "id", "locationType": "parameter"}
    r = client.get("/youtube/v3/videos", params={"part": "id"})
    assert r.status_code == 400 and _error(r)["reason"] == "missingRequiredParameter"
    assert _error(r)["message"] == "No filter selected. Expected one of: chart, id, myRating"
    r = client.get("/youtube/v3/videos", params=[("part", "id"), ("id", vids[0]), ("id", vids[1])])
    assert [v["id"] for v in r.json()["items"]] == vids[:2]  # repeated id= as googleapiclient sends lists


def test_max_results_is_checked_but_the_page_is_the_items(emulator: EmulatorServer, client: httpx.Client) -> None:
    vids = _videos(emulator.world, 7)
    for value in ("0", "51", "x", "-1"):
        r = client.get("/youtube/v3/videos", params={"part": "id", "id": vids[0], "maxResults": value})
        assert r.status_code == 400 and _error(r)["reason"] == "invalidParameter"
        assert r.json()["error"]["message"] == f"Invalid value '{value}'. Values must be within the range: [1, 50]"
    body = client.get("/youtube/v3/videos", params={"part": "id", "id": ",".join(vids), "maxResults": 2}).json()
    assert len(body["items"]) == 7 and body["pageInfo"] == {"totalResults": 7, "resultsPerPage": 7}


def test_deleted_and_private_are_left_out_others_are_answered(emulator: EmulatorServer, client: httpx.Client) -> None:
    w = emulator.world
    a, b, c, d, e, f = _videos(w, 6)
    w.set_video_status(a, "deleted")
    w.set_video_status(b, "private")
    w.set_video_status(c, "rejected:copyright")
    w.set_video_status(d, "failed:uploadAborted")
    w.set_video_status(e, "blocked:DE,GB")
    w.set_video_status(f, "allowed:US")
    body = client.get("/youtube/v3/videos", params={"part": PARTS, "id": ",".join([a, b, c, d, e, f])}).json()
    items = {v["id"]: v for v in body["items"]}
    assert list(items) == [c, d, e, f] and body["pageInfo"]["totalResults"] == 4
    assert items[c]["status"]["uploadStatus"] == "rejected" and items[c]["status"]["rejectionReason"] == "copyright"
    assert items[d]["status"]["uploadStatus"] == "failed" and items[d]["status"]["failureReason"] == "uploadAborted"
    assert items[e]["contentDetails"]["regionRestriction"] == {"blocked": ["DE", "GB"]}
    assert items[f]["contentDetails"]["regionRestriction"] == {"allowed": ["US"]}
    assert "regionRestriction" not in items[c]["contentDetails"] and "rejectionReason" not in items[e]["status"]
    r = client.get("/youtube/v3/videos", params={"part": PARTS, "id": f"{a},{b},AAAAAAAAAAA"})
    assert r.status_code == 200 and r.json() == {"kind": "youtube#videoListResponse", "etag": r.json()["etag"],
                                                 "items": [], "pageInfo": {"totalResults": 0, "resultsPerPage": 0}}
    w.set_video_status(b, "public")
    assert [v["id"] for v in client.get("/youtube/v3/videos", params={"part": "id", "id": b}).json()["items"]] == [b]
    w.set_status(w.video(c).channel_index, "terminated")  # a gone channel hides all its videos
    assert client.get("/youtube/v3/videos", params={"part": "id", "id": c}).json()["items"] == []


def test_hidden_likes_and_disabled_comments_leave_their_counts_out(emulator: EmulatorServer,
                                                                    client: httpx.Client) -> None:
    w = emulator.world
    hidden, disabled = _with(w, "likes_hidden"), _with(w, "comments_disabled")
    items = client.get("/youtube/v3/videos", params={"part": "statistics", "id": f"{hidden},{disabled}"}).json()["items"]
    stats = {v["id"]: v["statistics"] for v in items}
    assert "likeCount" not in stats[hidden] and "viewCount" in stats[hidden]
    assert "commentCount" not in stats[disabled] and stats[disabled]["favoriteCount"] == "0"


def test_fields_partial_response(emulator: EmulatorServer, client: httpx.Client) -> None:
    vids = _videos(emulator.world, 4)
    r = client.get("/youtube/v3/videos", params={
        "part": PARTS, "id": ",".join(vids),
        "fields": "items(id,snippet(title,thumbnails/default/url),statistics/viewCount,status/uploadStatus)"})
    body = r.json()
    assert list(body) == ["items"] and len(body["items"]) == 4
    assert all(list(v) == ["id", "snippet", "statistics", "status"] for v in body["items"])
    assert all(v["snippet"] == {"title": v["snippet"]["title"],
                                "thumbnails": {"default": {"url": f"https://i.ytimg.com/vi/{v['id']}/default.jpg"}}}
               for v in body["items"])
    r = client.get("/youtube/v3/videos", params={"part": "id", "id": "AAAAAAAAAAA", "fields": "items(id),pageInfo"})
    assert r.json() == {"items": [], "pageInfo": {"totalResults": 0, "resultsPerPage": 0}}
    r = client.get("/youtube/v3/videos", params={"part": "id", "id": vids[0], "fields": "items(id"})
    assert r.status_code == 400 and _error(r)["reason"] == "invalidParameter"


def test_one_unit_per_call_whatever_the_parts_and_ids(emulator: EmulatorServer, client: httpx.Client) -> None:
    vids = _videos(emulator.world, 50)
    client.get("/youtube/v3/videos", params={"part": "id", "id": vids[0]})
    client.get("/youtube/v3/videos", params={"part": PARTS + ",player", "id": ",".join(vids), "fields": "items/id"})
    client.get("/youtube/v3/videos", params={"part": "bogus", "id": vids[0]})  # invalid requests cost too
    assert httpx.get(f"{emulator.base_url}/_emulator/quota").json()["used"] == {DEFAULT_API_KEY: 3}
    assert httpx.get(f"{emulator.base_url}/_emulator/stats").json()["api.videos"] == 3


def test_faults_apply_to_videos(emulator: EmulatorServer, client: httpx.Client) -> None:
    base, params = emulator.base_url, {"part": PARTS, "id": ",".join(_videos(emulator.world, 5))}
    httpx.post(f"{base}/_emulator/faults", json={"fail_next": 1})
    r = client.get("/youtube/v3/videos", params=params)
    assert r.status_code in (500, 503) and _error(r)["reason"] == "backendError"
    assert client.get("/youtube/v3/videos", params=params).status_code == 200
    httpx.post(f"{base}/_emulator/faults", json={"rate_limit_rate": 1.0, "rate_limit_status": 429})
    r = client.get("/youtube/v3/videos", params=params)
    assert r.status_code == 429 and _error(r)["reason"] == "rateLimitExceeded"
    httpx.post(f"{base}/_emulator/faults", json={"malformed_rate": 1.0})
    with pytest.raises(ValueError):
        client.get("/youtube/v3/videos", params=params).json()
    httpx.post(f"{base}/_emulator/faults", json={"quota_limit": 0})
    r = client.get("/youtube/v3/videos", params=params)
    assert r.status_code == 403 and _error(r)["reason"] == "quotaExceeded"
    httpx.post(f"{base}/_emulator/faults", json={"latency_ms": 30})
    r = client.get("/youtube/v3/videos", params=params)
    assert r.status_code == 200 and r.elapsed.total_seconds() >= 0.03


def test_etag_changes_with_the_video_and_answers_304_while_it_does_not(emulator: EmulatorServer,
                                                                       client: httpx.Client) -> None:
    vid = _videos(emulator.world, 1)[0]
    params = {"part": PARTS, "id": vid}
    first = client.get("/youtube/v3/videos", params=params)
    again = client.get("/youtube/v3/videos", params=params, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    other_parts = client.get("/youtube/v3/videos", params={"part": "id", "id": vid})
    assert other_parts.headers["etag"] != first.headers["etag"]
    emulator.world.set_video_description(vid, "changed")
    changed = client.get("/youtube/v3/videos", params=params, headers={"If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200 and changed.json()["items"][0]["etag"] != first.json()["items"][0]["etag"]
    emulator.world.advance(days=2)  # counts grow
    later = client.get("/youtube/v3/videos", params=params)
    assert later.headers["etag"] != changed.headers["etag"]


def test_video_controls_and_ground_truth(emulator: EmulatorServer, client: httpx.Client) -> None:
    base, w = emulator.base_url, emulator.world
    a, b = _videos(w, 2)
    r = httpx.post(f"{base}/_emulator/videos/{a}", json={"status": "blocked:FR", "title": "Renamed ✨"})
    assert r.status_code == 200
    truth = r.json()
    assert truth == w.video_truth(a) and truth["status"] == "region-blocked" and truth["title"] == "Renamed ✨"
    assert truth["regionRestriction"] == {"blocked": ["FR"]} and truth["listed"]
    item = client.get("/youtube/v3/videos", params={"part": PARTS, "id": a}).json()["items"][0]
    assert item["snippet"]["title"] == truth["title"] and item["statistics"]["viewCount"] == str(truth["viewCount"])
    assert item["snippet"]["description"] == truth["description"] and item["contentDetails"]["duration"] == \
        truth["duration"]
    assert httpx.post(f"{base}/_emulator/videos/{b}", json={"status": "private"}).json() == {
        "id": b, "status": "private", "listed": False, "channelId": w.video(b).channel_id}
    assert httpx.post(f"{base}/_emulator/videos/{b}", json={"status": "sideways"}).status_code == 400
    assert httpx.post(f"{base}/_emulator/videos/AAAAAAAAAAA", json={"status": "deleted"}).status_code == 404
    state = httpx.get(f"{base}/_emulator/videos/state", params={"ids": f"{a},{b},AAAAAAAAAAA"}).json()
    assert state["clock"] == "2026-01-01T00:00:00Z"
    assert [v["status"] for v in state["videos"]] == ["region-blocked", "private", "not-found"]
    many = _videos(w, 200)
    posted = httpx.post(f"{base}/_emulator/videos/state", json={"ids": many}).json()["videos"]
    assert posted == [w.video_truth(v) for v in many]
    assert httpx.post(f"{base}/_emulator/videos/state", json={"ids": "a,b"}).status_code == 400
