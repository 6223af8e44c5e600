"""The Feishu connector passes the standard connector suite against its simulator.

The custom-bot writer is left out of the sample deliveries: custom bots have no idempotency key,
so a retried send can repeat (documented in ``collabhub_feishu.writers``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from collabhub.connector import Delivery
from collabhub.testing.company import generate_company
from collabhub.testing.sims.feishu import FeishuSimulator
from collabhub.testing.suite import ConnectorSuite, SuiteHarness
from collabhub_feishu.connector import FeishuConnector


def feishu_harness(tmp_path: Path) -> Iterator[SuiteHarness]:
    with FeishuSimulator(generate_company()) as sim:
        settings = {**sim.connector_settings(), "event_page_size": 50}
        yield SuiteHarness(
            FeishuConnector, settings, simulator=sim,
            sample_deliveries={
                "card": Delivery("suite:card", "card", {"chat_id": sim.chat_for("eng")},
                                 {"title": "本周跨部门进展", "items": ["APL-3 预算评审 — in progress"]}),
                "task": Delivery("suite:task", "task", {"tasklist_guid": sim.tasklist_for("eng")},
                                 {"title": "Prepare monthly coordination minutes", "due": "2026-12-04"}),
            },
        )


class TestFeishuStandard(ConnectorSuite, harness=feishu_harness):
    pass
