"""The plugin's hooks: the connector type and the demo simulator, loaded through the entry point."""

from __future__ import annotations

from collabhub.plugins import PluginHost
from collabhub.testing.company import Company
from collabhub.testing.sims.dingtalk import DingTalkSimulator
from collabhub_dingtalk.connector import DingTalkConnector


def test_entry_point_registers_connector_and_simulator(company: Company) -> None:
    host = PluginHost(allow={"dingtalk"})
    assert host.connector_class("dingtalk") is DingTalkConnector
    spec = host.simulators()["dingtalk-demo"]
    assert spec.connector_type == "dingtalk"
    sim = spec.create(company)
    assert isinstance(sim, DingTalkSimulator)
    with sim:
        settings = spec.settings(sim)
        config = DingTalkConnector.Config.model_validate(settings)
    assert config.api_base_url == config.oapi_base_url == sim.base_url
    assert {p.kind for p in config.approvals} == {"task", "booking"}
    assert config.callback is not None and config.robots
