"""The ``rooms`` stream (places -> Resources) and ``room_bookings`` (each room's calendar -> Bookings)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

from collabhub.connector import Page, Stream
from collabhub.model import Entity, EntityKind

from ..mapping import MAILBOX_KEY, booking_from_room_event, resource_from_room
from .delta import MailboxDeltaStream

__all__ = ["RoomBookingsStream", "RoomsStream"]

ROOM_LISTS_KEY = "@collabhub.roomLists"


class RoomsStream(Stream):
    """Every room (``/places/microsoft.graph.room``, or the rooms of ``room_lists``), swept each run."""

    name = "rooms"
    kind = EntityKind.RESOURCE
    primary_key = "emailAddress"

    async def read(self, cursor: Mapping[str, Any] | None) -> AsyncIterator[Page]:
        places = await self.connector.room_places()  # type: ignore[attr-defined]
        records = [{**room, ROOM_LISTS_KEY: lists} for room, lists in places]
        emails = frozenset(str(r.get("emailAddress") or "").lower() for r, _ in places)
        yield Page(records=records, cursor={"rooms": len(records)}, sweep=emails)

    def normalize(self, record: Any) -> Iterable[Entity]:
        return [resource_from_room(record, self.connector.name, record.get(ROOM_LISTS_KEY) or ())]


class RoomBookingsStream(MailboxDeltaStream):
    """Each room mailbox's calendar: what the room has accepted, as Bookings of that room."""

    name = "room_bookings"
    kind = EntityKind.BOOKING
    cursor_field = "scopes"

    async def targets(self) -> list[str]:
        return [str(room.get("emailAddress") or "").lower() for room, _ in await self.connector.room_places()]

    def keep(self, mailbox: str, event: Mapping[str, Any]) -> bool:
        return event.get("type") != "seriesMaster"

    def normalize(self, record: Any) -> Iterable[Entity]:
        return [booking_from_room_event(record, self.connector.name, record[MAILBOX_KEY])]
