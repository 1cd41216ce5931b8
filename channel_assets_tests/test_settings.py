import pytest

from channel_assets.defs.resources import PipelinePolicy
from channel_assets.settings import SettingsError, load_settings


def test_defaults_are_sane():
    s = load_settings({})
    assert s.database_url.startswith("postgresql+psycopg://postgres@/channel_assets?host=")
    assert s.youtube_api_base_url == "https://www.googleapis.com"
    assert s.youtube_feed_base_url == "https://www.youtube.com"
    assert PipelinePolicy.from_settings(s).quota_pipeline_limit == 8000  # the one place the share is applied
    assert (s.cooldown_days, s.log_retention_days, s.max_calls_in_flight) == (7, 90, 16)
    assert s.max_feeds_in_flight == 32
    assert not s.dry_run


def test_feed_concurrency_is_its_own_setting():
    s = load_settings({"YOUTUBE_MAX_FEEDS_IN_FLIGHT": "64", "YOUTUBE_MAX_CALLS_IN_FLIGHT": "4"})
    assert (s.max_feeds_in_flight, s.max_calls_in_flight) == (64, 4)


def test_local_emulator_serves_the_feed_too():
    s = load_settings({"YOUTUBE_API_BASE_URL": "http://127.0.0.1:8089/"})
    assert s.youtube_api_base_url == s.youtube_feed_base_url == "http://127.0.0.1:8089"


def test_plain_postgresql_url_uses_psycopg3():
    s = load_settings({"CHANNEL_ASSETS_DATABASE_URL": "postgresql://u@h/db"})
    assert s.database_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CHANNEL_ASSETS_DATABASE_URL", "mysql://x/y"),
        ("CHANNEL_ASSETS_DATABASE_URL", "sqlite:///app.db"),
        ("YOUTUBE_API_BASE_URL", "not a url"),
        ("YOUTUBE_API_BASE_URL", "ftp://example.com"),
        ("YOUTUBE_QUOTA_DAILY_LIMIT", "-5"),
        ("YOUTUBE_QUOTA_DAILY_LIMIT", "lots"),
        ("YOUTUBE_QUOTA_PIPELINE_SHARE", "1.5"),
        ("YOUTUBE_QUOTA_PIPELINE_SHARE", "0"),
        ("CHANNEL_ASSETS_COOLDOWN_DAYS", "-1"),
        ("CHANNEL_ASSETS_LOG_RETENTION_DAYS", "0"),
        ("CHANNEL_ASSETS_CLEANUP_DRY_RUN", "maybe"),
        ("YOUTUBE_MAX_FEEDS_IN_FLIGHT", "0"),
    ],
)
def test_bad_values_fail_with_one_line_naming_the_variable(name, value):
    with pytest.raises(SettingsError) as err:
        load_settings({name: value})
    message = str(err.value)
    assert name in message and "\n" not in message


def test_sqlite_is_refused_with_the_way_to_the_embedded_postgresql():
    with pytest.raises(SettingsError, match="PostgreSQL is required.*leave it unset for the embedded one"):
        load_settings({"CHANNEL_ASSETS_DATABASE_URL": "sqlite:////tmp/app.db"})


def test_a_url_without_scheme_is_refused_without_echoing_its_password():
    with pytest.raises(SettingsError) as err:
        load_settings({"CHANNEL_ASSETS_DATABASE_URL": "app:s3cretpw@db-host/gallery"})
    assert "s3cretpw" not in str(err.value) and "no scheme" in str(err.value)


def test_repr_never_shows_the_api_key():
    s = load_settings({"YOUTUBE_API_KEY": "AIzaSECRETSECRET"})
    assert "AIzaSECRETSECRET" not in repr(s)


def test_the_readme_configuration_table_lists_every_variable():
    from pathlib import Path

    from channel_assets.settings import PROJECT_ROOT, VARIABLES

    readme = Path(PROJECT_ROOT / "README.md").read_text()
    table = readme[readme.index("## Configuration"):readme.index("\n## ", readme.index("## Configuration") + 5)]
    missing = [name for name, _, _ in VARIABLES if f"| `{name}` |" not in table]
    assert not missing, f"not in the README's configuration table: {missing}"
