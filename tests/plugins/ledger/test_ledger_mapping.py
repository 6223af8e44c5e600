"""Rows of .xlsx and .csv sheets become tasks, resources and bookings; bad rows say exactly where they are."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from collabhub.model import Booking, BookingStatus, PersonRef, Resource, ResourceKind, StatusCategory, Task

SHANGHAI = ZoneInfo("Asia/Shanghai")
TASK_HEADERS = ["编号", "事项", "负责人", "负责人邮箱", "截止日期", "状态", "备注"]
TASK_COLUMNS = {"title": "事项", "assignee_name": "负责人", "assignee_email": "负责人邮箱", "due": "截止日期",
                "status": "状态"}

TASK_ROWS = [
    ["A-1", "确认年会场地", "王芳", "Wang.Fang@Example.com", date(2026, 11, 30), "进行中", "x"],
    ["A-2", "Prepare budget deck", "Li Na", "li.na@example.com", "2026-11-25 18:00", "done", None],
    ["A-3", "消防演练通知", None, None, None, "搁置", None],
]


def task_source(path: str, **extra):
    return {"path": path, "kind": "task", "id_column": "编号", "columns": TASK_COLUMNS,
            "status_map": {"搁置": "todo"}, "department": "admin", **extra}


def check_tasks(tasks: list[Task], sheet: str | None, file: str) -> None:
    by_id = {t.source.external_id: t for t in tasks}
    assert set(by_id) == {"A-1", "A-2", "A-3"}
    first = by_id["A-1"]
    assert first.title == "确认年会场地"
    assert first.due == date(2026, 11, 30) and not isinstance(first.due, datetime)
    assert first.status == "进行中" and first.status_category is StatusCategory.IN_PROGRESS
    assert first.assignee == PersonRef(connector="ledger", display_name="王芳", email="wang.fang@example.com")
    assert first.department == "admin"
    assert first.extra == {"ledger_file": file, "ledger_sheet": sheet}
    second = by_id["A-2"]
    assert second.due == datetime(2026, 11, 25, 18, 0, tzinfo=SHANGHAI)
    assert second.status_category is StatusCategory.DONE
    third = by_id["A-3"]
    assert third.assignee is None and third.due is None
    assert third.status == "搁置" and third.status_category is StatusCategory.TODO


async def test_tasks_from_xlsx(kit):
    kit.xlsx("actions.xlsx", TASK_HEADERS, TASK_ROWS, sheet="行动项")
    tasks, errors = await kit.entities(kit.connector(task_source("actions.xlsx", sheet="行动项")))
    assert errors == []
    check_tasks(tasks, "行动项", "actions.xlsx")


async def test_tasks_from_csv(kit):
    rows = [[("2026-11-30" if isinstance(v, date) else v) for v in row] for row in TASK_ROWS]
    kit.csv("actions.csv", TASK_HEADERS, rows)
    tasks, errors = await kit.entities(kit.connector(task_source("actions.csv")))
    assert errors == []
    check_tasks(tasks, None, "actions.csv")


RESOURCE_HEADERS = ["编号", "名称", "类型", "容量", "位置"]
RESOURCE_ROWS = [["R-301", "301 会议室", "会议室", 12, "3F"], ["E-1", "Projector", "equipment", None, "前台"],
                 ["X-1", "Partner lab", "外部", "30", None]]
RESOURCE_SOURCE = {"kind": "resource", "id_column": "编号",
                   "columns": {"name": "名称", "resource_kind": "类型", "capacity": "容量", "location": "位置"}}


@pytest.mark.parametrize("suffix", ["xlsx", "csv"])
async def test_resources(kit, suffix):
    writer = kit.xlsx if suffix == "xlsx" else kit.csv
    writer(f"rooms.{suffix}", RESOURCE_HEADERS, RESOURCE_ROWS)
    resources, errors = await kit.entities(kit.connector({"path": f"rooms.{suffix}", **RESOURCE_SOURCE}))
    assert errors == []
    by_id = {r.source.external_id: r for r in resources}
    assert all(isinstance(r, Resource) for r in resources)
    assert (by_id["R-301"].name, by_id["R-301"].resource_kind, by_id["R-301"].capacity) == \
        ("301 会议室", ResourceKind.ROOM, 12)
    assert (by_id["E-1"].resource_kind, by_id["E-1"].capacity, by_id["E-1"].location) == \
        (ResourceKind.EQUIPMENT, None, "前台")
    assert (by_id["X-1"].resource_kind, by_id["X-1"].capacity) == (ResourceKind.EXTERNAL, 30)


BOOKING_HEADERS = ["预订号", "资源", "开始", "结束", "预订人邮箱", "状态"]
BOOKING_SOURCE = {"kind": "booking", "id_column": "预订号",
                  "columns": {"resource_id": "资源", "start": "开始", "end": "结束", "booked_by_email": "预订人邮箱",
                              "status": "状态"}}


async def test_bookings_from_xlsx_take_the_source_timezone(kit):
    kit.xlsx("bookings.xlsx", BOOKING_HEADERS, [
        ["B-1", "R-301", datetime(2026, 11, 18, 10, 0), datetime(2026, 11, 18, 11, 30), "a@example.com", "已确认"],
        ["B-2", "R-301", "2026-11-19", "2026-11-20", None, "已取消"],
    ])
    source = {"path": "bookings.xlsx", "timezone": "Europe/Berlin", **BOOKING_SOURCE}
    bookings, errors = await kit.entities(kit.connector(source))
    assert errors == []
    first, second = sorted(bookings, key=lambda b: b.source.external_id)
    berlin = ZoneInfo("Europe/Berlin")
    assert isinstance(first, Booking)
    assert (first.start, first.end) == (datetime(2026, 11, 18, 10, tzinfo=berlin),
                                        datetime(2026, 11, 18, 11, 30, tzinfo=berlin))
    assert first.status is BookingStatus.CONFIRMED
    assert first.booked_by == PersonRef(connector="ledger", email="a@example.com")
    assert second.start == datetime(2026, 11, 19, tzinfo=berlin)  # a date-only start is midnight there
    assert second.status is BookingStatus.CANCELLED


async def test_bookings_from_csv_keep_explicit_offsets(kit):
    kit.csv("bookings.csv", BOOKING_HEADERS, [
        ["B-1", "R-301", "2026-11-18T02:00:00+00:00", "2026/11/18 11:30", "", "pending"],
    ])
    [booking], errors = await kit.entities(kit.connector({"path": "bookings.csv", **BOOKING_SOURCE}))
    assert errors == []
    assert booking.start == datetime(2026, 11, 18, 2, tzinfo=UTC)
    assert booking.end == datetime(2026, 11, 18, 11, 30, tzinfo=SHANGHAI)
    assert booking.end - booking.start == timedelta(hours=1, minutes=30)
    assert booking.status is BookingStatus.REQUESTED and booking.booked_by is None


async def test_bad_cell_names_file_sheet_row_and_column(kit):
    rows = [[f"A-{i}", f"item {i}", None, None, "2026-11-30", "待办", None] for i in range(2, 7)]
    rows.append(["A-7", "broken", None, None, "next week", "待办", None])  # sheet row 7
    kit.xlsx("actions.xlsx", TASK_HEADERS, rows, sheet="行动项")
    tasks, errors = await kit.entities(kit.connector(task_source("actions.xlsx", sheet="行动项")))
    assert len(tasks) == 5
    assert errors == ["actions.xlsx, sheet 行动项, row 7, column 截止日期: expected a date like 2026-11-30, "
                      "got 'next week'"]


async def test_bad_csv_cells_name_file_row_and_column(kit):
    kit.csv("rooms.csv", RESOURCE_HEADERS, [
        ["R-1", "ok", "room", "8", ""],
        ["R-2", "big", "room", "twelve", ""],
        ["R-3", "odd", "spaceship", "", ""],
        ["R-4", "", "room", "", ""],
    ])
    resources, errors = await kit.entities(kit.connector({"path": "rooms.csv", **RESOURCE_SOURCE}))
    assert [r.source.external_id for r in resources] == ["R-1"]
    assert errors == [
        "rooms.csv, row 3, column 容量: expected a whole number like 12, got 'twelve'",
        "rooms.csv, row 4, column 类型: expected room, equipment or external (会议室/设备/外部), got 'spaceship'",
        "rooms.csv, row 5, column 名称: expected a value, got an empty cell",
    ]


async def test_unknown_status_duplicate_and_missing_ids_are_located(kit):
    kit.xlsx("actions.xlsx", TASK_HEADERS, [
        ["A-1", "one", None, None, None, "待办", None],
        ["A-1", "again", None, None, None, "待办", None],
        [None, "no id", None, None, None, "待办", None],
        ["A-4", "odd status", None, None, None, "maybe", None],
        ["A-5", "bad email", None, "not-an-email", None, None, None],
    ])
    tasks, errors = await kit.entities(kit.connector(task_source("actions.xlsx")))
    assert [t.title for t in tasks] == ["one"]
    assert errors[0] == "actions.xlsx, sheet Sheet1, row 3, column 编号: expected a unique id, got 'A-1', " \
                        "which row 2 has too"
    assert errors[1] == "actions.xlsx, sheet Sheet1, row 4, column 编号: expected an id, got an empty cell"
    assert errors[2].startswith("actions.xlsx, sheet Sheet1, row 5, column 状态: expected one of '搁置' (status_map)")
    assert errors[2].endswith("add other values to status_map, got 'maybe'")
    assert errors[3] == "actions.xlsx, sheet Sheet1, row 6, column 负责人邮箱: expected an email address like " \
                        "name@example.com, got 'not-an-email'"


async def test_booking_ending_before_it_starts_is_rejected(kit):
    kit.csv("b.csv", BOOKING_HEADERS, [["B-1", "R", "2026-11-18 10:00", "2026-11-18 09:00", "", ""]])
    _, errors = await kit.entities(kit.connector({"path": "b.csv", **BOOKING_SOURCE}))
    assert errors == ["b.csv, row 2, column 结束: expected an end after the start 2026-11-18T10:00:00+08:00, "
                      "got '2026-11-18 09:00'"]


async def test_raw_records_carry_their_id_and_location(kit):
    kit.csv("rooms.csv", RESOURCE_HEADERS, [["R-1", "ok", "room", "x", ""]])
    conn = kit.connector({"path": "rooms.csv", **RESOURCE_SOURCE})
    stream = conn.streams()[0]
    [page] = [p async for p in stream.read(None)]
    [record] = page.records
    assert stream.record_id(record) == "R-1"
    assert (record["file"], record["sheet"], record["row"]) == ("rooms.csv", None, 2)
    assert record["values"]["容量"] == "x"


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"])
async def test_csv_encodings(kit, encoding):
    kit.csv("actions.csv", TASK_HEADERS, [["A-1", "确认年会场地（第二轮）", "王芳", "", "2026年11月30日",
                                                         "已完成", "备注"]], encoding=encoding)
    [task], errors = await kit.entities(kit.connector(task_source("actions.csv")))
    assert errors == []
    assert (task.title, task.assignee.display_name, task.due) == ("确认年会场地（第二轮）", "王芳", date(2026, 11, 30))
    assert task.status_category is StatusCategory.DONE


async def test_header_row_blank_rows_and_row_number_ids(kit):
    kit.xlsx("plan.xlsx", ["事项", "状态"], [["first", "todo"], [None, None], ["third", None]],
               title_rows=[["Project plan 2026"]])
    source = {"path": "plan.xlsx", "kind": "task", "header_row": 2, "columns": {"title": "事项", "status": "状态"}}
    tasks, errors = await kit.entities(kit.connector(source))
    assert errors == []
    assert [(t.source.external_id, t.title) for t in tasks] == [("Sheet1!3", "first"), ("Sheet1!5", "third")]


async def test_numbers_typed_into_text_fields_read_as_text(kit):
    kit.xlsx("a.xlsx", ["id", "title", "emp", "milestone", "labels"],
               [[1001, 2026, 7.0, "是", "a, b；c、d"]])
    source = {"path": "a.xlsx", "kind": "task", "id_column": "id",
              "columns": {"title": "title", "assignee_employee_id": "emp", "is_milestone": "milestone",
                          "labels": "labels"}}
    [task], errors = await kit.entities(kit.connector(source))
    assert errors == []
    assert (task.source.external_id, task.title, task.assignee.employee_id) == ("1001", "2026", "7")
    assert task.is_milestone is True and task.labels == ["a", "b", "c", "d"]
