"""Connector entries: nested `settings:`, the exported config folder, errors grouped, public names."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import collabhub.config
from collabhub.config import ConfigProblems, load_config, resolve_config_path, validate_file
from collabhub.errors import ConfigError


def test_settings_may_be_nested_under_settings(write, host):
    path = write("""
        connectors:
          eng:
            type: notes
            schedule: every 10m
            settings:
              base_url: https://notes.example.com
              api_token: t
              page_size: 20
        """)
    entry = load_config(path, host=host, env={}).connector("eng")
    assert entry.config.page_size == 20
    assert str(entry.schedule) == "every 10m"


def test_nested_settings_errors_are_located_inside_the_block(write, host):
    path = write("""
        connectors:
          eng:
            type: notes
            settings:
              base_url: https://notes.example.com
              api_token: t
              page_sise: 20
        """)
    assert validate_file(path, host=host, env={})[0].startswith(
        f"{path}:7:7: connectors.eng.settings.page_sise: unknown key (did you mean 'page_size'?")


def test_settings_split_between_block_and_entry_is_an_error(write, host):
    path = write("""
        connectors:
          eng:
            type: notes
            base_url: https://notes.example.com
            settings:
              api_token: t
        """)
    lines = validate_file(path, host=host, env={})
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}:4:5: connectors.eng.base_url: this connector's settings are split")


def test_config_folder_is_exported_and_interpolatable(write, host, tmp_path, monkeypatch):
    monkeypatch.setenv("COLLABHUB_CONFIG_DIR", "restored-after-the-test")
    monkeypatch.delenv("COLLABHUB_CONFIG_DIR")
    path = write("""
        store:
          url: sqlite:///${COLLABHUB_CONFIG_DIR}/hub.db
        """)
    injected = load_config(path, host=host, env={})
    assert injected.store.url == f"sqlite:///{tmp_path.resolve()}/hub.db"
    assert "COLLABHUB_CONFIG_DIR" not in os.environ  # an injected environment leaves the process alone
    load_config(path, host=host)
    assert os.environ["COLLABHUB_CONFIG_DIR"] == str(tmp_path.resolve())


def test_resolve_config_path(tmp_path):
    assert resolve_config_path("x.yaml", env={"COLLABHUB_CONFIG": "y.yaml"}) == Path("x.yaml")
    assert resolve_config_path(None, env={"COLLABHUB_CONFIG": "y.yaml"}) == Path("y.yaml")
    assert resolve_config_path(None, env={}) == Path("collabhub.yaml")


def test_problem_groups_flatten():
    one = ConfigError("a", location="f:1:1", key="k")
    group = ConfigProblems([ConfigError("b", location="f:2:1"), ConfigError("c", location="f:3:1")])
    flat = ConfigProblems([one, group])
    assert flat.errors == ["f:1:1: k: a", "f:2:1: b", "f:3:1: c"]
    assert str(flat) == "f:1:1: k: a"
    assert isinstance(flat, ConfigError)


def test_entry_header_errors(write, host):
    path = write("""
        connectors:
          eng:
            enabled: maybe
            base_url: https://notes.example.com
          "bad name!": {type: notes, base_url: "https://x", api_token: t}
          empty:
        """)
    lines = validate_file(path, host=host, env={})
    assert lines == [
        f"{path}:2:3: connectors.eng.type: field required",
        f"{path}:3:14: connectors.eng.enabled: Input should be a valid boolean, unable to interpret input "
        "(got 'maybe')",
        f"{path}:5:3: connectors.bad name!: a connector name is 1-64 letters, digits, '.', '_' or '-', "
        "starting with a letter or digit (got 'bad name!')",
        f"{path}:6:3: connectors.empty: Input should be a valid dictionary (got an empty value)",
    ]


def test_public_names_are_pinned():
    assert sorted(collabhub.config.__all__) == sorted([
        "CONFIG_DIR_ENV", "DEFAULT_CONFIG_FILE", "ConfigDocument", "ConfigProblems", "ConnectorEntry",
        "CoordinationOffice", "DaemonSection", "DepartmentSpec", "HubConfig", "PersonSpec", "ProjectSpec",
        "Settings", "StoreSection", "WebhookSettings", "load_config", "resolve_config_path", "validate_file",
    ])
    for name in collabhub.config.__all__:
        assert getattr(collabhub.config, name) is not None


@pytest.mark.parametrize("value", ["true", "yes", "on", True])
def test_enabled_accepts_yaml_and_env_booleans(write, host, value):
    path = write(f"""
        connectors:
          eng:
            type: notes
            enabled: "${{ENG_ON:-{value}}}"
            base_url: https://notes.example.com
            api_token: t
        """)
    assert load_config(path, host=host, env={}).connector("eng").enabled is True


def test_anchors_and_merge_keys_are_located_where_written(write, host):
    path = write("""
        x-notes: &notes
          type: notes
          base_url: https://notes.example.com
          api_token: ${NOTES_TOKEN}
          page_size: lots
        connectors:
          a:
            <<: *notes
            schedule: every 5m
          b: *notes
        """)
    assert validate_file(path, host=host, env={"NOTES_TOKEN": "t"}) == [
        f"{path}:5:14: connectors.a.page_size: Input should be a valid integer, unable to parse string as an "
        "integer (got 'lots')",
        f"{path}:5:14: connectors.b.page_size: Input should be a valid integer, unable to parse string as an "
        "integer (got 'lots')",
    ]
    missing = validate_file(path, host=host, env={})
    assert [line.split(": ")[1] for line in missing if "NOTES_TOKEN" in line] == [
        "connectors.a.api_token", "connectors.b.api_token"]


def test_x_keys_hold_anchors_only(write, host):
    path = write("""
        x-defaults: &defaults
          type: notes
          base_url: https://notes.example.com
          api_token: ${UNUSED_ELSEWHERE:-t}
        connectors:
          eng: {<<: *defaults, page_size: 7}
        """)
    config = load_config(path, host=host, env={})
    assert config.connector("eng").config.page_size == 7
    assert config.connector("eng").config.base_url == "https://notes.example.com"
