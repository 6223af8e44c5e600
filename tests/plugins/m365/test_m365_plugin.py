"""The plugin's hooks: the connector and the demo simulator are registered through the entry point."""

from __future__ import annotations

import pytest

from collabhub.plugins import PluginHost
from collabhub.testing.company import generate_company
from collabhub_m365.connector import M365Connector


def test_connector_registered() -> None:
    assert PluginHost(allow={"m365"}).connector_types()["m365"] is M365Connector


@pytest.mark.slow
async def test_demo_simulator_spec_reaches_a_working_connector() -> None:
    spec = PluginHost(allow={"m365"}).simulators()["m365-demo"]
    assert spec.connector_type == "m365"
    sim = spec.create(generate_company())
    sim.start()
    try:
        settings = spec.settings(sim)
        assert settings["authority_host"].startswith("https://") and settings["http"]["verify"]
        async with M365Connector("outlook", M365Connector.Config.model_validate(settings)) as connector:
            result = await connector.check()
        assert result.ok, result.details
    finally:
        sim.stop()
