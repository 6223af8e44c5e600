"""check() says what is wrong with each source, and what it found instead."""

from __future__ import annotations

import os

from collabhub.plugins import PluginHost
from collabhub_ledger import LedgerConnector

TASK = {"path": "actions.xlsx", "kind": "task", "sheet": "行动项", "id_column": "编号",
        "columns": {"title": "事项", "due": "截止日期"}}
ROOMS = {"path": "rooms.csv", "kind": "resource", "columns": {"name": "名称", "capacity": "容量"}}


async def test_check_passes_and_notes_a_missing_writeback_column(kit):
    kit.xlsx("actions.xlsx", ["编号", "事项", "截止日期"], [["A-1", "x", None]], sheet="行动项")
    kit.csv("rooms.csv", ["名称", "容量"], [["301", "8"]], encoding="gbk")
    result = await kit.connector({**TASK, "writeback": {"column": "同步状态"}}, ROOMS).check()
    assert result.ok, result.details
    assert result.details == [
        "actions_task: actions.xlsx, sheet 行动项: 2 mapped column(s) found in header row 1; "
        "writeback column 同步状态 will be added on the first write",
        "rooms_resource: rooms.csv: 2 mapped column(s) found in header row 1",
    ]


async def test_check_reports_every_problem_with_what_exists(kit):
    kit.xlsx("actions.xlsx", ["编号", "标题", "截止"], [], sheet="Tasks", extra_sheets=["Notes"])
    result = await kit.connector(TASK, ROOMS).check()
    assert not result.ok
    assert result.details[0] == "actions_task: actions.xlsx: no sheet named '行动项'; its sheets are: Tasks, Notes"
    assert result.details[1].startswith("rooms_resource: rooms.csv: file not found at ")

    result = await kit.connector({**TASK, "sheet": "Tasks"}).check()
    assert result.details == ["actions_task: actions.xlsx, sheet Tasks: column(s) 事项, 截止日期 not found in header "
                              "row 1; the headers there are: 编号, 标题, 截止"]


async def test_check_rejects_files_that_are_not_spreadsheets(kit):
    (kit.base_dir / "actions.xlsx").write_text("not a zip")
    (kit.base_dir / "rooms.csv").write_bytes(b"\xff\xfe\x00\xd8 broken \x81")
    result = await kit.connector(TASK, ROOMS).check()
    assert not result.ok
    assert "actions.xlsx: not a readable .xlsx workbook" in result.details[0]
    assert result.details[1] == 'rooms_resource: rooms.csv: the file is neither UTF-8 nor GBK text; save it from ' \
                                'Excel as "CSV UTF-8"'


async def test_check_reports_a_missing_base_dir(kit):
    conn = LedgerConnector("ledger", LedgerConnector.Config.model_validate(
        {"base_dir": str(kit.base_dir / "nowhere"), "sources": [ROOMS]}))
    result = await conn.check()
    assert not result.ok and "which is not a folder" in result.details[0]


async def test_check_fails_when_writeback_cannot_write(kit, monkeypatch):
    kit.csv("rooms.csv", ["名称", "容量"], [["301", "8"]])
    monkeypatch.setattr(os, "access", lambda path, mode: mode != os.W_OK)  # a read-only file, even for root
    source = {**ROOMS, "writeback": {"column": "状态"}}
    result = await kit.connector(source).check()
    assert not result.ok and "writeback is configured but the file or its folder is not writable" in result.details[0]


def test_registered_as_builtin_plugin():
    host = PluginHost(allow={"ledger"})
    assert host.connector_class("ledger") is LedgerConnector
    assert [p.connectors for p in host.plugins() if p.name == "ledger"] == [["ledger"]]
