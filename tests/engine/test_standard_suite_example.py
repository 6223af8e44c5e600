"""The example plugin adopts the standard connector suite in one line (which also tests the suite)."""

from __future__ import annotations

import json

from collabhub.connector import Delivery
from collabhub.testing.suite import ConnectorSuite, SuiteHarness


def example_harness(tmp_path):
    import collabhub_example

    items = tmp_path / "items.jsonl"
    with items.open("w", encoding="utf-8") as fh:
        for i in range(45):
            fh.write(json.dumps({"id": f"A-{i}", "title": f"条目 {i}", "status": "done" if i % 3 else "todo",
                                 "updated": "2026-11-02T09:00:00+08:00"}) + "\n")
    yield SuiteHarness(
        collabhub_example.ExampleConnector, {"path": str(items), "page_size": 10},
        sample_deliveries={"note": Delivery("k-1", "note", {}, {"text": "hello"})},
        skip={"classify": "file-based connector: no HTTP responses to classify"},
    )


class TestExampleConnector(ConnectorSuite, harness=example_harness):
    pass
