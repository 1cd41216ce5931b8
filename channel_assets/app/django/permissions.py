"""The default rules: staff for the management endpoints, an active subscription for a user's refresh."""

from __future__ import annotations

from . import conf


def is_staff(request) -> bool:
    """Seed 000's management endpoints are for staff (an active account with `is_staff`)."""
    user = request.user
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def follows_actively(user, channel_id: str) -> bool:
    """The pipeline's "followed" rule for one user: an active subscription of theirs to the channel."""
    return conf.follow_model().objects.filter(user=user, channel__channel_id=channel_id, is_active=True).exists()
