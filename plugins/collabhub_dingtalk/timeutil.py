"""DingTalk time formats: epoch milliseconds, ISO-8601 strings (``2026-11-03T09:00Z``) and event times."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from collabhub.errors import MappingError

__all__ = ["DEFAULT_TZ", "event_time", "iso", "ms", "parse_iso", "parse_ms", "zone"]

DEFAULT_TZ = "Asia/Shanghai"


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TZ)
    except (ZoneInfoNotFoundError, ValueError):
        raise MappingError(f"unknown time zone {name!r}") from None


def parse_ms(value: Any) -> datetime | None:
    """Epoch milliseconds (int or digit string) -> aware UTC datetime; None for empty values."""
    if value in (None, "", 0, "0"):
        return None
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    except (TypeError, ValueError, OverflowError):
        raise MappingError(f"not an epoch-milliseconds value: {value!r}") from None


def parse_iso(value: Any, tz: str | None = None) -> datetime | None:
    """ISO-8601 (``Z``, offsets, or naive in ``tz``) -> aware datetime; None for empty values."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float):
        return parse_ms(value)
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise MappingError(f"not an ISO-8601 time: {value!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone(tz))
    return when


def event_time(value: Mapping[str, Any] | None, *, what: str) -> tuple[datetime, str, bool]:
    """A calendar ``{date | dateTime, timeZone}`` -> (aware start, time zone name, all-day)."""
    if not isinstance(value, Mapping):
        raise MappingError(f"event has no {what} time")
    tz = value.get("timeZone") or DEFAULT_TZ
    if value.get("dateTime"):
        parsed = parse_iso(value["dateTime"], tz)
        assert parsed is not None
        return parsed, tz, False
    if value.get("date"):
        try:
            day = date.fromisoformat(str(value["date"]))
        except ValueError:
            raise MappingError(f"bad {what} date {value['date']!r}") from None
        return datetime.combine(day, time(0), zone(value.get("timeZone") or "UTC")), tz, True
    raise MappingError(f"event {what} has neither date nor dateTime")


def ms(when: datetime | date) -> int:
    """Aware datetime (or a date, at midnight UTC) -> epoch milliseconds."""
    if not isinstance(when, datetime):
        when = datetime.combine(when, time(0), UTC)
    return int(when.timestamp() * 1000)


def iso(when: datetime) -> str:
    """Aware datetime -> ISO-8601 with offset, as DingTalk's new API takes it."""
    return when.isoformat(timespec="seconds")
