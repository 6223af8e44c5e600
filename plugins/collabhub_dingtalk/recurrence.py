"""DingTalk recurrence ``{pattern, range}`` -> RFC 5545 RRULE text, and occurrence expansion.

Patterns: ``daily``, ``weekly`` (``daysOfWeek`` like ``"monday,wednesday"``), ``absoluteMonthly``
(``dayOfMonth``), ``relativeMonthly`` (``index`` first|second|third|fourth|last + ``daysOfWeek``),
``absoluteYearly``. Ranges: ``noEnd``, ``endDate`` (``yyyy-MM-ddTHH:mmZ``), ``numbered``.
Expansion covers daily and weekly series (what room bookings need); other patterns give the
first occurrence only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from collabhub_dingtalk.timeutil import parse_iso

__all__ = ["MAX_OCCURRENCES", "occurrences", "rrule"]

MAX_OCCURRENCES = 52
_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_BYDAY = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
_INDEX = {"first": "1", "second": "2", "third": "3", "fourth": "4", "last": "-1"}
_FREQ = {"daily": "DAILY", "weekly": "WEEKLY", "absoluteMonthly": "MONTHLY", "relativeMonthly": "MONTHLY",
         "absoluteYearly": "YEARLY"}


def _days(pattern: Mapping[str, Any]) -> list[int]:
    raw = pattern.get("daysOfWeek") or ""
    names = raw if isinstance(raw, list) else str(raw).split(",")
    return sorted({_DAYS.index(n.strip().lower()) for n in names if n.strip().lower() in _DAYS})


def rrule(recurrence: Mapping[str, Any]) -> str | None:
    pattern = recurrence.get("pattern") or {}
    rng = recurrence.get("range") or {}
    freq = _FREQ.get(str(pattern.get("type")))
    if freq is None:
        return None
    parts = [f"FREQ={freq}"]
    if int(pattern.get("interval") or 1) > 1:
        parts.append(f"INTERVAL={int(pattern['interval'])}")
    days = [_BYDAY[d] for d in _days(pattern)]
    if pattern.get("type") == "weekly" and days:
        parts.append("BYDAY=" + ",".join(days))
    elif pattern.get("type") == "relativeMonthly" and days:
        parts.append("BYDAY=" + ",".join(_INDEX.get(str(pattern.get("index")), "1") + d for d in days))
    elif pattern.get("type") == "absoluteMonthly" and pattern.get("dayOfMonth"):
        parts.append(f"BYMONTHDAY={int(pattern['dayOfMonth'])}")
    if rng.get("type") == "numbered" and rng.get("numberOfOccurrences"):
        parts.append(f"COUNT={int(rng['numberOfOccurrences'])}")
    elif rng.get("type") == "endDate" and rng.get("endDate"):
        until = parse_iso(rng["endDate"])
        if until is not None:
            parts.append("UNTIL=" + until.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"))
    return ";".join(parts)


def occurrences(start: datetime, end: datetime, recurrence: Mapping[str, Any] | None,
                ) -> list[tuple[datetime, datetime]]:
    """Start/end of each occurrence (at most :data:`MAX_OCCURRENCES`), in the series' own wall time."""
    if not recurrence:
        return [(start, end)]
    pattern = recurrence.get("pattern") or {}
    rng = recurrence.get("range") or {}
    kind = pattern.get("type")
    if kind not in ("daily", "weekly"):
        return [(start, end)]
    interval = max(1, int(pattern.get("interval") or 1))
    limit = MAX_OCCURRENCES
    if rng.get("type") == "numbered" and rng.get("numberOfOccurrences"):
        limit = min(limit, int(rng["numberOfOccurrences"]))
    until = parse_iso(rng.get("endDate")) if rng.get("type") == "endDate" else None
    length = end - start
    out: list[tuple[datetime, datetime]] = []
    if kind == "daily":
        candidates = (start + timedelta(days=i * interval) for i in range(limit))
    else:
        days = _days(pattern) or [start.weekday()]
        week0 = start - timedelta(days=start.weekday())

        def weekly() -> Any:
            week = 0
            while True:
                for d in days:
                    yield week0 + timedelta(weeks=week * interval, days=d)
                week += 1

        candidates = (c for c in weekly() if c >= start)
    for begin in candidates:
        if len(out) >= limit or (until is not None and begin > until):
            break
        out.append((begin, begin + length))
    return out
