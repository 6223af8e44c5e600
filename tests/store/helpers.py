"""Test helpers for the store tests: a clock moved by hand and entity factories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from collabhub.model import EntityKind, Meeting, SourceRef, Task

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


class Clock:
    """A clock tests move by hand: no sleeping, no timing assertions."""

    def __init__(self, start: datetime = T0) -> None:
        self.value = start

    def __call__(self) -> datetime:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += timedelta(seconds=seconds)


def task(external_id: str, title: str = "Write report", connector: str = "jira", **fields) -> Task:
    return Task(source=SourceRef(connector=connector, kind=EntityKind.TASK, external_id=external_id),
                title=title, **fields)


def meeting(external_id: str, title: str = "Weekly sync", connector: str = "m365", **fields) -> Meeting:
    fields.setdefault("start", datetime(2025, 3, 3, 10, 0, tzinfo=UTC))
    fields.setdefault("end", datetime(2025, 3, 3, 11, 0, tzinfo=UTC))
    return Meeting(source=SourceRef(connector=connector, kind=EntityKind.MEETING, external_id=external_id),
                   title=title, **fields)
