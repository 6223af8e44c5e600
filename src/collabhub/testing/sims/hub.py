"""A hub around one simulated connector: config file, migrated store and engine, for tests and benchmarks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from collabhub.config import HubConfig, load_config
from collabhub.connector import ConnectorContext
from collabhub.engine import Engine, RunSummary
from collabhub.plugins import PluginHost
from collabhub.store import Store

__all__ = ["SimHub", "sim_hub"]


class SimHub:
    """The loaded config, the upgraded store and the plugin host of one hub; ``engine()`` makes a fresh engine."""

    def __init__(self, config: HubConfig, store: Store, host: PluginHost, *,
                 context_factory: Callable[[str], ConnectorContext] | None) -> None:
        self.config = config
        self.store = store
        self.host = host
        self.context_factory = context_factory

    def engine(self) -> Engine:
        """A new engine over this hub's config and store."""
        return Engine(self.config, self.store, self.host, context_factory=self.context_factory)

    async def run_async(self, connector: str) -> RunSummary:
        """One run of ``connector`` through a new engine, closed afterwards."""
        engine = self.engine()
        try:
            return await engine.run_connector(connector)
        finally:
            await engine.aclose()

    def run(self, connector: str) -> RunSummary:
        """``run_async`` from synchronous code (its own event loop)."""
        return asyncio.run(self.run_async(connector))


def sim_hub(workdir: Path, name: str, connector: Mapping[str, Any], *, db: str = "hub",
            store_url: str | None = None, host: PluginHost | None = None,
            context_factory: Callable[[str], ConnectorContext] | None = lambda _connector: ConnectorContext(),
            **top: Any) -> SimHub:
    """Write ``<db>.yaml`` in ``workdir`` with one connector ``name`` (its settings ``connector``, ``type`` included).

    The store is ``store_url`` or the SQLite file ``<db>.sqlite`` beside it, migrated to the latest schema;
    ``top`` adds top-level config sections (``departments``, ...). The default ``context_factory`` gives
    each connector a plain ``ConnectorContext`` (real clock, default transport); pass ``None`` for the
    engine's own default.
    """
    path = workdir / f"{db}.yaml"
    with path.open("w", encoding="utf-8") as fh:
        YAML().dump({"store": {"url": store_url or f"sqlite:///{workdir / db}.sqlite"},
                     "connectors": {name: dict(connector)}, **top}, fh)
    host = host if host is not None else PluginHost()
    config = load_config(path, host=host)
    store = Store(config.store.url)
    store.upgrade()
    return SimHub(config, store, host, context_factory=context_factory)
