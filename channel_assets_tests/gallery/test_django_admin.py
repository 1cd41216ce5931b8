"""The Django integration's admin on the gallery app: the Channel actions, the read-only pipeline tables,
and that Django never migrates them."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from .django_helpers import GalleryApp

CHANGELIST = "/admin/videos/channel/"


@pytest.fixture
def app(django_gallery):
    return GalleryApp(django_gallery)


def _run_action(client, action: str, channels):
    return client.post(CHANGELIST, {"action": action, "_selected_action": [str(c.uuid) for c in channels]},
                       follow=True)


def test_force_update_queues_one_request_for_the_selected_channels(app):
    staff = app.superuser()
    picked = sorted([app.channel(), app.channel()], key=lambda c: c.channel_id)
    app.channel()  # not selected
    resp = _run_action(app.client(staff), "force_update", picked)
    assert resp.status_code == 200
    [request_row] = app.requests_of(f"staff:{staff.username}")
    assert request_row.kind == "refresh" and request_row.channel_ids == [c.channel_id for c in picked]
    [message] = [str(m) for m in resp.context["messages"]]
    assert f"Request {request_row.id}</a> {request_row.status} for 2 channel(s)." in message
    assert f"/admin/channel_assets_django/pipelinerequest/{request_row.id}/change/" in message


def test_update_history_shows_the_selected_channels_log_rows(app):
    staff = app.superuser()
    channel = app.channel(title="Cooking With Ann")
    app.log(channel, update_type="metadata", status="success", changes_made={"title": ["old", "new"]},
            api_quota_used=1, created_at=datetime(2026, 1, 2, 3, 4, tzinfo=UTC))
    app.log(channel, update_type="error", status="failed", error_message="channel not found",
            created_at=datetime(2026, 1, 3, tzinfo=UTC))
    resp = _run_action(app.client(staff), "update_history", [channel])
    assert resp.status_code == 200
    page = resp.content.decode()
    assert "Cooking With Ann" in page and "channel not found" in page and "metadata" in page
    assert page.index("channel not found") < page.index("{&#x27;title&#x27;")  # newest first
    assert f"/admin/channel_assets_django/updatelog/?channel_id={channel.channel_id}" in page


def test_a_staff_member_without_model_permissions_still_runs_the_actions_the_setting_allows(app):
    staff = app.user(staff=True)  # is_staff, no Django model permissions
    from django.contrib.auth.models import Permission

    from channel_assets_tests.gallery_app.videos.models import Channel

    staff.user_permissions.add(Permission.objects.get(codename="view_channel",
                                                      content_type__app_label=Channel._meta.app_label))
    channel = app.channel()
    resp = _run_action(app.client(staff), "force_update", [channel])
    assert resp.status_code == 200
    assert [r.channel_ids for r in app.requests_of(f"staff:{staff.username}")] == [[channel.channel_id]]


def test_the_pipeline_tables_are_read_only_in_the_admin(app):
    staff = app.superuser()
    channel = app.channel()
    app.log(channel, update_type="metadata", status="success", created_at=datetime.now(UTC))
    made = app.client(staff).post(f"/api/channels/{channel.uuid}/force_update/").json()
    client = app.client(staff)
    for model in ("updatelog", "pipelinerequest"):
        base = f"/admin/channel_assets_django/{model}/"
        listing = client.get(base)
        assert listing.status_code == 200
        assert client.get(base + "add/").status_code == 403
        assert "delete_selected" not in listing.content.decode()
    page = client.get(f"/admin/channel_assets_django/pipelinerequest/{made['id']}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert channel.channel_id in text and 'name="_save"' not in text  # shown, no Save button
    assert client.post(f"/admin/channel_assets_django/pipelinerequest/{made['id']}/delete/").status_code == 403
    assert app.stored_request(made["id"]).status == made["status"]
    assert client.get(f"/admin/channel_assets_django/updatelog/?channel_id={channel.channel_id}").status_code == 200
    assert app.client(app.user()).get("/admin/channel_assets_django/updatelog/").status_code == 302  # to login


def test_the_actions_are_one_line_in_the_apps_own_channel_admin(app):
    from django.contrib import admin
    from django.test import RequestFactory

    from channel_assets.app.django.actions import force_update, update_history
    from channel_assets.app.django.admin import ChannelAdmin
    from channel_assets_tests.gallery_app.videos.models import Channel

    class AppChannelAdmin(admin.ModelAdmin):
        actions = [force_update, update_history]

    site = admin.AdminSite(name="app_own")
    site.register(Channel, AppChannelAdmin)
    request = RequestFactory().get(CHANGELIST)
    request.user = app.superuser()
    offered = site._registry[Channel].get_actions(request)
    assert offered["force_update"][2] == "Force update" and offered["update_history"][2] == "Update history"
    # The gallery app registers no Channel admin of its own: the integration's default is there.
    assert type(admin.site._registry[Channel]) is ChannelAdmin
    assert {"force_update", "update_history"} <= set(admin.site._registry[Channel].get_actions(request))


def test_django_never_creates_or_alters_the_pipeline_tables(app):
    from django.core.management import call_command

    from channel_assets.app.django.models import PipelineRequest, UpdateLog

    assert UpdateLog._meta.managed is False and PipelineRequest._meta.managed is False
    out = io.StringIO()
    call_command("sqlmigrate", "channel_assets_django", "0001", stdout=out)
    statements = [line for line in out.getvalue().splitlines() if line.strip() and not line.startswith("--")]
    assert statements in ([], ["BEGIN;", "COMMIT;"]), statements


def test_the_permission_setting_governs_the_actions_and_the_read_only_pages(app):
    from django.test import override_settings

    staff = app.user(staff=True)  # staff, no model permissions: the default rule lets them see and act
    assert app.client(staff).get("/admin/channel_assets_django/pipelinerequest/").status_code == 200
    superuser = app.superuser()
    channel = app.channel()
    with override_settings(CHANNEL_ASSETS_DJANGO={"PERMISSION": lambda request: False}):
        resp = _run_action(app.client(superuser), "force_update", [channel])
        assert [str(m) for m in resp.context["messages"]] == ["Only staff may ask the pipeline for updates."]
        assert app.client(staff).get("/admin/channel_assets_django/pipelinerequest/").status_code == 403
    assert not app.requests_of(f"staff:{superuser.username}")
