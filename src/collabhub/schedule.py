"""Run schedules ("every 15m" or a 5-field cron line) and quiet hours ("22:00-08:00").

A :class:`Schedule` answers one question, ``next_after(dt)``: when is the next run after ``dt``?
An interval schedule runs ``interval`` after ``dt`` (``dt`` being the start of the previous run);
a cron schedule runs at the next matching minute, evaluated in the schedule's time zone (the
config's ``timezone``), so ``0 9 * * 1-5`` means 09:00 in Shanghai, not in UTC.

:class:`QuietHours` is a daily window, possibly crossing midnight, in which rules hold back
notifications and send a digest when it ends.

Both parse from strings and can be used as pydantic field types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from croniter import croniter
from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

__all__ = ["QuietHours", "Schedule"]

_UNITS: dict[str, int] = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
}
_INTERVAL = re.compile(r"^every\s+(\d+)\s*([a-z]+)$", re.IGNORECASE)
_CRON_ALIASES = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
_EXPECTED = "expected an interval like 'every 15m' (units s, m, h, d) or a 5-field cron line like '*/10 8-20 * * 1-5'"


def _require_aware(dt: datetime) -> None:
    if dt.tzinfo is None or dt.tzinfo.utcoffset(dt) is None:
        raise ValueError(f"datetime {dt.isoformat()} has no time zone; pass a timezone-aware datetime")


@dataclass(frozen=True)
class Schedule:
    """When a connector runs: a fixed ``interval`` or a ``cron`` expression (exactly one is set).

    ``tz`` is where cron fields are read; when it is ``None`` the time zone of the datetime passed
    to :meth:`next_after` is used.
    """

    interval: timedelta | None = None
    cron: str | None = None
    tz: tzinfo | None = None

    @classmethod
    def parse(cls, text: str, *, tz: tzinfo | None = None) -> Schedule:
        """Parse ``"every 5m"`` / ``"every 30s"`` / ``"every 2h"`` or a cron line; ``ValueError`` if neither."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"empty schedule; {_EXPECTED}")
        spec = " ".join(text.split())
        match = _INTERVAL.match(spec)
        if match:
            amount, unit = int(match.group(1)), match.group(2).lower()
            if unit not in _UNITS:
                raise ValueError(f"unknown time unit {unit!r} in schedule {spec!r}; use s, m, h or d")
            if amount <= 0:
                raise ValueError(f"schedule {spec!r} has a zero interval; use at least 'every 1s'")
            return cls(interval=timedelta(seconds=amount * _UNITS[unit]), tz=tz)
        if spec.lower().startswith("every"):
            raise ValueError(f"cannot read interval {spec!r}; {_EXPECTED}")
        if spec.lower() in _CRON_ALIASES:
            return cls(cron=spec.lower(), tz=tz)
        fields = spec.split(" ")
        if len(fields) != 5:
            raise ValueError(f"cron line {spec!r} has {len(fields)} field(s), not 5 "
                             "(minute hour day-of-month month day-of-week); " + _EXPECTED)
        if not croniter.is_valid(spec):
            raise ValueError(f"invalid cron line {spec!r}: a field is out of range or malformed; {_EXPECTED}")
        return cls(cron=spec, tz=tz)

    def with_timezone(self, tz: tzinfo | None) -> Schedule:
        """The same schedule with cron fields read in ``tz``."""
        return Schedule(interval=self.interval, cron=self.cron, tz=tz)

    def next_after(self, dt: datetime) -> datetime:
        """The first run time strictly after the aware datetime ``dt``."""
        _require_aware(dt)
        if self.interval is not None:
            return dt + self.interval
        assert self.cron is not None
        local = dt.astimezone(self.tz) if self.tz is not None else dt
        nxt = croniter(self.cron, local).get_next(datetime)
        if nxt.tzinfo is None:  # defensive: croniter keeps the start's tzinfo
            nxt = nxt.replace(tzinfo=local.tzinfo)
        return nxt

    def __str__(self) -> str:
        if self.interval is not None:
            return _format_interval(self.interval)
        return self.cron or ""

    # pydantic integration: a field typed ``Schedule`` accepts a string or a Schedule
    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            _validate_with(cls), serialization=core_schema.plain_serializer_function_ser_schema(str))


def _format_interval(interval: timedelta) -> str:
    seconds = int(interval.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"every {seconds // size}{unit}"
    return f"every {seconds}s"


_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")


def _parse_time(text: str, whole: str) -> time:
    match = _HHMM.match(text.strip())
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError(f"cannot read time {text.strip()!r} in quiet hours {whole!r}; expected HH:MM-HH:MM "
                         "like '22:00-08:00'")
    return time(int(match.group(1)), int(match.group(2)))


@dataclass(frozen=True)
class QuietHours:
    """A daily window ``[start, end)``; it crosses midnight when ``end <= start`` (e.g. 22:00-08:00).

    ``tz`` is where the wall-clock times are read; ``None`` means the datetime's own time zone.
    """

    start: time
    end: time
    tz: tzinfo | None = None

    @classmethod
    def parse(cls, text: str, *, tz: tzinfo | None = None) -> QuietHours:
        """Parse ``"22:00-08:00"``; ``ValueError`` when malformed or empty."""
        if not isinstance(text, str) or text.count("-") != 1:
            raise ValueError(f"cannot read quiet hours {text!r}; expected HH:MM-HH:MM like '22:00-08:00'")
        left, right = text.split("-")
        start, end = _parse_time(left, text), _parse_time(right, text)
        if start == end:
            raise ValueError(f"quiet hours {text!r} start and end at the same time; give a real window")
        return cls(start, end, tz)

    @property
    def crosses_midnight(self) -> bool:
        return self.end < self.start

    def _local(self, dt: datetime) -> datetime:
        _require_aware(dt)
        return dt.astimezone(self.tz) if self.tz is not None else dt

    def contains(self, dt: datetime) -> bool:
        """True when the aware datetime ``dt`` falls inside the window."""
        now = self._local(dt).time().replace(tzinfo=None)
        if self.crosses_midnight:
            return now >= self.start or now < self.end
        return self.start <= now < self.end

    def next_end(self, dt: datetime) -> datetime:
        """The first end of a quiet window strictly after ``dt`` (when a held-back digest goes out).

        Inside the window this is the end of the current window; outside it, the end of the next.
        """
        local = self._local(dt)
        candidate = datetime.combine(local.date(), self.end, tzinfo=local.tzinfo)
        if candidate <= local:
            candidate = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=local.tzinfo)
        return candidate

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            _validate_with(cls), serialization=core_schema.plain_serializer_function_ser_schema(str))


def _validate_with(cls: type[Schedule] | type[QuietHours]) -> Any:
    def validate(value: Any) -> Any:
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            return cls.parse(value)
        raise ValueError(f"expected a string for a {cls.__name__.lower()}, got {type(value).__name__}")

    return validate
