"""The gallery app's rows and clients for the in-process Django tests (after conftest's django_gallery)."""

from __future__ import annotations

import itertools
import os
import uuid

from sqlalchemy import insert

from channel_assets.db.core.models import ChannelUpdateLog

API = "/api"
_serial = itertools.count()


def csrf_client(user):
    """A test client that checks CSRF as a browser session would (Django's client skips it by default)."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


class GalleryApp:
    """Fresh users and channels per test (the database is the worker's), and what the pipeline stored."""

    def __init__(self, gallery) -> None:
        self.engine = gallery.engine

    @staticmethod
    def suffix() -> str:
        return f"{os.getpid()}x{next(_serial)}"

    def user(self, staff: bool = False, name: str | None = None):
        from channel_assets_tests.gallery_app.users.models import User

        return User.objects.create_user(name or f"{'staff' if staff else 'user'}-{self.suffix()}", password="pw",
                                        is_staff=staff)

    def superuser(self):
        user = self.user(staff=True)
        user.is_superuser = True
        user.save()
        return user

    def channel(self, title: str = "imported", channel_id: str | None = None):
        from channel_assets_tests.gallery_app.videos.models import Channel

        cid = channel_id or ("UC" + uuid.uuid4().hex[:22])
        return Channel.objects.create(channel_id=cid, title=title, description="", url=f"https://yt/{cid}")

    def channel_count(self) -> int:
        from channel_assets_tests.gallery_app.videos.models import Channel

        return Channel.objects.count()

    def follow(self, user, channel, active: bool = True) -> None:
        from channel_assets_tests.gallery_app.users.models import UserChannel

        UserChannel.objects.create(user=user, channel=channel, is_active=active)

    def client(self, user):
        from django.test import Client

        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    def log(self, channel, **row) -> None:
        """An update-log row as the pipeline writes one."""
        with self.engine.begin() as conn:
            conn.execute(insert(ChannelUpdateLog).values(channel_uuid=channel.uuid, channel_id=channel.channel_id,
                                                         **row))

    def stored_request(self, request_id: int):
        from channel_assets.app.django.models import PipelineRequest

        return PipelineRequest.objects.get(pk=request_id)

    def requests_of(self, requested_by: str) -> list:
        from channel_assets.app.django.models import PipelineRequest

        return list(PipelineRequest.objects.filter(requested_by=requested_by).order_by("id"))
