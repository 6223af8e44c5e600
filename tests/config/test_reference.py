"""config/reference.yaml validates, its rules compile, and it shows every built-in option."""

from __future__ import annotations

import importlib.metadata
import re
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from collabhub.config import ConfigDocument, load_config, validate_file
from collabhub.connector import CheckResult, Connector, ConnectorConfig
from collabhub.hookspecs import hookimpl
from collabhub.plugins import ENTRY_POINT_GROUP, PluginHost

REFERENCE = Path(__file__).resolve().parents[2] / "config" / "reference.yaml"
ENTRY_KEYS = {"type", "enabled", "schedule"}


def _builtin_host() -> tuple[PluginHost, dict[str, str]]:
    """A host with every built-in plugin that imports; the others by name with the reason."""
    host = PluginHost(load_entry_points=False)
    broken: dict[str, str] = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            module = ep.load()
        except Exception as exc:  # a plugin still being written
            broken[ep.name] = f"{type(exc).__name__}: {exc}"
            continue
        host.register(module, name=ep.name)
    return host, broken


def _reference_types() -> set[str]:
    return set(re.findall(r"^    type: ([\w.-]+)", REFERENCE.read_text(encoding="utf-8"), flags=re.MULTILINE))


class _AnySettings(ConnectorConfig):
    model_config = ConfigDict(extra="allow")


def _stub(connector_type: str) -> type[Connector]:
    async def check(self: Connector) -> CheckResult:
        return CheckResult.passed()

    return type(f"Stub_{connector_type}", (Connector,), {"type": connector_type, "Config": _AnySettings,
                                                          "check": check})


@pytest.fixture(scope="module")
def builtin() -> tuple[PluginHost, dict[str, str]]:
    """Built-in plugins, plus permissive stand-ins for referenced types whose plugin does not import yet."""
    host, broken = _builtin_host()
    missing = sorted(_reference_types() - set(host.connector_types()))

    class Stubs:
        @hookimpl
        def register_connectors(self, register: typing.Callable[[type[Connector]], None]) -> None:
            for connector_type in missing:
                register(_stub(connector_type))

    host.register(Stubs(), name="reference-stubs")
    return host, broken


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    names = re.findall(r"\$\{(\w+)", REFERENCE.read_text(encoding="utf-8"))
    return {name: "x" * 43 for name in names}  # 43: DingTalk's EncodingAESKey length


def test_reference_config_validates(builtin, env):
    host, _ = builtin
    assert validate_file(REFERENCE, host=host, env=env) == []


def test_reference_sharing_rules_compile(builtin, env):
    ruleset = pytest.importorskip("collabhub.rules.ruleset")
    config = load_config(REFERENCE, host=builtin[0], env=env)
    assert len(ruleset.RuleSet.from_config(config).rules) == len(config.sharing)


def test_reference_has_an_entry_for_every_builtin_connector_type(builtin):
    host, broken = builtin
    installed = {t for t, cls in host.connector_types().items() if not cls.__name__.startswith("Stub_")}
    assert installed - _reference_types() == set()
    if broken:
        pytest.skip("built-in plugins that do not import yet, so their reference entries are unchecked: "
                    + "; ".join(f"{name} ({reason})" for name, reason in sorted(broken.items())))


# -- every option appears at least once ------------------------------------------------------


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    found = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        found.append(annotation)
    for arg in typing.get_args(annotation):
        found.extend(_models_in(arg))
    return found


def _children(value: Any) -> list[dict[str, Any]]:
    """The mappings a field value holds: itself, its items, or its values (name -> model)."""
    if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
        return [value, *value.values()]
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, dict)]
    return []


def _missing_options(model: type[BaseModel], values: list[dict[str, Any]], path: str,
                     skip: frozenset[str] = frozenset()) -> list[str]:
    keys = {key for value in values for key in value}
    missing = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        if name in skip:
            continue
        if key not in keys:
            missing.append(f"{path}{key}")
            continue
        for sub in _models_in(info.annotation):
            nested = [child for value in values if key in value for child in _children(value[key])]
            missing += _missing_options(sub, [n for n in nested if set(n) & set(sub.model_fields)] or nested,
                                        f"{path}{key}.")
    return missing


def _raw_reference() -> dict[str, Any]:
    from ruamel.yaml import YAML

    return YAML(typ="safe").load(REFERENCE.read_text(encoding="utf-8"))


def test_reference_shows_every_section_option():
    assert _missing_options(ConfigDocument, [_raw_reference()], "") == []


def test_reference_shows_every_rule_option():
    schema = pytest.importorskip("collabhub.rules.schema")
    rules = _raw_reference()["sharing"]
    keys = {key for rule in rules for key in rule}
    assert set(schema.RuleSpec.model_fields) - keys == set()


def _own_settings(entry: dict[str, Any]) -> dict[str, Any]:
    return entry.get("settings", {k: v for k, v in entry.items() if k not in ENTRY_KEYS})


def test_reference_shows_the_options_every_connector_has():
    entries = [_own_settings(entry) for entry in _raw_reference()["connectors"].values()]
    assert _missing_options(ConnectorConfig, entries, "") == []


def test_reference_shows_every_option_of_each_builtin_connector(builtin):
    """Options a plugin adds must appear on at least one entry of its type (shared ones once anywhere)."""
    host, _ = builtin
    entries = _raw_reference()["connectors"]
    shared = frozenset(ConnectorConfig.model_fields)
    missing = []
    for connector_type, cls in sorted(host.connector_types().items()):
        if cls.__name__.startswith("Stub_"):
            continue
        values = [_own_settings(entry) for entry in entries.values() if entry.get("type") == connector_type]
        missing += _missing_options(cls.Config, values, f"{connector_type}: ", skip=shared)
    assert missing == []
