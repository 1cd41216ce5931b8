"""The gallery app's URLs: the admin and the pipeline's endpoints under api/."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("channel_assets.app.django.urls")),
]
