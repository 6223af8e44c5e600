"""``collabhub sync`` fills the store from a Jira connector pointed at the simulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from collabhub.store import Store


@pytest.mark.slow
def test_collabhub_sync_fills_the_store(tmp_path, cloud_sim, kit):
    url = f"sqlite:///{tmp_path / 'hub.sqlite'}"
    config = tmp_path / "hub.yaml"
    config.write_text(json.dumps({"store": {"url": url},
                                  "connectors": {"jira-demo": {"type": "jira", **kit.settings_for(cloud_sim)}}}))
    env = {**os.environ, "COLLABHUB_LOAD_PLUGINS": "jira"}
    done = subprocess.run([sys.executable, "-m", "collabhub", "sync", "-c", str(config)], capture_output=True,
                          text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    store = Store(url)
    try:
        rows = list(store.iter_entities())
        assert len(rows) == len(cloud_sim.data.issues)
        assert {r.kind for r in rows} == {"task"}
    finally:
        store.dispose()
