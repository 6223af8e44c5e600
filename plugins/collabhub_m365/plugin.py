"""Hook implementations of the built-in Microsoft 365 plugin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from collabhub.hookspecs import hookimpl
from collabhub.testing.simulator import SimulatorSpec

from .connector import M365Connector


@hookimpl
def register_connectors(register: Callable[[type[M365Connector]], None]) -> None:
    register(M365Connector)


def _create(company: Any) -> Any:
    from collabhub.testing.sims.m365 import M365Simulator

    return M365Simulator(company)


@hookimpl
def register_simulators(register: Callable[[SimulatorSpec], None]) -> None:
    register(SimulatorSpec(connector_type=M365Connector.type, name="m365-demo", create=_create,
                           settings=lambda sim: sim.connector_settings()))
