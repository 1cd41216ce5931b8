"""The default rule of the management endpoints, the admin actions and the read-only admins: staff."""

from __future__ import annotations


def is_staff(request) -> bool:
    """Seed 000's management endpoints are for staff (an active account with `is_staff`)."""
    user = request.user
    return bool(user.is_authenticated and user.is_active and user.is_staff)

