"""Fixtures: a plugin host with one tiny connector type, and a helper writing config files."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import Field, SecretStr

from collabhub.connector import CheckResult, Connector, ConnectorConfig
from collabhub.hookspecs import hookimpl
from collabhub.plugins import PluginHost


class NotesConnector(Connector):
    """A connector type whose Config has a required URL, a secret and a typed option."""

    type = "notes"

    class Config(ConnectorConfig):
        base_url: str
        api_token: SecretStr
        page_size: int = Field(50, ge=1, le=500)
        projects: list[str] = Field(default_factory=list)

    async def check(self) -> CheckResult:
        return CheckResult.passed("nothing to check")


class NotesPlugin:
    @hookimpl
    def register_connectors(self, register: Callable[[type[Connector]], None]) -> None:
        register(NotesConnector)


@pytest.fixture
def host() -> PluginHost:
    plugin_host = PluginHost(load_entry_points=False)
    plugin_host.register(NotesPlugin(), name="notes-plugin")
    return plugin_host


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str], Path]:
    """Write dedented YAML to ``collabhub.yaml`` under tmp_path and return its path."""

    def _write(text: str, name: str = "collabhub.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write
