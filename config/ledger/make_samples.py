"""Generate the sample ledgers used by config/ledger-demo.yaml.

    python config/ledger/make_samples.py

Writes, next to this script: ``actions.xlsx`` (a small company's action-item list, sheet 行动项,
a title row above the header), ``bookings.xlsx`` (room and equipment bookings, sheet 预订) and
``rooms.csv`` (the room/equipment ledger, UTF-8 with BOM as Excel saves "CSV UTF-8"). The output
is byte-for-byte reproducible, so regenerating shows no diff unless the content changed.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

HERE = Path(__file__).resolve().parent
FIXED_TIME = datetime(2026, 11, 1, 9, 0, 0)
STAMP = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()

ACTION_HEADERS = ["编号", "事项", "说明", "负责人", "负责人邮箱", "部门", "截止日期", "状态", "优先级", "标签",
                  "同步状态"]
ACTIONS = [
    ("A-001", "确认年会场地", "Compare three venues and book one", "王芳", "wang.fang@example.com", "行政部",
     date(2026, 11, 20), "进行中", "高", "年会, venue"),
    ("A-002", "Prepare Q4 budget review deck", "汇总各部门 Q4 预算执行情况", "Li Na", "li.na@example.com", "财务部",
     date(2026, 11, 25), "待办", "高", "budget"),
    ("A-003", "更新员工手册（2027 版）", None, "张伟", "zhang.wei@example.com", "人力资源部",
     date(2026, 12, 15), "待办", "中", "policy, 手册"),
    ("A-004", "Renew office Wi-Fi contract", "Current contract ends 2026-12-31", "陈杰", "chen.jie@example.com",
     "IT 部", date(2026, 12, 10), "in progress", "中", "vendor"),
    ("A-005", "客户满意度回访", "回访 Q3 新签客户，整理问题清单", "刘洋", "liu.yang@example.com", "销售部",
     "2026-11-28 18:00", "已完成", "中", "客户"),
    ("A-006", "Onboard two new engineers", "Accounts, laptops, buddy assignment", "Zhao Lei", "zhao.lei@example.com",
     "IT 部", date(2026, 11, 16), "done", "低", "onboarding"),
    ("A-007", "消防演练通知", "与物业确认演练时间并通知全员", "王芳", "wang.fang@example.com", "行政部",
     date(2026, 11, 30), "待办", "低", "safety"),
    ("A-008", "Draft partner NDA template", None, "Li Na", "li.na@example.com", "法务部",
     date(2026, 12, 5), "进行中", "中", "legal, template"),
]

ROOM_HEADERS = ["编号", "名称", "类型", "容量", "位置", "邮箱", "部门"]
ROOMS = [
    ("R-301", "301 会议室 (Great Wall)", "会议室", 12, "3F 东侧", "room301@example.com", "行政部"),
    ("R-302", "302 小会议室", "会议室", 6, "3F 西侧", "room302@example.com", "行政部"),
    ("R-501", "Board Room", "room", 20, "5F", "boardroom@example.com", "行政部"),
    ("E-101", "投影仪 Epson #1", "设备", None, "前台", None, "IT 部"),
    ("E-102", "Video conference kit", "equipment", None, "IT 仓库", None, "IT 部"),
]

BOOKING_HEADERS = ["预订号", "资源编号", "开始", "结束", "预订人", "预订人邮箱", "事由", "状态"]
BOOKINGS = [
    ("B-1001", "R-301", datetime(2026, 11, 18, 10, 0), datetime(2026, 11, 18, 11, 30), "王芳", "wang.fang@example.com",
     "年会筹备会", "已确认"),
    ("B-1002", "R-501", datetime(2026, 11, 19, 14, 0), datetime(2026, 11, 19, 16, 0), "Li Na", "li.na@example.com",
     "Q4 budget review", "confirmed"),
    ("B-1003", "E-101", datetime(2026, 11, 19, 14, 0), datetime(2026, 11, 19, 16, 0), "Li Na", "li.na@example.com",
     "Q4 budget review", "已确认"),
    ("B-1004", "R-302", datetime(2026, 11, 20, 9, 30), datetime(2026, 11, 20, 10, 0), "张伟", "zhang.wei@example.com",
     "员工手册评审", "待审批"),
    ("B-1005", "R-301", datetime(2026, 11, 21, 15, 0), datetime(2026, 11, 21, 16, 0), "刘洋", "liu.yang@example.com",
     "Customer call", "已取消"),
]


def _header_style(sheet, row: int, width: int) -> None:
    for col in range(1, width + 1):
        cell = sheet.cell(row, col)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(horizontal="center")


def _save_reproducibly(book: Workbook, path: Path) -> None:
    """Save with fixed document and zip timestamps so the bytes depend on the content only."""
    book.properties.created = FIXED_TIME
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time here
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + STAMP, data)
            dst.writestr(fixed, data)
    path.write_bytes(out.getvalue())


def make_actions(path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "行动项"
    sheet["A1"] = "2026 Q4 行动项清单 / Action items"
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(ACTION_HEADERS)
    _header_style(sheet, 2, len(ACTION_HEADERS))
    for item in ACTIONS:
        sheet.append([*item, None])
    for row in range(3, 3 + len(ACTIONS)):
        sheet.cell(row, 7).number_format = "yyyy-mm-dd"
    for col, width in zip("ABCDEFGHIJK", (9, 30, 36, 10, 24, 10, 14, 10, 8, 16, 12), strict=True):
        sheet.column_dimensions[col].width = width
    sheet.freeze_panes = "A3"
    _save_reproducibly(book, path)


def make_bookings(path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "预订"
    sheet.append(BOOKING_HEADERS)
    _header_style(sheet, 1, len(BOOKING_HEADERS))
    for booking in BOOKINGS:
        sheet.append(list(booking))
    for row in range(2, 2 + len(BOOKINGS)):
        for col in (3, 4):
            sheet.cell(row, col).number_format = "yyyy-mm-dd hh:mm"
    for col, width in zip("ABCDEFGH", (10, 10, 18, 18, 10, 24, 20, 10), strict=True):
        sheet.column_dimensions[col].width = width
    _save_reproducibly(book, path)


def make_rooms(path: Path) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(ROOM_HEADERS)
        writer.writerows(["" if v is None else v for v in room] for room in ROOMS)


def main() -> None:
    make_actions(HERE / "actions.xlsx")
    make_bookings(HERE / "bookings.xlsx")
    make_rooms(HERE / "rooms.csv")
    print(f"wrote actions.xlsx, bookings.xlsx and rooms.csv in {HERE.name}/")


if __name__ == "__main__":
    main()
