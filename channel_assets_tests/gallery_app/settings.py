"""Django settings of the test gallery app: PostgreSQL from GALLERY_DATABASE_URL, nothing else."""

import os

from sqlalchemy.engine import make_url

_url = make_url(os.environ.get("GALLERY_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/gallery"))

SECRET_KEY = "gallery-test-only"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "users.User"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "channel_assets_tests.gallery_app.users",
    "channel_assets_tests.gallery_app.videos",
]
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
