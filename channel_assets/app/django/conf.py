"""The integration's Django settings, one dict `CHANNEL_ASSETS_DJANGO` in the app's settings.py.

These configure the Django side only; the pipeline's own settings stay in channel_assets/settings.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.utils.module_loading import import_string

DEFAULTS: dict[str, Any] = {
    # Who may call the management endpoints and use the admin actions: callable(request) -> bool.
    "PERMISSION": "channel_assets.app.django.permissions.is_staff",
    # The app's Channel model (seed 000's videos.Channel: `uuid` primary key, `channel_id` the YouTube id).
    "CHANNEL_MODEL": "videos.Channel",
    # The Django database alias whose connection the API is called with.
    "DATABASE": "default",
    # Optional callable returning the Dagster schedule states, passed to api.update_status (None: the API's own).
    "SCHEDULES": None,
    # Register a default admin for the Channel model (with the two actions) when the app registers none.
    "REGISTER_CHANNEL_ADMIN": True,
}


def get(name: str) -> Any:
    return {**DEFAULTS, **getattr(settings, "CHANNEL_ASSETS_DJANGO", {})}[name]


def hook(name: str) -> Callable | None:
    """A callable setting, given as the callable itself or as its dotted path."""
    value = get(name)
    return import_string(value) if isinstance(value, str) else value


def pipeline_db():
    """The app's own database connection (psycopg 3), as the API takes it: no second pool, no new credentials."""
    wrapper = connections[get("DATABASE")]
    wrapper.ensure_connection()
    return wrapper.connection


def channel_model():
    return _model("CHANNEL_MODEL")


def _model(name: str):
    from django.apps import apps

    try:
        return apps.get_model(get(name))
    except (LookupError, ValueError):
        raise ImproperlyConfigured(f"CHANNEL_ASSETS_DJANGO[{name!r}] = {get(name)!r} is not an installed model "
                                   "('app_label.ModelName')") from None
