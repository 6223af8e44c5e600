"""Through the engine and a store: the monthly quota stops a run with a clear message and nothing is lost."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from collabhub.connector import ConnectorContext
from collabhub.testing.sims.dingtalk import DingTalkSimulator
from collabhub_dingtalk.plugin import simulator_settings


def _engine(tmp_path: Path, sim: DingTalkSimulator, db: str) -> tuple[Any, Any]:
    from collabhub.config import load_config
    from collabhub.engine import Engine
    from collabhub.plugins import PluginHost
    from collabhub.store import Store

    settings = {**simulator_settings(sim), "qps_wait": 0.01}
    path = tmp_path / f"{db}.yaml"
    with path.open("w", encoding="utf-8") as fh:
        YAML().dump({"store": {"url": f"sqlite:///{tmp_path / db}.sqlite"},
                     "connectors": {"dingtalk": {"type": "dingtalk", **settings}}}, fh)
    host = PluginHost()
    config = load_config(path, host=host)
    store = Store(config.store.url)
    store.upgrade()
    return store, lambda: Engine(config, store, host, context_factory=lambda name: ConnectorContext())


def _run(make_engine: Any) -> Any:
    async def go() -> Any:
        engine = make_engine()
        try:
            return await engine.run_connector("dingtalk")
        finally:
            await engine.aclose()

    return asyncio.run(go())


def _snapshot(store: Any) -> set[tuple[str, str, str, bool]]:
    return {(r.kind, r.external_id, r.content_hash, r.deleted) for r in store.iter_entities(include_deleted=True)}


def test_quota_reached_mid_run_then_resumed_next_month(sim: DingTalkSimulator, tmp_path: Path) -> None:
    reference_store, reference = _engine(tmp_path, sim, "reference")
    assert _run(reference).status == "ok"

    store, make = _engine(tmp_path, sim, "quota")
    sim.quota(30)
    stopped = _run(make)
    assert stopped.status == "partial"
    assert any("monthly DingTalk API call quota" in e and "cursor kept" in e for e in stopped.errors)
    kept = store.get_cursor("dingtalk", "calendars")
    assert kept and kept["users"]  # the committed pages and their cursor stay

    sim.quota(None)  # the quota resets
    resumed = _run(make)
    assert resumed.status == "ok", resumed.errors
    assert _snapshot(store) == _snapshot(reference_store)
    again = _run(make)
    assert again.total("created") == again.total("updated") == again.total("deleted") == 0
