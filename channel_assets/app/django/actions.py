"""The two admin actions for the app's Channel changelist: "Force update" and "Update history".

One line in the app's own ModelAdmin: `actions = [force_update, update_history]` (imported from here).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from channel_assets.app import api

from . import conf

HISTORY_ROWS = 50
HISTORY_CHANNELS = 20


def _allowed(modeladmin, request) -> bool:
    if conf.hook("PERMISSION")(request):
        return True
    modeladmin.message_user(request, "Only staff may ask the pipeline for updates.", messages.ERROR)
    return False


@admin.action(description="Force update")
def force_update(modeladmin, request, queryset):
    """One request for every selected channel; the message names it (a link to its read-only page)."""
    if not _allowed(modeladmin, request):
        return None
    ids = list(queryset.order_by("channel_id").values_list("channel_id", flat=True))
    row = api.request_refresh(conf.pipeline_db(), ids, f"staff:{request.user.get_username()}",
                              reason="admin: Force update")
    link = format_html('<a href="{}">Request {}</a>',
                       reverse("admin:channel_assets_django_pipelinerequest_change", args=[row["id"]]), row["id"])
    if row["status"] == "refused":
        modeladmin.message_user(request, format_html("{} refused: {}", link, row["status_reason"]), messages.ERROR)
    else:
        modeladmin.message_user(request, format_html("{} {} for {} channel(s).", link, row["status"], len(ids)),
                                messages.SUCCESS)
    return None


@admin.action(description="Update history")
def update_history(modeladmin, request, queryset):
    """A page with each selected channel's newest update-log rows (seed 000's ChannelUpdateLog fields)."""
    if not _allowed(modeladmin, request):
        return None
    db = conf.pipeline_db()
    channels = list(queryset.order_by("channel_id")[:HISTORY_CHANNELS])
    log_list = reverse("admin:channel_assets_django_updatelog_changelist")
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Update history",
        "opts": modeladmin.model._meta,
        "limit": HISTORY_ROWS,
        "more_selected": max(queryset.count() - len(channels), 0),
        "channels": [{"channel": c, "rows": api.channel_history(db, c.channel_id, limit=HISTORY_ROWS),
                      "all_url": f"{log_list}?channel_id={c.channel_id}"} for c in channels],
    }
    return TemplateResponse(request, "channel_assets_django/update_history.html", context)
