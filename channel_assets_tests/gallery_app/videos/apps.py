from django.apps import AppConfig


class VideosConfig(AppConfig):
    name = "channel_assets_tests.gallery_app.videos"
    label = "videos"
