"""The pipeline's own tables, seen by Django read-only: `managed = False`, so `migrate` never touches them.

The tables are created and changed by `channel-assets db upgrade` only (an app without this extra gets
them the same way); the admin shows them, and nothing in this package writes through these models.
"""

from django.contrib.postgres.fields import ArrayField
from django.db import models


class UpdateLog(models.Model):
    """channel_update_logs: every refresh, error, removal and restore (no FK: it outlives the channel)."""

    id = models.BigAutoField(primary_key=True)
    channel_uuid = models.UUIDField(null=True)
    channel_id = models.CharField(max_length=64, null=True)
    update_type = models.CharField(max_length=20)
    status = models.CharField(max_length=10)
    error_message = models.TextField(null=True)
    error_type = models.CharField(max_length=20, null=True)
    changes_made = models.JSONField(null=True)
    api_quota_used = models.IntegerField()
    processing_time_ms = models.IntegerField(null=True)
    run_id = models.CharField(max_length=64, null=True)
    actor = models.CharField(max_length=100, null=True)
    created_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "channel_update_logs"
        ordering = ["-created_at", "-id"]
        verbose_name = "channel update log"


class PipelineRequest(models.Model):
    """channel_pipeline_requests: what the app asked the pipeline for, and where each request stands."""

    id = models.BigAutoField(primary_key=True)
    kind = models.TextField()
    channel_ids = ArrayField(models.TextField(), null=True)
    video_ids = ArrayField(models.TextField(), null=True)
    requested_by = models.TextField()
    user_id = models.BigIntegerField(null=True)
    reason = models.TextField()
    status = models.TextField()
    status_reason = models.TextField(null=True)
    run_id = models.TextField(null=True)
    outcome = models.JSONField(null=True)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True)
    finished_at = models.DateTimeField(null=True)

    class Meta:
        managed = False
        db_table = "channel_pipeline_requests"
        ordering = ["-id"]
        verbose_name = "pipeline request"
