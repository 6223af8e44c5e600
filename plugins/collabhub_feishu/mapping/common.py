"""Small helpers shared by the Feishu mappers: timestamps, person references, required fields."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from collabhub.errors import MappingError
from collabhub.model import PersonRef

__all__ = ["from_millis", "from_seconds", "person", "require"]


def require(record: Mapping[str, Any], key: str, what: str) -> Any:
    """``record[key]``, or a ``MappingError`` naming the missing field."""
    value = record.get(key)
    if value in (None, ""):
        ident = record.get("guid") or record.get("event_id") or record.get("instance_code") or "?"
        raise MappingError(f"Feishu {what} {ident} has no {key!r}")
    return value


def _number(value: Any, what: str) -> int | None:
    if value in (None, "", "0", 0):
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise MappingError(f"Feishu {what} is not a number: {value!r}") from exc


def from_millis(value: Any, what: str = "timestamp") -> datetime | None:
    """A millisecond Unix timestamp (string or int) as an aware UTC datetime; ``0`` means none."""
    number = _number(value, what)
    return None if number is None else datetime.fromtimestamp(number / 1000, UTC)


def from_seconds(value: Any, what: str = "timestamp") -> datetime | None:
    """A second Unix timestamp (string or int) as an aware UTC datetime; ``0`` means none."""
    number = _number(value, what)
    return None if number is None else datetime.fromtimestamp(number, UTC)


def due_value(due: Mapping[str, Any] | None) -> datetime | date | None:
    """Task ``due``/``start`` ``{timestamp(ms), is_all_day}``: a date when all-day, else a datetime."""
    if not due:
        return None
    moment = from_millis(due.get("timestamp"), "due timestamp")
    if moment is None:
        return None
    return moment.date() if due.get("is_all_day") else moment


def person(connector: str, open_id: Any, name: Any = None) -> PersonRef | None:
    """A reference to a Feishu user by open_id (``ou_...``)."""
    if not open_id:
        return None
    return PersonRef(connector=connector, external_id=str(open_id), display_name=str(name) if name else None)
