"""Availability through ``POST /users/{id}/calendar/getSchedule`` (people and rooms alike).

Asked on behalf of ``schedule_mailbox`` (default: the first mailbox in scope), in chunks of
``schedule_batch_size`` schedules (the v1.0 docs give no maximum; 20 is the commonly quoted one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from collabhub.errors import ConfigError
from collabhub.http import json_body

from .mapping import graph_datetime
from .paths import user_path

if TYPE_CHECKING:
    from .connector import M365Connector

__all__ = ["BusySlot", "Schedule", "get_schedule"]


@dataclass(frozen=True)
class BusySlot:
    start: datetime
    end: datetime
    status: str  # busy | tentative | oof | workingElsewhere
    subject: str = ""


@dataclass
class Schedule:
    """One schedule's answer: ``availability_view`` has a digit per interval (0 free … 4 elsewhere)."""

    address: str
    availability_view: str = ""
    busy: list[BusySlot] = field(default_factory=list)
    error: str | None = None

    def free(self) -> bool:
        return self.error is None and not self.busy


def _slot(moment: datetime) -> dict[str, str]:
    return {"dateTime": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


async def get_schedule(connector: M365Connector, schedules: Sequence[str], start: datetime, end: datetime,
                       interval_minutes: int = 30) -> dict[str, Schedule]:
    """Free/busy of each address in ``schedules`` between ``start`` and ``end``."""
    if not 5 <= interval_minutes <= 1440:
        raise ValueError("interval_minutes must be between 5 and 1440 (Graph's limits)")
    caller = connector.config.schedule_mailbox
    if caller is None:
        scope = await connector.mailbox_scope()
        if not scope:
            raise ConfigError("getSchedule needs a mailbox to ask from", key="schedule_mailbox",
                              hint="set schedule_mailbox or mailboxes/group")
        caller = scope[0].key
    out: dict[str, Schedule] = {}
    size = connector.config.schedule_batch_size
    wanted = list(dict.fromkeys(s.lower() for s in schedules))
    for begin in range(0, len(wanted), size):
        chunk = wanted[begin:begin + size]
        body = {"schedules": chunk, "startTime": _slot(start), "endTime": _slot(end),
                "availabilityViewInterval": interval_minutes}
        response = await connector.request("POST", f"{user_path(caller)}/calendar/getSchedule", json=body,
                                           mailbox=caller)
        for info in json_body(response, connector=connector.name).get("value") or []:
            address = str(info.get("scheduleId") or "").lower()
            error = info.get("error")
            if error:
                out[address] = Schedule(address, error=f"{error.get('responseCode')}: {error.get('message')}")
                continue
            busy = [BusySlot(graph_datetime(item.get("start"), "start"), graph_datetime(item.get("end"), "end"),
                             str(item.get("status") or "busy"), str(item.get("subject") or ""))
                    for item in info.get("scheduleItems") or [] if item.get("status") != "free"]
            out[address] = Schedule(address, str(info.get("availabilityView") or ""), busy)
    return out
