"""Meeting rooms (vc v1) -> Resource, and room free/busy (calendar v4) -> Booking.

Rooms are re-read in full at most every ``reference_refresh_minutes``. Free/busy is pulled only
for ``freebusy_room_ids``: rooms whose reservations are not visible through a calendar in scope
(bookings from events carry the meeting; busy blocks only say "taken"). Busy blocks that vanish
from the window are reported deleted.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from collabhub.connector import Page
from collabhub.errors import MappingError
from collabhub.model import Booking, BookingStatus, Entity, EntityKind, SourceRef
from collabhub_feishu.mapping import room_entity
from collabhub_feishu.streams.base import FeishuStream

__all__ = ["RoomFreebusyStream", "RoomsStream"]


class RoomsStream(FeishuStream):
    """Every meeting room of the tenant -> Resource. Cursor: ``{"page_token"}`` or ``{"completed_at"}``."""

    name = "rooms"
    kind = EntityKind.RESOURCE
    primary_key = "room_id"

    async def read(self, cursor: Mapping[str, Any] | None) -> AsyncIterator[Page]:
        async for page in self.full_pass(cursor, "/open-apis/vc/v1/rooms",
                                         {"page_size": 100, "user_id_type": "open_id"},
                                         id_key="room_id", items_key="rooms"):
            yield page

    def normalize(self, record: Any) -> Iterable[Entity]:
        return [room_entity(self.connector.name, record)]

    async def fetch(self, external_ids: Sequence[str]) -> AsyncIterator[Page]:
        async for page in self.fetch_each(external_ids, "/open-apis/vc/v1/rooms/{id}", {"user_id_type": "open_id"},
                                          data_key="room", gone_codes=(121004,)):
            yield page


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class RoomFreebusyStream(FeishuStream):
    """Busy blocks of ``freebusy_room_ids`` over the next ``freebusy_days`` -> Booking.

    Cursor: ``{"blocks": {room_id: [booking ids in the window]}}``.
    """

    name = "room_freebusy"
    kind = EntityKind.BOOKING
    primary_key = "id"

    async def read(self, cursor: Mapping[str, Any] | None) -> AsyncIterator[Page]:
        state: dict[str, Any] = copy.deepcopy(dict(cursor)) if cursor else {}
        blocks: dict[str, list[str]] = state.setdefault("blocks", {})
        now = self.now().astimezone(UTC).replace(microsecond=0)
        start, end = now - timedelta(hours=1), now + timedelta(days=self.cfg.freebusy_days)
        for room_id in self.cfg.freebusy_room_ids:
            data = await self.connector.data("POST", "/open-apis/calendar/v4/freebusy/list",
                                             params={"user_id_type": "open_id"},
                                             json={"time_min": _rfc3339(start), "time_max": _rfc3339(end),
                                                   "room_id": room_id, "only_busy": True})
            records = [{**span, "room_id": room_id} for span in data.get("freebusy_list") or []]
            ids = [self.record_id(r) or "" for r in records]
            gone = [b for b in blocks.get(room_id, []) if b not in ids and self._block_end(b) > start]
            blocks[room_id] = ids
            yield Page(records=records, cursor=copy.deepcopy(state), deleted=gone)
        for room_id in [r for r in blocks if r not in self.cfg.freebusy_room_ids]:
            gone = blocks.pop(room_id)
            yield Page(cursor=copy.deepcopy(state), deleted=gone)

    @staticmethod
    def _block_end(block_id: str) -> datetime:
        try:
            return datetime.fromtimestamp(int(block_id.rsplit(":", 1)[-1]), UTC)
        except ValueError:
            return datetime.max.replace(tzinfo=UTC)

    def record_id(self, record: Any) -> str | None:
        try:
            start = int(datetime.fromisoformat(str(record["start_time"]).replace("Z", "+00:00")).timestamp())
            end = int(datetime.fromisoformat(str(record["end_time"]).replace("Z", "+00:00")).timestamp())
        except (KeyError, ValueError):
            return None
        return f"freebusy:{record['room_id']}:{start}:{end}"

    def normalize(self, record: Any) -> Iterable[Entity]:
        block_id = self.record_id(record)
        if block_id is None:
            raise MappingError(f"Feishu free/busy block without valid start_time/end_time: {record!r}")
        _, room_id, start, end = block_id.rsplit(":", 3)
        return [Booking(
            source=SourceRef(connector=self.connector.name, kind=EntityKind.BOOKING, external_id=block_id),
            resource_id=room_id, start=datetime.fromtimestamp(int(start), UTC),
            end=datetime.fromtimestamp(int(end), UTC), status=BookingStatus.CONFIRMED, title=None,
            extra={"source": "freebusy"},
        )]
