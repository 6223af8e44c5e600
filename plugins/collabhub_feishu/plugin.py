"""Hook implementations of the built-in Feishu (Lark) plugin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from collabhub.hookspecs import hookimpl
from collabhub_feishu.connector import FeishuConnector


@hookimpl
def register_connectors(register: Callable[[type[FeishuConnector]], None]) -> None:
    register(FeishuConnector)


@hookimpl
def register_simulators(register: Callable[[Any], None]) -> None:
    from collabhub.testing.simulator import SimulatorSpec

    def create(company: Any) -> Any:
        from collabhub.testing.sims.feishu import FeishuSimulator

        return FeishuSimulator(company)

    register(SimulatorSpec(connector_type=FeishuConnector.type, name="feishu-demo", create=create,
                           settings=lambda sim: sim.connector_settings()))
