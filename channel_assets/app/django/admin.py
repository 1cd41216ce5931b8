"""Read-only admins for the pipeline's update log and requests, and a default Channel admin.

The app's Channel admin is the app's: add the actions to it in one line
(`actions = [force_update, update_history]`, from channel_assets.app.django.actions); when the app
registers no Channel admin, apps.py registers `ChannelAdmin` below.
"""

from __future__ import annotations

from django.contrib import admin

from . import conf
from .actions import force_update, update_history
from .models import PipelineRequest, UpdateLog


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never written: the pipeline owns these rows. Visible to whoever the PERMISSION setting allows
    (staff by default), as well as to users holding Django's view permission."""

    list_per_page = 50

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return conf.hook("PERMISSION")(request) or super().has_view_permission(request, obj)

    def has_module_permission(self, request):
        return conf.hook("PERMISSION")(request) or super().has_module_permission(request)


@admin.register(UpdateLog)
class UpdateLogAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "channel_id", "update_type", "status", "error_type", "api_quota_used",
                    "error_message", "actor")
    list_filter = ("update_type", "status", "error_type")
    search_fields = ("=channel_id", "=run_id")


@admin.register(PipelineRequest)
class PipelineRequestAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "status", "status_reason", "requested_by", "channel_ids", "created_at",
                    "finished_at")
    list_filter = ("kind", "status")
    search_fields = ("=requested_by", "=run_id")


class ChannelAdmin(admin.ModelAdmin):
    """The default Channel admin (when the app has none): the pipeline's columns and the two actions."""

    list_display = ("title", "channel_id", "last_updated", "is_available", "subscriber_count", "video_count")
    search_fields = ("=channel_id", "title")
    actions = [force_update, update_history]


def register_default_channel_admin(site: admin.AdminSite) -> None:
    model = conf.channel_model()
    if not site.is_registered(model):
        site.register(model, ChannelAdmin)
