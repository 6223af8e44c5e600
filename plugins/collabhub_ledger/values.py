"""Cell values: what a raw record keeps of a cell, and how a cell is read as a field's type.

Raw records keep JSON-friendly values (text, numbers, booleans, ISO dates) so the quarantine can
store them as they were. The ``parse_*`` functions raise :class:`CellError` saying what was
expected; the mapper adds where (file, sheet, row, column).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

__all__ = [
    "CellError",
    "parse_bool",
    "parse_email",
    "parse_int",
    "parse_list",
    "parse_temporal",
    "parse_text",
    "raw_value",
]

_TRUE = {"true", "yes", "y", "1", "是", "√", "✓"}
_FALSE = {"false", "no", "n", "0", "否", "×", "✗"}
_LIST_SPLIT = re.compile(r"[,，;；、\n]+")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TIME_CODES = ("%H", "%I", "%M", "%S", "%p", "%X", "%c")


class CellError(ValueError):
    """A cell does not hold what its field needs; ``expected`` says what would."""

    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


def raw_value(value: Any) -> Any:
    """A cell as the raw record keeps it: ``None`` for empty, stripped text, ISO text for dates."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, datetime):
        # Excel stores a date as a datetime at midnight: keep it a date.
        if value.tzinfo is None and value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


def parse_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # an id or employee number typed into a number cell
    return str(value).strip()


def parse_int(value: Any) -> int:
    if isinstance(value, bool):
        raise CellError("expected a whole number like 12")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = str(value).strip().replace(",", "")
    if re.fullmatch(r"[+-]?\d+(\.0+)?", text):
        return int(float(text))
    raise CellError("expected a whole number like 12")


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = parse_text(value).casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CellError("expected yes or no (是/否, true/false, 1/0)")


def parse_list(value: Any) -> list[str]:
    return [part.strip() for part in _LIST_SPLIT.split(parse_text(value)) if part.strip()]


def parse_email(value: Any) -> str:
    text = parse_text(value)
    if not _EMAIL.match(text):
        raise CellError("expected an email address like name@example.com")
    return text.lower()


def parse_temporal(value: Any, tz: tzinfo, formats: list[str], *, date_ok: bool) -> date | datetime:
    """A date or a datetime; naive times get ``tz``; a date-only value stays a ``date`` if ``date_ok``.

    ISO 8601 is always understood; ``formats`` (strptime) are tried after it.
    """
    expected = "expected a date like 2026-11-30" if date_ok else "expected a date and time like 2026-11-30 14:00"
    if not isinstance(value, str):
        raise CellError(expected)
    text = value.strip()
    parsed: date | datetime | None = None
    if len(text) <= 10:
        parsed = _try(date.fromisoformat, text)
    if parsed is None:
        parsed = _try(datetime.fromisoformat, text)
    for fmt in formats:
        if parsed is not None:
            break
        moment = _try(lambda t, f=fmt: datetime.strptime(t, f), text)
        if moment is not None:
            parsed = moment if any(code in fmt for code in _TIME_CODES) else moment.date()
    if parsed is None:
        raise CellError(expected)
    if isinstance(parsed, datetime):
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)
    return parsed if date_ok else datetime.combine(parsed, time(0), tzinfo=tz)


def _try(parse: Any, text: str) -> Any:
    try:
        return parse(text)
    except ValueError:
        return None
