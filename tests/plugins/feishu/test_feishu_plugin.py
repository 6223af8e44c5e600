"""The plugin registers the connector and the demo simulator through the entry point."""

from __future__ import annotations

from collabhub.plugins import PluginHost
from collabhub.testing.company import generate_company
from collabhub_feishu.connector import FeishuConnector


def test_entry_point_registers_connector_and_simulator() -> None:
    host = PluginHost(allow={"feishu"})
    assert host.connector_types()["feishu"] is FeishuConnector
    spec = host.simulators()["feishu-demo"]
    assert spec.connector_type == "feishu"
    sim = spec.create(generate_company())
    with sim:
        settings = spec.settings(sim)
        config = FeishuConnector.Config.model_validate(settings)
    assert config.api_base() == sim.base_url
    assert {a.kind for a in config.approvals} == {"booking", "task"}
    for secret in (sim.app_secret, sim.encrypt_key, sim.verification_token):
        assert secret not in repr(config)


def test_declared_streams_and_channels() -> None:
    assert [s.name for s in FeishuConnector.stream_classes] == [
        "departments", "users", "rooms", "events", "tasks", "approvals", "room_freebusy"]
    assert sorted(w.channel for w in FeishuConnector.writer_classes) == ["bot", "card", "task"]
