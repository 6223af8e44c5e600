"""Hook implementations of the DingTalk plugin: the connector and its simulator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from collabhub.hookspecs import hookimpl

__all__ = ["register_connectors", "register_simulators", "simulator_settings"]


@hookimpl
def register_connectors(register: Callable[[type], None]) -> None:
    from collabhub_dingtalk.connector import DingTalkConnector

    register(DingTalkConnector)


def simulator_settings(sim: Any) -> dict[str, Any]:
    """Connector settings (as the YAML holds them) that reach a started DingTalk simulator."""
    from collabhub.testing.sims.dingtalk import APPROVAL_GENERAL, APPROVAL_ROOM

    company = sim.company
    operator = company.people[0].dingtalk_union_id
    token, robot = next(iter(sim.robots.items()))
    return {
        "app_key": sim.app_key,
        "app_secret": sim.app_secret,
        "corp_id": sim.corp_id,
        "api_base_url": sim.base_url,
        "oapi_base_url": sim.base_url,
        "operator_union_id": operator,
        "window_start": (company.start.replace(day=1)).isoformat(),
        "approvals": [{"process_code": APPROVAL_GENERAL, "kind": "task"},
                      {"process_code": APPROVAL_ROOM, "kind": "booking", "room_field": "会议室", "time_field": "时间"}],
        "robots": {"coordination": {"access_token": token, "secret": robot.secret}},
        "callback": {"token": sim.callback_token, "aes_key": sim.aes_key, "owner_key": sim.app_key},
        "events": "http",
        "qps_wait": 0.2,
    }


@hookimpl
def register_simulators(register: Callable[[Any], None]) -> None:
    from collabhub.testing.sims.dingtalk import DingTalkSimulator
    from collabhub.testing.simulator import SimulatorSpec

    register(SimulatorSpec(connector_type="dingtalk", name="dingtalk-demo",
                           create=lambda company: DingTalkSimulator(company), settings=simulator_settings))
