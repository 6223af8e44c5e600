"""Through the engine and a store: the monthly quota stops a run with a clear message and nothing is lost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from collabhub.testing.sims.dingtalk import DingTalkSimulator
from collabhub.testing.sims.hub import SimHub, sim_hub
from collabhub_dingtalk.plugin import simulator_settings


def _hub(tmp_path: Path, sim: DingTalkSimulator, db: str) -> SimHub:
    return sim_hub(tmp_path, "dingtalk", {"type": "dingtalk", **simulator_settings(sim), "qps_wait": 0.01}, db=db)


def _snapshot(store: Any) -> set[tuple[str, str, str, bool]]:
    return {(r.kind, r.external_id, r.content_hash, r.deleted) for r in store.iter_entities(include_deleted=True)}


def test_quota_reached_mid_run_then_resumed_next_month(sim: DingTalkSimulator, tmp_path: Path) -> None:
    reference = _hub(tmp_path, sim, "reference")
    assert reference.run("dingtalk").status == "ok"

    hub = _hub(tmp_path, sim, "quota")
    store = hub.store
    sim.quota(30)
    stopped = hub.run("dingtalk")
    assert stopped.status == "partial"
    assert any("monthly DingTalk API call quota" in e and "cursor kept" in e for e in stopped.errors)
    kept = store.get_cursor("dingtalk", "calendars")
    assert kept and kept["users"]  # the committed pages and their cursor stay

    sim.quota(None)  # the quota resets
    resumed = hub.run("dingtalk")
    assert resumed.status == "ok", resumed.errors
    assert _snapshot(store) == _snapshot(reference.store)
    again = hub.run("dingtalk")
    assert again.total("created") == again.total("updated") == again.total("deleted") == 0
