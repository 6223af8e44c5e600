"""Hook implementations of the Jira plugin: the connector and its simulator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from collabhub.hookspecs import hookimpl
from collabhub.testing.simulator import Simulator, SimulatorSpec
from collabhub_jira.connector import JiraConnector

DEMO_WEBHOOK_SECRET = "demo-jira-webhook-secret"


def _create(company: Any) -> Simulator:
    from collabhub.testing.sims.jira import JiraSimulator

    return JiraSimulator(company)


def _settings(sim: Any) -> dict[str, Any]:
    return sim.connector_settings(webhook_secret=DEMO_WEBHOOK_SECRET)


@hookimpl
def register_connectors(register: Callable[[type], None]) -> None:
    register(JiraConnector)


@hookimpl
def register_simulators(register: Callable[[SimulatorSpec], None]) -> None:
    register(SimulatorSpec(connector_type=JiraConnector.type, name="jira-demo", create=_create, settings=_settings))
