"""Seed 000's custom user model, subscriptions and watch history."""

from django.contrib.auth.models import AbstractUser
from django.db import models

from channel_assets_tests.gallery_app.timestamps import TimestampMixin
from channel_assets_tests.gallery_app.videos.models import Channel, Video


class User(AbstractUser):
    pass


class UserChannel(TimestampMixin):
    user = models.ForeignKey(User, on_delete=models.CASCADE)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE)
    subscribed_at = models.DateTimeField(auto_now_add=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        indexes = [models.Index(fields=["user", "is_active"], name="idx_user_channels_user_active")]


class UserVideo(TimestampMixin):
    user = models.ForeignKey(User, on_delete=models.CASCADE)
    video = models.ForeignKey(Video, on_delete=models.CASCADE)
    is_watched = models.BooleanField(default=False)
    watched_at = models.DateTimeField(null=True, blank=True)
    channel_context = models.JSONField(null=True, blank=True)
