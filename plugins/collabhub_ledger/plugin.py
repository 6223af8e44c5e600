"""Entry point of the built-in ``ledger`` connector."""

from __future__ import annotations

from collections.abc import Callable

from collabhub.connector import Connector
from collabhub.hookspecs import hookimpl
from collabhub_ledger.connector import LedgerConnector


@hookimpl
def register_connectors(register: Callable[[type[Connector]], None]) -> None:
    register(LedgerConnector)
