"""Django settings of the test gallery app: PostgreSQL from GALLERY_DATABASE_URL, the admin, and the
pipeline's Django integration (channel_assets.app.django, the extra `channel-assets[django]`)."""

import os

from sqlalchemy.engine import make_url

_url = make_url(os.environ.get("GALLERY_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/gallery"))

SECRET_KEY = "gallery-test-only"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "users.User"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channel_assets_tests.gallery_app.users",
    "channel_assets_tests.gallery_app.videos",
    "channel_assets.app.django",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "channel_assets_tests.gallery_app.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
STATIC_URL = "static/"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _url.database,
        "USER": _url.username or "postgres",
        "PASSWORD": _url.password or "",
        "HOST": _url.host or _url.query.get("host", "127.0.0.1"),  # the embedded test server: a socket dir
        "PORT": str(_url.port or 5432),
    }
}
