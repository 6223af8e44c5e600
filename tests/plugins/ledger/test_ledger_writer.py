"""The status_column writer: writes one cell, idempotently, and leaves everything else as it was."""

from __future__ import annotations

import csv
from datetime import date

import openpyxl
import pytest
from openpyxl.styles import Font

from collabhub.connector import Delivery
from collabhub.errors import DeliveryError
from collabhub.model import SourceRef, Task, content_hash

HEADERS = ["编号", "事项", "截止日期", "同步状态"]
ROWS = [["A-1", "确认年会场地", date(2026, 11, 30), None], ["A-2", "Budget deck", date(2026, 11, 25), "old"]]
TASK = {"kind": "task", "id_column": "编号", "columns": {"title": "事项", "due": "截止日期"},
        "writeback": {"column": "同步状态"}}


def delivery(row_id: str, status: str, source: str = "actions_task") -> Delivery:
    return Delivery(f"k-{row_id}-{status}", "status_column", {"source": source, "row_id": row_id}, {"status": status})


def styled_workbook(kit):
    path = kit.xlsx("actions.xlsx", HEADERS, ROWS, sheet="行动项", extra_sheets=["备注"])
    book = openpyxl.load_workbook(path)
    book["行动项"]["B2"].font = Font(bold=True)
    book["行动项"]["C2"].number_format = "yyyy/mm/dd"
    book["备注"]["A1"] = "keep me"
    book.save(path)
    return path


async def test_xlsx_writeback_is_idempotent_and_keeps_other_cells(kit):
    path = styled_workbook(kit)
    conn = kit.connector({"path": "actions.xlsx", "sheet": "行动项", **TASK})
    writer = conn.writers()["status_column"]
    first = await writer.deliver(delivery("A-1", "已同步到 Jira"))
    assert first.external_id == "actions_task:A-1"
    assert first.detail == {"file": "actions.xlsx", "sheet": "行动项", "row": 2, "column": "同步状态", "changed": True}
    stamp = path.stat().st_mtime_ns, path.read_bytes()
    again = await writer.deliver(delivery("A-1", "已同步到 Jira"))
    assert again.external_id == first.external_id and again.detail["changed"] is False
    assert (path.stat().st_mtime_ns, path.read_bytes()) == stamp  # a no-op does not touch the file

    sheet = openpyxl.load_workbook(path)["行动项"]
    assert [[c.value for c in row] for row in sheet.iter_rows(min_row=2, values_only=False)] == [
        ["A-1", "确认年会场地", sheet["C2"].value, "已同步到 Jira"], ["A-2", "Budget deck", sheet["C3"].value, "old"]]
    assert sheet["C2"].value.date() == date(2026, 11, 30)
    assert sheet["B2"].font.bold and sheet["C2"].number_format == "yyyy/mm/dd"
    assert openpyxl.load_workbook(path)["备注"]["A1"].value == "keep me"
    assert sorted(p.name for p in kit.base_dir.iterdir()) == ["actions.xlsx"]  # no temp file left behind


async def test_writeback_column_is_added_when_missing(kit):
    path = kit.xlsx("plan.xlsx", ["事项", "负责人"], [["one", "a"], ["two", "b"]])
    source = {"path": "plan.xlsx", "kind": "task", "columns": {"title": "事项"}, "writeback": {"column": "状态回写"}}
    conn = kit.connector(source)
    result = await conn.writers()["status_column"].deliver(delivery("Sheet1!3", "done", source="plan_task"))
    assert result.detail["row"] == 3
    sheet = openpyxl.load_workbook(path).active
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [
        ["事项", "负责人", "状态回写"], ["one", "a", None], ["two", "b", "done"]]


async def test_csv_writeback_keeps_encoding_line_endings_and_cells(kit):
    rows = [["A-1", "确认年会场地", "2026-11-30"], ["A-2", "含逗号, 和 \"引号\"", "2026-11-25"]]
    path = kit.csv("actions.csv", ["编号", "事项", "截止日期"], rows, encoding="gbk", newline="\r\n")
    conn = kit.connector({"path": "actions.csv", **TASK})
    writer = conn.writers()["status_column"]
    result = await writer.deliver(delivery("A-2", "已同步"))
    assert result.detail["changed"] is True and result.detail["row"] == 3
    raw = path.read_bytes()
    assert raw.count(b"\r\n") == 3 and b"\n" not in raw.replace(b"\r\n", b"")
    with path.open(encoding="gbk", newline="") as handle:
        assert list(csv.reader(handle)) == [["编号", "事项", "截止日期", "同步状态"], rows[0], [*rows[1], "已同步"]]
    stamp = path.stat().st_mtime_ns
    assert (await writer.deliver(delivery("A-2", "已同步"))).detail["changed"] is False
    assert path.stat().st_mtime_ns == stamp
    changed = await writer.deliver(delivery("A-2", "已完成"))
    assert changed.detail["changed"] is True
    with path.open(encoding="gbk", newline="") as handle:
        assert list(csv.reader(handle))[2] == [*rows[1], "已完成"]


async def test_csv_with_bom_keeps_it(kit):
    path = kit.csv("actions.csv", HEADERS, [["A-1", "x", "2026-11-30", ""]], encoding="utf-8-sig")
    conn = kit.connector({"path": "actions.csv", **TASK})
    await conn.writers()["status_column"].deliver(delivery("A-1", "ok"))
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\xef\xbb\xbf") == 1
    assert raw.decode("utf-8-sig").splitlines() == ["编号,事项,截止日期,同步状态", "A-1,x,2026-11-30,ok"]


async def test_writeback_does_not_change_the_entities_read_afterwards(kit):
    kit.csv("actions.csv", HEADERS, [["A-1", "x", "2026-11-30", ""]])
    conn = kit.connector({"path": "actions.csv", **TASK})
    before, _ = await kit.entities(conn)
    await conn.writers()["status_column"].deliver(delivery("A-1", "ok"))
    after, _ = await kit.entities(conn)
    assert [content_hash(e) for e in after] == [content_hash(e) for e in before]


async def test_target_can_come_from_the_entity(kit):
    path = kit.csv("actions.csv", HEADERS, [["A-1", "x", "2026-11-30", ""]])
    conn = kit.connector({"path": "actions.csv", **TASK})
    entity = Task(source=SourceRef(connector="ledger", kind="task", external_id="A-1"), title="x")
    await conn.writers()["status_column"].deliver(
        Delivery("k", "status_column", {}, {"status": "seen"}, entity=entity))
    assert path.read_text().splitlines()[1] == "A-1,x,2026-11-30,seen"


@pytest.mark.parametrize(("target", "content", "message"), [
    ({"source": "actions_task", "row_id": "A-9"}, {"status": "x"}, "actions.csv: no row with id 'A-9'"),
    ({"source": "nope", "row_id": "A-1"}, {"status": "x"}, "has no ledger source 'nope'; it has actions_task"),
    ({"source": "actions_task", "row_id": "A-1"}, {"text": "x"}, "content needs a `status` text"),
    ({}, {"status": "x"}, "target needs `source` (a stream name) and `row_id`"),
])
async def test_undeliverable_requests_are_not_retried(kit, target, content, message):
    kit.csv("actions.csv", HEADERS, [["A-1", "x", "2026-11-30", ""]])
    conn = kit.connector({"path": "actions.csv", **TASK})
    with pytest.raises(DeliveryError) as info:
        await conn.writers()["status_column"].deliver(Delivery("k", "status_column", target, content))
    assert message in str(info.value)
    assert info.value.retryable is False


async def test_source_without_writeback_refuses(kit):
    kit.csv("actions.csv", HEADERS, [["A-1", "x", "2026-11-30", ""]])
    conn = kit.connector({"path": "actions.csv", **{k: v for k, v in TASK.items() if k != "writeback"}})
    with pytest.raises(DeliveryError, match="has no writeback column"):
        await conn.writers()["status_column"].deliver(delivery("A-1", "x"))
