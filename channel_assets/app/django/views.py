"""Seed 000's ChannelManagementViewSet as plain JSON views, and a user's own refresh request.

Session authentication and CSRF are the app's own: every POST is checked by Django's CSRF middleware
whatever the app's MIDDLEWARE (a failure is a JSON 403 too, not Django's HTML page).
Status codes: 200 read, 202 request accepted (queued, or already answered), 409 request refused (the body
is the stored request, its `status_reason` says why), 400 bad input, 401 not signed in, 403 not allowed,
404 unknown channel or request, 405 wrong method; every error body is `{"error": "<one line>"}`.
"""

from __future__ import annotations

import json
import uuid
from functools import wraps

from django.core.exceptions import ObjectDoesNotExist
from django.http import JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt

from channel_assets.app import api

from . import conf

MAX_HISTORY = 500
MAX_REQUEST_ID = 2**63 - 1  # bigint
_csrf = CsrfViewMiddleware(lambda request: None)


class BadRequest(Exception):
    """A client mistake: answered 400 with its one-line message."""


def error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _endpoint(method: str, *, staff: bool):
    """One method, a signed-in user (and the management permission when `staff`), JSON errors for the rest."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method != method:
                refused = error(405, f"use {method}")
                refused["Allow"] = method
                return refused
            if method == "POST" and _csrf.process_view(request, view, args, kwargs) is not None:
                return error(403, "CSRF check failed: send the csrftoken cookie's value as the X-CSRFToken header")
            if not request.user.is_authenticated:
                return error(401, "sign in first")
            if staff and not conf.hook("PERMISSION")(request):
                return error(403, "staff only")
            try:
                return view(request, *args, **kwargs)
            except BadRequest as exc:
                return error(400, str(exc))
            except ObjectDoesNotExist as exc:
                return error(404, str(exc))

        # The check above is Django's own middleware, run here so that it answers in JSON (and runs even if
        # the app's MIDDLEWARE lacks it); exempt from the global one, which would answer first in HTML.
        return csrf_exempt(wrapper) if method == "POST" else wrapper

    return decorate


def _body(request) -> dict:
    """A JSON object body, or the form fields; an empty body is no options."""
    if request.content_type == "application/json":
        if not request.body:
            return {}
        try:
            data = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise BadRequest("the body must be a JSON object")
        return data
    return request.POST.dict()


def _reason(body: dict, default: str) -> str:
    reason = body.get("reason", default)
    if not isinstance(reason, str) or len(reason) > 500:
        raise BadRequest("reason must be a string of at most 500 characters")
    return reason or default


def _flag(body: dict, name: str) -> bool:
    value = body.get(name, False)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "false", "0", ""):
        return value.lower() in ("true", "1")
    raise BadRequest(f"{name} must be true or false")


def youtube_id(channel: str) -> str:
    """The URL's channel: the app's Channel primary key (a UUID, as seed 000's viewset routes it) or the
    YouTube channel id itself (passed on as given: the API refuses a malformed or unknown one with a reason)."""
    return _resolve(channel)[0]


def _resolve(channel: str) -> tuple[str, str | None]:
    """(YouTube channel id, the app's primary key as a string or None when the app has no such channel)."""
    model = conf.channel_model()
    try:
        pk = uuid.UUID(channel)
    except ValueError:
        found = model.objects.filter(channel_id=channel).values_list("pk", flat=True).first()
        return channel, (str(found) if found is not None else None)
    found = model.objects.filter(pk=pk).values_list("channel_id", flat=True).first()
    if found is None:
        raise ObjectDoesNotExist(f"no channel {channel}")
    return found, str(pk)


def request_answer(request_row: dict) -> JsonResponse:
    return JsonResponse(request_row, status=409 if request_row["status"] == "refused" else 202)


def staff_name(request) -> str:
    return f"staff:{request.user.get_username()}"


@_endpoint("POST", staff=True)
def force_update(request, channel: str):
    """POST channels/<id>/force_update/ {"reason"?}: queue a refresh of one channel."""
    body = _body(request)
    return request_answer(api.request_refresh(conf.pipeline_db(), [youtube_id(channel)], staff_name(request),
                                              reason=_reason(body, "force_update")))


@_endpoint("GET", staff=True)
def update_status(request):
    """GET channels/update_status/: seed 000's ChannelUpdateStatus."""
    return JsonResponse(api.update_status(conf.pipeline_db(), schedules=conf.hook("SCHEDULES")))


@_endpoint("POST", staff=True)
def trigger_cleanup(request):
    """POST channels/trigger_cleanup/ {"dry_run"?, "reason"?}: queue an orphaned-channel cleanup."""
    body = _body(request)
    return request_answer(api.request_cleanup(conf.pipeline_db(), dry_run=_flag(body, "dry_run"),
                                              requested_by=staff_name(request),
                                              reason=_reason(body, "trigger_cleanup")))


@_endpoint("GET", staff=True)
def update_history(request, channel: str):
    """GET channels/<id>/update_history/?limit=N: seed 000's ChannelUpdateLog rows, newest first."""
    raw = request.GET.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_HISTORY:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_HISTORY}")
    channel_id, pk = _resolve(channel)
    rows = api.channel_history(conf.pipeline_db(), channel_id, limit=int(raw))
    # Seed 000's `channel` is the Channel's primary key (null once the app has deleted the channel: the log
    # outlives it); any field the API adds is passed through.
    return JsonResponse([{**row, "channel": row.get("channel", pk)} for row in rows], safe=False)


@_endpoint("POST", staff=False)
def request_refresh(request, channel: str):
    """POST channels/<id>/request_refresh/ {"reason"?}: a signed-in user asks for a channel they follow. The
    request carries their user id, so the API's rules apply: only a channel they actively follow, the per-user
    rate limit and the quota guard (each refusal stored with its reason)."""
    body = _body(request)
    return request_answer(api.request_refresh(conf.pipeline_db(), [youtube_id(channel)], request.user.pk,
                                              reason=_reason(body, "user request")))


@_endpoint("GET", staff=False)
def request_status(request, request_id: int):
    """GET requests/<id>/: where a request stands; a user sees only their own requests."""
    found = api.request_status(conf.pipeline_db(), request_id) if request_id <= MAX_REQUEST_ID else None
    mine = found is not None and found["user_id"] is not None and found["user_id"] == request.user.pk
    if found is None or not (mine or conf.hook("PERMISSION")(request)):
        return error(404, f"no request {request_id}")
    return JsonResponse(found)
