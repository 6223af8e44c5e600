"""The ledger connector passes the standard connector suite, and the shipped demo config works."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import pytest

from collabhub.config import validate_file
from collabhub.connector import Delivery
from collabhub.plugins import PluginHost
from collabhub.testing.suite import ConnectorSuite, SuiteHarness
from collabhub_ledger import LedgerConfig, LedgerConnector
from collabhub_ledger.config import CONFIG_DIR_ENV

CONFIG_DIR = Path(__file__).resolve().parents[3] / "config"


def ledger_harness(tmp_path: Path):
    with (tmp_path / "actions.csv").open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["编号", "事项", "状态", "截止日期"])
        writer.writerows([f"A-{i}", f"行动项 {i}", ("待办", "进行中", "已完成")[i % 3], f"2026-12-{i % 28 + 1:02d}"]
                         for i in range(1, 1201))  # three pages: the resume check stops after the first
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["房间", "开始", "结束"])
    book.active.append(["R-301", datetime(2026, 11, 18, 10), datetime(2026, 11, 18, 11)])
    book.save(tmp_path / "bookings.xlsx")
    settings = {"base_dir": str(tmp_path), "sources": [
        {"path": "actions.csv", "kind": "task", "id_column": "编号",
         "columns": {"title": "事项", "status": "状态", "due": "截止日期"}, "writeback": {"column": "同步状态"}},
        {"path": "bookings.xlsx", "kind": "booking",
         "columns": {"resource_id": "房间", "start": "开始", "end": "结束"}},
    ]}
    yield SuiteHarness(
        LedgerConnector, settings,
        sample_deliveries={"status_column": Delivery("k-1", "status_column", {"source": "actions_task",
                                                                             "row_id": "A-7"}, {"status": "已同步"})},
        skip={"classify": "file-based connector: no HTTP responses to classify"},
    )


class TestLedgerConnector(ConnectorSuite, harness=ledger_harness):
    pass


def test_demo_config_validates(monkeypatch):
    monkeypatch.setenv(CONFIG_DIR_ENV, str(CONFIG_DIR))
    assert validate_file(CONFIG_DIR / "ledger-demo.yaml", host=PluginHost(allow={"ledger"})) == []


async def test_demo_samples_pass_check_and_map_without_errors(monkeypatch):
    from ruamel.yaml import YAML

    monkeypatch.setenv(CONFIG_DIR_ENV, str(CONFIG_DIR))
    settings = dict(YAML(typ="safe").load((CONFIG_DIR / "ledger-demo.yaml").read_text(encoding="utf-8"))
                    ["connectors"]["ledger"])
    for key in ("type", "schedule"):
        settings.pop(key)
    connector = LedgerConnector("ledger", LedgerConfig.model_validate(settings))
    assert (await connector.check()).ok
    counts = {}
    for stream in connector.streams():
        counts[stream.name] = 0
        async for page in stream.read(None):
            for record in page.records:
                counts[stream.name] += len(list(stream.normalize(record)))
    assert counts == {"actions_task": 8, "rooms_resource": 5, "bookings_booking": 5}


@pytest.mark.parametrize("name", ["actions.xlsx", "bookings.xlsx", "rooms.csv"])
def test_sample_files_are_committed(name):
    assert (CONFIG_DIR / "ledger" / name).is_file(), "run python config/ledger/make_samples.py"
