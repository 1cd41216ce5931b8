from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "channel_assets_tests.gallery_app.users"
    label = "users"
