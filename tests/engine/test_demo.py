"""The README's main command: ``collabhub demo`` runs a whole cycle through every simulator."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from collabhub.demo import run_demo
from collabhub.plugins import PluginHost

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_demo_pulls_from_every_simulator_applies_the_rules_and_pushes_back(tmp_path, monkeypatch):
    monkeypatch.delenv("COLLABHUB_LOAD_PLUGINS", raising=False)
    out = io.StringIO()
    result = run_demo(ROOT / "config" / "demo.yaml", PluginHost(), workdir=tmp_path,
                      console=Console(file=out, width=160))
    statuses = {run.connector: run.status for run in result.runs}
    assert statuses == {"feishu": "ok", "dingtalk": "ok", "jira": "ok", "m365": "ok"}, out.getvalue()
    store = result.store
    for kind in ("task", "meeting", "booking", "resource", "person"):
        assert store.count_entities(kind=kind) > 0, kind
    dispatched = result.rules["dispatched"]
    assert dispatched.sent > 0 and dispatched.parked == 0, dispatched.errors
    receivers = {d.receiver for d in store.deliveries(limit=10_000)}
    assert {"office", "department:sal"} <= receivers
    text = out.getvalue()
    assert "what each receiver got" in text and "room conflicts" in text
    assert store.outbox_counts().get("pending", 0) == 0
