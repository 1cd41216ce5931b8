"""Seed 000's Channel and Video: the current system's fields plus the ones the seed's migrations add."""

import uuid

from django.db import models

from channel_assets_tests.gallery_app.timestamps import TimestampMixin


class Channel(TimestampMixin):
    uuid = models.UUIDField(primary_key=True, default=uuid.uuid4)
    channel_id = models.CharField(max_length=255, unique=True)
    # The current system's NOT NULL columns (no database default: Django supplies them).
    title = models.CharField(max_length=500)
    description = models.TextField()
    url = models.URLField()

    last_updated = models.DateTimeField(null=True, blank=True)
    update_frequency = models.CharField(
        max_length=20, choices=[("daily", "Daily"), ("weekly", "Weekly"), ("monthly", "Monthly")], default="weekly"
    )
    subscriber_count = models.IntegerField(null=True, blank=True)
    video_count = models.IntegerField(null=True, blank=True)
    view_count = models.BigIntegerField(null=True, blank=True)
    is_available = models.BooleanField(default=True)
    failed_update_count = models.IntegerField(default=0)

    class Meta:
        db_table = "videos_channel"
        indexes = [
            models.Index(fields=["channel_id"]),
            models.Index(fields=["created_at"]),
            models.Index(fields=["last_updated", "update_frequency"], name="channel_update_schedule_idx"),
            models.Index(fields=["is_available", "failed_update_count"], name="channel_availability_idx"),
        ]


class Video(TimestampMixin):
    uuid = models.UUIDField(primary_key=True, default=uuid.uuid4)
    video_id = models.CharField(max_length=255)
    title = models.CharField(max_length=500)
    description = models.TextField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    channel = models.ForeignKey(Channel, on_delete=models.SET_NULL, null=True, blank=True)
    original_channel_metadata = models.JSONField(null=True, blank=True)
    channel_title_snapshot = models.CharField(max_length=500, null=True, blank=True)
    channel_id_snapshot = models.CharField(max_length=255, null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["channel_id_snapshot"], name="video_channel_snapshot_idx"),
            models.Index(fields=["channel", "channel_id_snapshot"], name="video_channel_hybrid_idx"),
        ]
