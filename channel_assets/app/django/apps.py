"""The AppConfig: label `channel_assets_django`; registers a default Channel admin when the app has none."""

from django.apps import AppConfig


class ChannelAssetsDjangoConfig(AppConfig):
    name = "channel_assets.app.django"
    label = "channel_assets_django"
    verbose_name = "Channel pipeline"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.apps import apps

        from . import conf

        if apps.is_installed("django.contrib.admin") and conf.get("REGISTER_CHANNEL_ADMIN"):
            from django.contrib import admin

            from .admin import register_default_channel_admin

            # Every app's admin.py first (imports run once, so this is what the admin does anyway): the
            # default is registered only when no app registered its own Channel admin.
            admin.autodiscover()
            register_default_channel_admin(admin.site)
