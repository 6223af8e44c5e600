"""Mapping one raw ledger row to a Task, Resource or Booking.

A raw record is a plain dict::

    {"id": "A-7", "file": "actions.xlsx", "sheet": "行动项", "row": 7,
     "values": {"事项": "...", "截止日期": "2026-11-30"}, "error": None}

``values`` holds the mapped columns by header. ``error`` is set by the reader for problems only
it can see (a duplicate or missing id). Every failure is a :class:`MappingError` naming file,
sheet, row and column.
"""

from __future__ import annotations

from typing import Any

from collabhub.errors import MappingError
from collabhub.model import ENTITY_TYPES, BookingStatus, Entity, EntityKind, PersonRef, ResourceKind, SourceRef
from collabhub_ledger.config import LedgerSource
from collabhub_ledger.fields import BUILTIN_STATUS, FIELDS, REQUIRED, RESOURCE_KINDS, CellType, person_field
from collabhub_ledger.files import where
from collabhub_ledger.values import (
    CellError,
    parse_bool,
    parse_email,
    parse_int,
    parse_list,
    parse_temporal,
    parse_text,
)

__all__ = ["RowMapper", "located"]


def located(file: str, sheet: str | None, row: int, column: str | None, message: str) -> str:
    """``actions.xlsx, sheet 行动项, row 7, column 截止日期: <message>`` (no sheet part for a CSV)."""
    place = f"{where(file, sheet)}, row {row}" + (f", column {column}" if column else "")
    return f"{place}: {message}"


class RowMapper:
    """Turns raw records of one source into entities of the source's kind."""

    def __init__(self, source: LedgerSource, connector: str) -> None:
        self.source = source
        self.connector = connector
        self.kind = source.entity_kind
        self.cell_types = FIELDS[self.kind]
        self.statuses = {**BUILTIN_STATUS.get(self.kind, {}),
                         **{raw.strip().casefold(): value for raw, value in source.status_map.items()}}

    def entity(self, record: dict[str, Any]) -> Entity:
        file, sheet, row = record["file"], record.get("sheet"), record["row"]
        if record.get("error"):
            raise MappingError(record["error"])
        values: dict[str, Any] = record["values"]
        data: dict[str, Any] = {}
        people: dict[str, dict[str, str]] = {}
        for field, header in self.source.columns.items():
            raw = values.get(header)
            if raw is None:
                continue
            try:
                value = self._parse(field, raw)
            except CellError as exc:
                raise MappingError(located(file, sheet, row, header, f"{exc.expected}, got {raw!r}")) from None
            if (person := person_field(field)) is not None:
                people.setdefault(person[0], {})[person[1]] = value
            else:
                data[field] = value
        for field in REQUIRED[self.kind]:
            if field not in data:
                header = self.source.columns[field]
                raise MappingError(located(file, sheet, row, header, "expected a value, got an empty cell"))
        self._finish(data, record)
        for role, parts in people.items():
            data[role] = PersonRef(connector=self.connector, **parts)
        data.setdefault("department", self.source.department)
        source_ref = SourceRef(connector=self.connector, kind=self.kind, external_id=str(record["id"]),
                               updated=data.get("updated") if self.kind is EntityKind.TASK else None)
        extra = {"ledger_file": file, "ledger_sheet": sheet}
        return ENTITY_TYPES[self.kind](source=source_ref, extra=extra, **data)

    def _parse(self, field: str, raw: Any) -> Any:
        cell_type = self.cell_types[field]
        source = self.source
        match cell_type:
            case CellType.TEXT:
                return parse_text(raw)
            case CellType.INT:
                return parse_int(raw)
            case CellType.BOOL:
                return parse_bool(raw)
            case CellType.LIST:
                return parse_list(raw)
            case CellType.EMAIL:
                return parse_email(raw)
            case CellType.DATE_OR_DATETIME | CellType.DATETIME:
                return parse_temporal(raw, source.tz, source.date_formats,
                                      date_ok=cell_type is CellType.DATE_OR_DATETIME)
            case CellType.STATUS:
                text = parse_text(raw)
                if text.casefold() not in self.statuses:
                    raise CellError(self._status_expectation())
                return text
            case CellType.RESOURCE_KIND:
                kind = RESOURCE_KINDS.get(parse_text(raw).casefold())
                if kind is None:
                    raise CellError("expected room, equipment or external (会议室/设备/外部)")
                return ResourceKind(kind)
        raise AssertionError(f"unhandled cell type {cell_type}")  # pragma: no cover

    def _status_expectation(self) -> str:
        mapped = ", ".join(repr(raw) for raw in self.source.status_map)
        known = f"one of {mapped} (status_map) or a common status" if mapped else "a common status"
        examples = "待办/进行中/已完成, todo/in progress/done" if self.kind is EntityKind.TASK \
            else "已确认/已取消, confirmed/cancelled"
        return f"expected {known} like {examples}; add other values to status_map"

    def _finish(self, data: dict[str, Any], record: dict[str, Any]) -> None:
        """Derive what one column cannot say alone: status categories and a booking's time order."""
        status = data.get("status")
        if self.kind is EntityKind.TASK and status is not None:
            data["status_category"] = self.statuses[status.casefold()]
        elif self.kind is EntityKind.BOOKING:
            if status is not None:
                data["status"] = BookingStatus(self.statuses[status.casefold()])
            if data["end"] <= data["start"]:
                header = self.source.columns["end"]
                raise MappingError(located(record["file"], record.get("sheet"), record["row"], header,
                                           f"expected an end after the start {data['start'].isoformat()}, "
                                           f"got {record['values'].get(header)!r}"))

