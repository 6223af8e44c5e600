"""``collabhub daemon``: runs on schedule and, on SIGTERM, commits the page in hand and exits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from collabhub.store import Store

pytestmark = pytest.mark.slow

EXAMPLE_DIR = Path(__file__).resolve().parents[1] / "plugin_example"


def test_sigterm_finishes_the_page_commits_and_exits(tmp_path, sqlite_url, items_writer, config_writer):
    items = items_writer(tmp_path / "items.jsonl", 2000)
    cfg = config_writer(tmp_path, sqlite_url, items, page_size=10)
    cfg.write_text(cfg.read_text().replace("page_size: 10", "page_size: 10\n    delay: 0.02\n    schedule: every 1h")
                   + "daemon:\n  webhooks: {enabled: false}\n")
    env = {k: v for k, v in os.environ.items() if k != "COLLABHUB_DATABASE_URL"}
    env.update(PYTHONPATH=str(EXAMPLE_DIR), COLLABHUB_LOAD_PLUGINS="example")
    proc = subprocess.Popen([sys.executable, "-m", "collabhub", "daemon", "--no-webhooks", "-c", str(cfg)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    store = Store(sqlite_url)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if (store.get_cursor("notes", "items") or {}).get("offset", 0) >= 50:
                break
        except Exception:  # the daemon may still be creating the schema
            pass
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, errs = proc.communicate(timeout=30)
    assert proc.returncode == 0, errs.decode()[-2000:]
    offset = store.get_cursor("notes", "items")["offset"]
    assert 50 <= offset < 2000, "the daemon should stop mid-run, after committing the page in hand"
    assert store.count_entities(kind="task") == offset  # what is committed matches the cursor exactly
    run = store.recent_runs(connector="notes", limit=1)[0]
    assert run.status == "interrupted"
    assert "Traceback" not in errs.decode()
