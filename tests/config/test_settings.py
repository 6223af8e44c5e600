"""COLLABHUB_* environment overrides (env beats YAML) and config file resolution."""

from __future__ import annotations

import pytest

from collabhub.config import Settings, load_config
from collabhub.errors import ConfigError

YAML = """
store:
  url: sqlite:///from-yaml.db
timezone: Europe/Berlin
daemon:
  default_schedule: every 30m
  webhooks:
    port: 9000
"""


def test_database_url_from_env_beats_yaml(write, host):
    path = write(YAML)
    env = {"COLLABHUB_DATABASE_URL": "postgresql+psycopg://hub:pw@db.internal:5432/hub"}
    config = load_config(path, host=host, env=env)
    assert config.store.url == "postgresql+psycopg://hub:pw@db.internal:5432/hub"
    assert "pw" not in repr(config.store)
    assert "pw" not in repr(config.settings)


def test_yaml_store_url_is_kept_without_override(write, host, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(write(YAML), host=host, env={})
    assert config.store.url == f"sqlite:///{(tmp_path / 'from-yaml.db').as_posix()}"


def test_default_store_is_sqlite_in_the_working_directory(write, host, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(write("timezone: UTC\n"), host=host, env={})
    assert config.store.url == f"sqlite:///{(tmp_path / 'collabhub.sqlite').as_posix()}"


def test_timezone_and_nested_daemon_overrides(write, host):
    env = {
        "COLLABHUB_TIMEZONE": "UTC",
        "COLLABHUB_DAEMON__DEFAULT_SCHEDULE": "every 5m",
        "COLLABHUB_DAEMON__DISPATCH_INTERVAL": "2.5",
        "COLLABHUB_DAEMON__WEBHOOKS__PORT": "8443",
        "COLLABHUB_DAEMON__WEBHOOKS__ENABLED": "true",
    }
    config = load_config(write(YAML), host=host, env=env)
    assert config.timezone == "UTC"
    assert str(config.default_schedule) == "every 5m"
    assert config.daemon.dispatch_interval == 2.5
    assert config.daemon.webhooks.port == 8443
    assert config.daemon.webhooks.enabled is True


def test_override_creates_missing_sections(write, host):
    config = load_config(write("timezone: UTC\n"), host=host,
                         env={"COLLABHUB_DAEMON__WEBHOOKS__HOST": "0.0.0.0", "COLLABHUB_DATABASE_URL": "sqlite://"})
    assert config.daemon.webhooks.host == "0.0.0.0"
    assert config.store.url == "sqlite://"


def test_bad_override_names_the_variable(write, host):
    with pytest.raises(ConfigError) as info:
        load_config(write(YAML), host=host, env={"COLLABHUB_DAEMON__WEBHOOKS__PORT": "eighty"})
    assert info.value.one_line() == ("environment: COLLABHUB_DAEMON__WEBHOOKS__PORT: Input should be a valid "
                                     "integer, unable to parse string as an integer (got 'eighty')")


def test_bad_timezone_override_names_the_variable(write, host):
    with pytest.raises(ConfigError) as info:
        load_config(write(YAML), host=host, env={"COLLABHUB_TIMEZONE": "Nowhere/City"})
    assert info.value.key == "COLLABHUB_TIMEZONE"
    assert info.value.location == "environment"


def test_log_level_and_plugin_allow_list_are_exposed(write, host):
    env = {"COLLABHUB_LOG_LEVEL": "debug", "COLLABHUB_LOAD_PLUGINS": "jira, feishu,"}
    config = load_config(write(YAML), host=host, env=env)
    assert config.settings.log_level == "DEBUG"
    assert config.settings.plugin_allow_list == {"jira", "feishu"}
    assert Settings.from_env({}).plugin_allow_list is None


def test_bad_log_level_is_an_environment_error(write, host):
    with pytest.raises(ConfigError) as info:
        load_config(write(YAML), host=host, env={"COLLABHUB_LOG_LEVEL": "loud"})
    assert info.value.key == "COLLABHUB_LOG_LEVEL"
    assert info.value.location == "environment"


def test_config_path_from_env(write, host):
    path = write("timezone: UTC\n", name="elsewhere.yaml")
    config = load_config(host=host, env={"COLLABHUB_CONFIG": str(path)})
    assert config.source_path == path.resolve()
    assert config.timezone == "UTC"


def test_default_config_path_is_the_working_directory(write, host, tmp_path, monkeypatch):
    write("timezone: UTC\n")
    monkeypatch.chdir(tmp_path)
    assert load_config(host=host, env={}).source_path == (tmp_path / "collabhub.yaml").resolve()


def test_missing_default_file_says_how_it_was_chosen(host, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_config(host=host, env={})
    assert info.value.one_line().startswith("config file collabhub.yaml does not exist "
                                            "(the default, in the working directory)")
    with pytest.raises(ConfigError, match=r"does not exist \(from COLLABHUB_CONFIG\)"):
        load_config(host=host, env={"COLLABHUB_CONFIG": "missing.yaml"})


def test_settings_read_os_environ_by_default(monkeypatch):
    monkeypatch.setenv("COLLABHUB_DATABASE_URL", "sqlite://")
    monkeypatch.setenv("COLLABHUB_DAEMON__STOP_TIMEOUT", "7")
    settings = Settings.from_env()
    assert settings.database_url == "sqlite://"
    assert settings.daemon.stop_timeout == "7"
    assert Settings.from_env({}).database_url is None


def test_empty_file_gives_defaults(write, host):
    config = load_config(write(""), host=host, env={})
    assert config.timezone == "Asia/Shanghai"
    assert str(config.default_schedule) == "every 15m"
    assert config.connectors == {}
