"""Counts the video checks compare: rows of videos_video and users_uservideo (nothing may be lost)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from channel_assets.db.core.models import UserVideo, Video


@dataclass(frozen=True)
class VideoCounts:
    videos: int
    watch_rows: int


def video_counts(engine: Engine) -> VideoCounts:
    with engine.connect() as conn:
        return VideoCounts(conn.execute(select(func.count()).select_from(Video)).scalar(),
                           conn.execute(select(func.count()).select_from(UserVideo)).scalar())
