"""`path("api/", include("channel_assets.app.django.urls"))` in the app's urls.py (any prefix works)."""

from django.urls import path

from . import views

app_name = "channel_assets"

urlpatterns = [
    path("channels/update_status/", views.update_status, name="update_status"),
    path("channels/trigger_cleanup/", views.trigger_cleanup, name="trigger_cleanup"),
    path("channels/<str:channel>/force_update/", views.force_update, name="force_update"),
    path("channels/<str:channel>/update_history/", views.update_history, name="update_history"),
    path("channels/<str:channel>/request_refresh/", views.request_refresh, name="request_refresh"),
    path("requests/<int:request_id>/", views.request_status, name="request_status"),
]
