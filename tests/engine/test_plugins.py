"""Plugin loading and every hook, exercised through the example plugin (a plugin under tests/).

The meta-test in test_docs.py requires a ``test_hook_<name>`` here for every hookspec.
"""

from __future__ import annotations

import asyncio

import pytest
from typer.testing import CliRunner

from collabhub.errors import PluginError
from collabhub.hookspecs import hookimpl
from collabhub.plugins import PluginHost


def test_hook_register_connectors(example_plugin):
    assert "example" in example_plugin.connector_types()
    info = {p.name: p for p in example_plugin.plugins()}["example"]
    assert info.version == "0.1.0" and info.connectors == ["example"]
    assert "register_connectors" in info.hooks


def test_hook_register_commands(example_plugin, monkeypatch):
    from collabhub import cli

    example_plugin.register_commands(cli.app)
    result = CliRunner().invoke(cli.app, ["example-hello"])
    assert result.exit_code == 0, result.output
    assert "hello from the example plugin" in result.output


def test_hook_register_simulators(example_plugin):
    spec = example_plugin.simulators()["example-demo"]
    assert spec.connector_type == "example"
    sim = spec.create(None)
    with sim:
        import httpx

        assert httpx.get(sim.base_url + "/healthz").json() == {"ok": True}
    assert spec.settings(sim) == {"path": "items.jsonl"}


def test_hook_resolve_person(example_plugin):
    from collabhub.model import PersonRef

    assert example_plugin.resolve_person(PersonRef(connector="x", display_name="Example Person")) == {
        "email": "example.person@example.com"}
    assert example_plugin.resolve_person(PersonRef(connector="x", display_name="Nobody")) is None


def test_hook_run_finished(example_plugin, tmp_path, sqlite_url, items_writer, config_writer):
    import collabhub_example

    from collabhub.config import load_config
    from collabhub.engine import Engine
    from collabhub.store import Store

    items = items_writer(tmp_path / "items.jsonl", 12)
    config = load_config(config_writer(tmp_path, sqlite_url, items), host=example_plugin)
    store = Store(config.store.url)
    store.upgrade()
    collabhub_example.EVENTS.clear()

    async def run():
        engine = Engine(config, store, example_plugin)
        try:
            return await engine.run_connector("notes")
        finally:
            await engine.aclose()

    summary = asyncio.run(run())
    events = [payload for name, payload in collabhub_example.EVENTS if name == "run_finished"]
    assert events == [("notes", summary.run_id, "ok", {"items": summary.streams["items"].counts()})]


def test_hook_delivery_made(example_plugin, tmp_path, sqlite_url, items_writer, config_writer):
    import collabhub_example

    from collabhub.config import load_config
    from collabhub.engine import Engine
    from collabhub.rules import RulesEngine
    from collabhub.store import OutboxItem, Store

    items = items_writer(tmp_path / "items.jsonl", 1)
    config = load_config(config_writer(tmp_path, sqlite_url, items), host=example_plugin)
    store = Store(config.store.url)
    store.upgrade()
    store.enqueue([OutboxItem(idempotency_key="k-1", target_connector="notes", channel="note", target={},
                              content={"text": "hello"}, entity_connector="notes", entity_kind="task",
                              entity_external_id="A-0", entity_version=1)])
    collabhub_example.EVENTS.clear()

    async def run():
        engine = Engine(config, store, example_plugin)
        try:
            return await RulesEngine(config, store, host=example_plugin).dispatch({"notes": engine.connector("notes")})
        finally:
            await engine.aclose()

    result = asyncio.run(run())
    assert result.sent == 1
    assert ("delivery_made", ("note", "notes", "k-1", "k-1")) in collabhub_example.EVENTS


def test_allow_list_limits_loading(example_plugin, monkeypatch):
    monkeypatch.setenv("COLLABHUB_LOAD_PLUGINS", "ledger")
    host = PluginHost()
    assert "example" not in host.connector_types()
    monkeypatch.setenv("COLLABHUB_LOAD_PLUGINS", "")
    assert PluginHost().connector_types() == {}


def test_misspelled_hook_fails_loudly():
    class Typo:
        @hookimpl
        def register_conectors(self, register):  # one letter missing
            pass

    host = PluginHost(load_entry_points=False)
    host.pm.register(Typo(), name="typo")
    with pytest.raises(PluginError, match="register_conectors"):
        host.check()


def test_two_plugins_claiming_one_type_is_an_error(example_plugin):
    import collabhub_example

    class Clash:
        @hookimpl
        def register_connectors(self, register):
            register(type("Other", (collabhub_example.ExampleConnector,), {}))

    with pytest.raises(PluginError, match="registered by both"):
        example_plugin.register(Clash(), name="clash")


def test_unknown_connector_type_names_installed_ones(example_plugin):
    with pytest.raises(PluginError, match="installed types: example"):
        example_plugin.connector_class("nope")


def test_register_rejects_non_connectors():
    class Bad:
        @hookimpl
        def register_connectors(self, register):
            register(dict)

    with pytest.raises(PluginError, match="not a Connector subclass"):
        PluginHost(load_entry_points=False).register(Bad(), name="bad")
