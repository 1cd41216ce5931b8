"""The gallery app's own writes and reads, through the Django ORM, in a process of their own.

`python -m channel_assets_tests.gallery_app.orm OP 'JSON'` with GALLERY_DATABASE_URL set; prints a JSON
answer. A subprocess keeps Django's global settings out of the test process (one database per call).
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime, timedelta

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "channel_assets_tests.gallery_app.settings")

import django  # noqa: E402

django.setup()

from django.db import transaction  # noqa: E402

from channel_assets_tests.gallery_app.users.models import User, UserChannel, UserVideo  # noqa: E402
from channel_assets_tests.gallery_app.videos.models import Channel, Video  # noqa: E402


def seed(spec: dict) -> dict:
    """Users, channels, subscriptions, imported videos and watch rows, as the app's import makes them."""
    now = datetime.now(UTC)
    with transaction.atomic():
        users = [User.objects.create_user(name, last_login=now - timedelta(days=1)) for name in spec["users"]]
        for ch in spec["channels"]:
            channel = Channel.objects.create(channel_id=ch["channel_id"], title=ch.get("title", "imported"),
                                             description="from the app", url=f"https://youtube.com/{ch['channel_id']}")
            for i in ch.get("active", []):
                UserChannel.objects.create(user=users[i], channel=channel)
            for i in ch.get("inactive", []):
                UserChannel.objects.create(user=users[i], channel=channel, is_active=False)
            for vid in ch.get("videos", []):
                video = Video.objects.create(video_id=vid, title=f"video {vid}", channel=channel)
                for i in ch.get("watchers", []):
                    UserVideo.objects.create(user=users[i], video=video, is_watched=True, watched_at=now)
    return {"users": [u.id for u in users]}


def unsubscribe_quietly(spec: dict) -> dict:
    """QuerySet.update(): no save(), so updated_at stays as it was (the sensors cannot see it)."""
    n = UserChannel.objects.filter(channel__channel_id__in=spec["channel_ids"]).update(is_active=False)
    return {"updated": n}


def subscribe(spec: dict) -> dict:
    """A re-subscription through save(): what the app's subscribe button does."""
    user = User.objects.get(username=spec["user"])
    channel = Channel.objects.get(channel_id=spec["channel_id"])
    sub, _ = UserChannel.objects.get_or_create(user=user, channel=channel)
    sub.is_active = True
    sub.save()
    return {"id": sub.id}


def create_channel(spec: dict) -> dict:
    """A channel as the app inserts it: none of the pipeline's columns set."""
    user = User.objects.get(username=spec["user"])
    channel = Channel.objects.create(channel_id=spec["channel_id"], title="new", description="", url="https://yt/x")
    UserChannel.objects.create(user=user, channel=channel)
    return {"uuid": str(channel.uuid)}


def crud(spec: dict) -> dict:
    """Everything the app does on its tables, on rows the pipeline has touched, then its own rows."""
    out: dict = {}
    for video in Video.objects.select_related("channel").all():  # reads every row, pipeline-written too
        video.title = video.title or "untitled"
        video.save()
    out["videos_read"] = Video.objects.count()
    out["channel_less_videos"] = Video.objects.filter(channel__isnull=True).count()
    out["snapshots"] = Video.objects.filter(original_channel_metadata__isnull=False).count()
    out["watch_with_context"] = UserVideo.objects.filter(channel_context__isnull=False).count()
    for channel in Channel.objects.all():
        channel.title = channel.title + ""
        channel.save()
    user = User.objects.create_user("crud-user")
    channel = Channel.objects.create(channel_id="UCcrudcrudcrudcrudcrud00", title="c", description="d",
                                     url="https://yt/c")
    UserChannel.objects.create(user=user, channel=channel)
    video = Video.objects.create(video_id="crudvideo01", title="v", channel=channel)
    UserVideo.objects.create(user=user, video=video, is_watched=True)
    with transaction.atomic():
        victim = User.objects.get(username=spec["delete_user"])
        owned = (UserChannel.objects.filter(user=victim).count(), UserVideo.objects.filter(user=victim).count())
        victim.delete()  # Django cascades in Python: subscriptions and watch rows go with the user
    out["deleted_user_rows"] = list(owned)
    channel.delete()  # SET_NULL on its video, CASCADE on its subscription, in Python
    video.refresh_from_db()
    out["video_after_channel_delete"] = video.channel_id
    video.delete()
    user.delete()
    return out


def load_channel(spec: dict) -> dict:
    """A channel as the app's admin form loads it: every field of the model (JSON-ready)."""
    channel = Channel.objects.get(channel_id=spec["channel_id"])
    return {f.attname: _jsonable(getattr(channel, f.attname)) for f in Channel._meta.concrete_fields}


def save_stale(spec: dict) -> dict:
    """Model.save() of a copy loaded earlier: Django writes every field it knows, stale values included
    (and a fresh updated_at), exactly as an admin saving a form opened before a refresh does."""
    names = [f.attname for f in Channel._meta.concrete_fields]
    loaded = Channel.from_db("default", names, [f.to_python(spec["fields"][f.attname])
                                                for f in Channel._meta.concrete_fields])
    loaded.save()
    return {"saved": spec["fields"]["channel_id"]}


def create_staff(spec: dict) -> dict:
    """A superuser who signs in to the admin with a password (what `createsuperuser` makes)."""
    user = User.objects.create_superuser(spec["username"], password=spec["password"])
    return {"id": user.id}


def _jsonable(value):
    return value.isoformat() if isinstance(value, datetime) else str(value) if hasattr(value, "hex") else value


OPS = {"seed": seed, "unsubscribe_quietly": unsubscribe_quietly, "subscribe": subscribe,
       "create_channel": create_channel, "create_staff": create_staff, "crud": crud, "load_channel": load_channel,
       "save_stale": save_stale}

if __name__ == "__main__":
    print(json.dumps(OPS[sys.argv[1]](json.loads(sys.argv[2]) if len(sys.argv) > 2 else {})))
