"""Every collabhub hook. Hooks register things; base classes carry behaviour.

Grouped by lifecycle phase. Each hook is documented with its exact signature and an example in
``docs/plugins/hooks.md``; a meta-test keeps the two in step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from collections.abc import Callable

    import typer

    from collabhub.connector import Connector
    from collabhub.model import PersonRef
    from collabhub.testing.simulator import SimulatorSpec

hookspec = pluggy.HookspecMarker("collabhub")
hookimpl = pluggy.HookimplMarker("collabhub")


# -- load time -------------------------------------------------------------------------------


@hookspec
def register_connectors(register: Callable[[type[Connector]], None]) -> None:
    """Register connector classes by calling ``register(ConnectorSubclass)`` once per class."""


@hookspec
def register_commands(cli: typer.Typer) -> None:
    """Add commands to the ``collabhub`` command line."""


@hookspec
def register_simulators(register: Callable[[SimulatorSpec], None]) -> None:
    """Register simulators (for ``collabhub demo`` and tests) by calling ``register(SimulatorSpec(...))``."""


# -- sync time -------------------------------------------------------------------------------


@hookspec(firstresult=True)
def resolve_person(ref: PersonRef) -> dict[str, str] | None:
    """Return extra identity keys (``email``, ``mobile``, ``employee_id``) for a reference; first answer wins."""


@hookspec
def run_finished(connector: str, run_id: int, status: str, counts: dict[str, Any]) -> None:
    """Called after each connector run has committed, with its status and per-stream counts."""


@hookspec
def delivery_made(channel: str, target_connector: str, idempotency_key: str, external_id: str) -> None:
    """Called after a delivery was pushed to a remote system and recorded."""
