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


def test_the_readme_configuration_table_is_the_declarations_table():
    from pathlib import Path

    from channel_assets.settings import PROJECT_ROOT, SETTINGS, settings_table

    readme = Path(PROJECT_ROOT / "README.md").read_text()
    table = readme[readme.index("## Configuration"):readme.index("\n## ", readme.index("## Configuration") + 5)]
    assert settings_table() in table, "README's table differs: `channel-assets settings --markdown` prints it"
    missing = [s.variable for s in SETTINGS.values() if f"| `{s.variable}` |" not in table]
    assert not missing, f"not in the README's configuration table: {missing}"


def test_every_resource_field_is_its_variable_when_set_and_the_declared_default_otherwise(monkeypatch):
    import dagster as dg

    from channel_assets.defs.alerts.resources import build_alert_channels
    from channel_assets.defs.resources import PipelinePolicy, build_resources
    from channel_assets.settings import SETTINGS

    resources = {**build_resources(), "alert_channels": build_alert_channels()}
    for resource in resources.values():  # nothing set: the declarations' defaults, no variable read
        for name, info in type(resource).model_fields.items():
            s = SETTINGS[info.json_schema_extra["setting"]]
            assert getattr(resource, name) == (int(s.default) if s.is_int else s.default), name
    for resource in resources.values():
        for info in type(resource).model_fields.values():
            s = SETTINGS[info.json_schema_extra["setting"]]
            monkeypatch.setenv(s.variable, "3" if s.is_int else {
                "database_url": "postgresql://u@h/db", "http_url": "http://set.example",
                "secret_http_url": "http://set.example", "boolean": "true"}.get(s.parse.__name__, "0.5"))
    resources = {**build_resources(), "alert_channels": build_alert_channels()}
    for resource in resources.values():  # every field a dg.EnvVar: the UI shows the variable, never the value
        for name, info in type(resource).model_fields.items():
            value = getattr(resource, name)  # dg.EnvVar, or for int fields its int twin (EnvVar.int)
            assert getattr(value, "env_var_name", None) == SETTINGS[info.json_schema_extra["setting"]].variable, name

    @dg.asset
    def seen(policy: PipelinePolicy):
        return policy.share, policy.quota_pipeline_limit, policy.dry_run, policy.cooldown_days

    result = dg.materialize([seen], resources={"policy": resources["policy"]})
    assert result.output_for_node("seen") == (0.5, 1, True, 3)


def test_settings_command_masks_secrets_and_names_the_source(monkeypatch, capsys):
    from channel_assets.cli.main import main

    monkeypatch.setenv("YOUTUBE_API_KEY", "AIzaSECRETSECRET")
    monkeypatch.setenv("YOUTUBE_MAX_CALLS_IN_FLIGHT", "4")
    assert main(["settings"]) == 0
    out = capsys.readouterr().out
    assert "AIzaSECRETSECRET" not in out
    line = next(ln for ln in out.splitlines() if ln.startswith("YOUTUBE_MAX_CALLS_IN_FLIGHT"))
    assert " 4 " in line and "(environment)" in line
    assert "(default)" in next(ln for ln in out.splitlines() if ln.startswith("CHANNEL_ASSETS_COOLDOWN_DAYS"))
    monkeypatch.setenv("YOUTUBE_MAX_CALLS_IN_FLIGHT", "many")
    assert main(["settings"]) == 2
    assert "YOUTUBE_MAX_CALLS_IN_FLIGHT must be an integer" in capsys.readouterr().err
