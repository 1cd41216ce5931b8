"""The Django integration's JSON endpoints on the gallery app, through Django's test client.

Seed 000's four management endpoints (field names and types exactly the seed's TypeScript types), the
user's refresh of a channel they follow, a request's status; staff only, sign-in required, CSRF enforced,
one-line JSON errors, refusals returned with their reason.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from .django_helpers import API, GalleryApp, csrf_client

SEED_STATUS = {"total_channels": int, "last_update_run": (str, type(None)), "channels_updated_today": int,
               "failed_updates": int, "quota_usage": dict, "next_scheduled_update": (str, type(None))}
SEED_LOG = {"id": str, "update_type": str, "status": str, "error_message": (str, type(None)),
            "changes_made": (dict, type(None)), "api_quota_used": int, "created_at": str}


@pytest.fixture
def app(django_gallery):
    return GalleryApp(django_gallery)


def test_update_status_is_the_seeds_channel_update_status(app):
    app.channel()
    resp = app.client(app.user(staff=True)).get(f"{API}/channels/update_status/")
    assert resp.status_code == 200
    body = resp.json()
    for name, kind in SEED_STATUS.items():
        assert isinstance(body[name], kind), (name, body[name])
    assert set(body) - set(SEED_STATUS) <= {"next_scheduled_update_reason"}
    assert set(body["quota_usage"]) == {"used", "limit", "remaining"}
    assert all(type(v) is int for v in body["quota_usage"].values())
    assert body["total_channels"] == app.channel_count()
    if body["next_scheduled_update"] is None:
        assert body["next_scheduled_update_reason"]


def test_force_update_queues_one_request_by_primary_key_or_youtube_id(app):
    staff = app.user(staff=True)
    client = app.client(staff)
    channel = app.channel()
    for key in (str(channel.uuid), channel.channel_id):
        resp = client.post(f"{API}/channels/{key}/force_update/", {"reason": "title looks old"},
                           content_type="application/json")
        assert resp.status_code == 202, resp.content
        body = resp.json()
        assert body["kind"] == "refresh" and body["status"] in ("queued", "done"), body
        assert body["channel_ids"] == [channel.channel_id]
        assert body["requested_by"] == f"staff:{staff.username}" and body["user_id"] is None
        assert body["reason"] == "title looks old"
        stored = app.stored_request(body["id"])
        assert (stored.kind, stored.channel_ids, stored.requested_by) == ("refresh", [channel.channel_id],
                                                                          f"staff:{staff.username}")


def test_force_update_of_a_malformed_id_is_refused_with_its_reason(app):
    client = app.client(app.user(staff=True))
    resp = client.post(f"{API}/channels/not-a-channel/force_update/")
    assert resp.status_code == 409
    body = resp.json()
    assert body["status"] == "refused" and body["status_reason"] and "\n" not in body["status_reason"]
    assert app.stored_request(body["id"]).status == "refused"  # stored, so the app can show it later


def test_unknown_primary_key_and_bad_input_are_one_line_json_errors(app):
    client = app.client(app.user(staff=True))
    channel = app.channel()
    cases = [
        (client.post(f"{API}/channels/00000000-0000-0000-0000-000000000000/force_update/"), 404),
        (client.post(f"{API}/channels/{channel.uuid}/force_update/", "{nope", content_type="application/json"), 400),
        (client.post(f"{API}/channels/{channel.uuid}/force_update/", "[1]", content_type="application/json"), 400),
        (client.post(f"{API}/channels/{channel.uuid}/force_update/", {"reason": 7},
                     content_type="application/json"), 400),
        (client.post(f"{API}/channels/trigger_cleanup/", {"dry_run": "maybe"}, content_type="application/json"), 400),
        (client.get(f"{API}/channels/{channel.uuid}/update_history/?limit=0"), 400),
        (client.get(f"{API}/channels/{channel.uuid}/update_history/?limit=x"), 400),
        (client.get(f"{API}/channels/{channel.uuid}/force_update/"), 405),
        (client.post(f"{API}/channels/update_status/"), 405),
        (client.get(f"{API}/requests/999999999/"), 404),
        (client.get(f"{API}/requests/99999999999999999999999/"), 404),
    ]
    for resp, status in cases:
        assert resp.status_code == status, (resp.request["PATH_INFO"], resp.content)
        assert resp.get("Allow") == ({"GET": "POST", "POST": "GET"}[resp.request["REQUEST_METHOD"]]
                                     if status == 405 else None)
        error = resp.json()["error"]
        assert error and "\n" not in error and "Traceback" not in error


@pytest.mark.parametrize(("body", "kind"), [({"dry_run": True}, "cleanup_dry_run"), ({}, "cleanup"),
                                            ({"dry_run": "false"}, "cleanup")])
def test_trigger_cleanup_queues_a_cleanup_or_a_dry_run(app, body, kind):
    staff = app.user(staff=True)
    resp = app.client(staff).post(f"{API}/channels/trigger_cleanup/", body, content_type="application/json")
    assert resp.status_code == 202, resp.content
    got = resp.json()
    assert got["kind"] == kind and got["requested_by"] == f"staff:{staff.username}" and got["channel_ids"] is None
    assert app.stored_request(got["id"]).kind == kind


def test_trigger_cleanup_takes_a_form_post_too(app):
    resp = app.client(app.user(staff=True)).post(f"{API}/channels/trigger_cleanup/", {"dry_run": "true"})
    assert resp.status_code == 202 and resp.json()["kind"] == "cleanup_dry_run"


def test_update_history_is_the_seeds_update_log_newest_first(app):
    channel = app.channel()
    now = datetime.now(UTC)
    app.log(channel, update_type="metadata", status="success", changes_made={"title": ["a", "b"]},
            api_quota_used=1, created_at=now - timedelta(hours=2))
    app.log(channel, update_type="error", status="failed", error_message="quota exceeded", api_quota_used=0,
            created_at=now - timedelta(hours=1))
    app.log(app.channel(), update_type="metadata", status="success", created_at=now)  # another channel's
    client = app.client(app.user(staff=True))
    rows = client.get(f"{API}/channels/{channel.uuid}/update_history/").json()
    assert [r["update_type"] for r in rows] == ["error", "metadata"]
    for row in rows:
        for name, kind in SEED_LOG.items():
            assert isinstance(row[name], kind), (name, row[name])
        datetime.fromisoformat(row["created_at"])
        assert row["channel"] == str(channel.uuid)
    assert rows[0]["error_message"] == "quota exceeded" and rows[1]["changes_made"] == {"title": ["a", "b"]}
    by_youtube_id = client.get(f"{API}/channels/{channel.channel_id}/update_history/?limit=1").json()
    assert by_youtube_id == rows[:1]


MANAGEMENT = [("post", "/channels/{pk}/force_update/"), ("get", "/channels/update_status/"),
              ("post", "/channels/trigger_cleanup/"), ("get", "/channels/{pk}/update_history/")]


def test_management_endpoints_are_staff_only_and_need_a_sign_in(app):
    channel = app.channel()
    anonymous, member = app.client(None), app.client(app.user())
    inactive_staff = app.user(staff=True)
    for method, path in MANAGEMENT:
        url = API + path.format(pk=channel.uuid)
        assert getattr(anonymous, method)(url).status_code == 401, url
        resp = getattr(member, method)(url)
        assert resp.status_code == 403 and resp.json() == {"error": "staff only"}, url
    inactive_staff.is_active = False
    inactive_staff.save()
    assert app.client(inactive_staff).get(f"{API}/channels/update_status/").status_code == 401
    assert not app.requests_of(f"staff:{inactive_staff.username}")


def test_the_permission_setting_replaces_the_staff_rule(app):
    from django.test import override_settings

    ops = app.user(name=f"ops-{app.suffix()}")
    rule = {"PERMISSION": lambda request: request.user.username.startswith("ops-")}
    with override_settings(CHANNEL_ASSETS_DJANGO=rule):
        assert app.client(ops).get(f"{API}/channels/update_status/").status_code == 200
        assert app.client(app.user(staff=True)).get(f"{API}/channels/update_status/").status_code == 403
    assert app.client(ops).get(f"{API}/channels/update_status/").status_code == 403


def test_posts_need_the_csrf_token(app):
    staff = app.user(staff=True)
    channel = app.channel()
    client = csrf_client(staff)
    for path in (f"/channels/{channel.uuid}/force_update/", "/channels/trigger_cleanup/"):
        refused = client.post(API + path)
        assert refused.status_code == 403 and refused.json()["error"].startswith("CSRF check failed")
    assert client.post(f"{API}/channels/trigger_cleanup/", HTTP_X_CSRFTOKEN="forged" * 6).status_code == 403
    assert not app.requests_of(f"staff:{staff.username}")
    token = client.get("/admin/").cookies["csrftoken"].value  # any page of the app with a form hands one out
    resp = client.post(f"{API}/channels/{channel.uuid}/force_update/", HTTP_X_CSRFTOKEN=token)
    assert resp.status_code == 202
    user = app.user()
    app.follow(user, channel)
    user_client = csrf_client(user)  # the user endpoint: the same CSRF rule
    assert user_client.post(f"{API}/channels/{channel.uuid}/request_refresh/").status_code == 403
    assert not app.requests_of(f"user:{user.pk}")


def test_a_user_refreshes_a_channel_they_follow_only(app):
    user = app.user()
    followed, unfollowed, stopped = app.channel(), app.channel(), app.channel()
    app.follow(user, followed)
    app.follow(user, stopped, active=False)
    app.follow(app.user(), unfollowed)  # someone else's
    client = app.client(user)
    resp = client.post(f"{API}/channels/{followed.channel_id}/request_refresh/", {"reason": "stale avatar"},
                       content_type="application/json")
    assert resp.status_code == 202, resp.content
    body = resp.json()
    assert body["status"] == "queued" and body["user_id"] == user.pk and body["requested_by"] == f"user:{user.pk}"
    assert body["channel_ids"] == [followed.channel_id] and body["reason"] == "stale avatar"
    refused = []
    for channel in (unfollowed, stopped):
        resp = client.post(f"{API}/channels/{channel.uuid}/request_refresh/")
        assert resp.status_code == 409, resp.content
        refused.append(resp.json())
        assert refused[-1]["status"] == "refused"
        assert refused[-1]["status_reason"] == f"user {user.pk} does not follow {channel.channel_id}"
    assert [(r.id, r.status) for r in app.requests_of(f"user:{user.pk}")] == [
        (body["id"], "queued"), *((r["id"], "refused") for r in refused)]
    assert app.client(None).post(f"{API}/channels/{followed.uuid}/request_refresh/").status_code == 401


@pytest.mark.parametrize(("limits", "why"), [
    ({"CHANNEL_ASSETS_REQUESTS_USER_PER_HOUR": "2", "CHANNEL_ASSETS_REQUESTS_USER_MAX_PENDING": "5"}, "rate limit"),
    ({"CHANNEL_ASSETS_REQUESTS_USER_MAX_PENDING": "2"}, "too many requests waiting"),
])
def test_the_per_user_limits_are_surfaced_as_a_refusal(app, monkeypatch, limits, why):
    for name, value in limits.items():  # the API reads its limits from the calling process's environment
        monkeypatch.setenv(name, value)
    user = app.user()
    channels = [app.channel() for _ in range(3)]
    for channel in channels:
        app.follow(user, channel)
    client = app.client(user)
    answers = [client.post(f"{API}/channels/{c.channel_id}/request_refresh/") for c in channels]
    assert [a.status_code for a in answers] == [202, 202, 409], [a.content for a in answers]
    body = answers[-1].json()
    assert body["status"] == "refused" and body["user_id"] == user.pk and body["channel_ids"] == [channels[-1].channel_id]
    assert body["status_reason"].startswith(why) and "\n" not in body["status_reason"]
    assert app.stored_request(body["id"]).status_reason == body["status_reason"]
    # Staff are not limited: the same channel through force_update is queued.
    staff = app.client(app.user(staff=True))
    assert staff.post(f"{API}/channels/{channels[-1].uuid}/force_update/").status_code == 202


def test_a_user_request_for_a_channel_refreshed_minutes_ago_is_answered_from_what_is_stored(app):
    user = app.user()
    channel = app.channel(title="Fresh Already")
    channel.last_updated = datetime.now(UTC) - timedelta(minutes=1)
    channel.save()
    app.follow(user, channel)
    resp = app.client(user).post(f"{API}/channels/{channel.uuid}/request_refresh/")
    assert resp.status_code == 202
    body = resp.json()
    assert body["status"] == "done" and body["outcome"] == {channel.channel_id: "answered_from_stored"}


def test_request_status_shows_a_user_their_own_requests_and_staff_all(app):
    owner, other = app.user(), app.user()
    channel = app.channel()
    app.follow(owner, channel)
    made = app.client(owner).post(f"{API}/channels/{channel.uuid}/request_refresh/").json()
    seen = app.client(owner).get(f"{API}/requests/{made['id']}/")
    assert seen.status_code == 200 and seen.json() == made | {k: seen.json()[k] for k in
                                                              ("status", "status_reason", "run_id", "outcome",
                                                               "started_at", "finished_at")}
    assert set(seen.json()) == {"id", "kind", "status", "status_reason", "channel_ids", "requested_by", "user_id",
                                "reason", "run_id", "outcome", "created_at", "started_at", "finished_at", "video_ids"}
    assert app.client(other).get(f"{API}/requests/{made['id']}/").status_code == 404
    staff_cleanup = app.client(app.user(staff=True)).post(f"{API}/channels/trigger_cleanup/").json()
    assert app.client(owner).get(f"{API}/requests/{staff_cleanup['id']}/").status_code == 404
    assert app.client(app.user(staff=True)).get(f"{API}/requests/{made['id']}/").json()["id"] == made["id"]
    assert app.client(None).get(f"{API}/requests/{made['id']}/").status_code == 401


def test_json_bodies_are_plain_json(app):
    """Every answer is application/json (a front end parses it without sniffing)."""
    resp = app.client(app.user(staff=True)).get(f"{API}/channels/update_status/")
    assert resp["Content-Type"] == "application/json"
    json.loads(resp.content)


def test_the_schedules_setting_gives_next_scheduled_update(app):
    from django.test import override_settings

    from channel_assets.app.api import ScheduleState

    client = app.client(app.user(staff=True))
    without = client.get(f"{API}/channels/update_status/").json()
    assert without["next_scheduled_update"] is None and without["next_scheduled_update_reason"]
    states = [ScheduleState("priority_refresh", True, "*/30 * * * *", "UTC"),
              ScheduleState("daily_cleanup", False, "0 3 * * *", "UTC")]
    with override_settings(CHANNEL_ASSETS_DJANGO={"SCHEDULES": lambda: states}):
        body = client.get(f"{API}/channels/update_status/").json()
    when = datetime.fromisoformat(body["next_scheduled_update"])
    assert when.minute in (0, 30) and when > datetime.now(UTC) - timedelta(minutes=1)
    assert body["next_scheduled_update_reason"] is None
