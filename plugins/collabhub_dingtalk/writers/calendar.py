"""Calendar events and room additions.

* ``event``: create ``POST /v1.0/calendar/users/{unionId}/calendars/{calendarId}/events`` with the
  ``x-client-token`` header (DingTalk's idempotency token: a create retried with the same token
  makes one event), update ``PUT .../events/{eventId}``; rooms named in the delivery are then added
  when ``book_rooms`` is on.
* ``room``: ``POST .../events/{eventId}/meetingRooms {meetingRoomsToAdd:[{roomId}]}`` for an existing
  event (adding a room already there changes nothing).

Target: ``{"union_id": <organizer>, "calendar_id": "primary"}`` (``event_id`` too for ``room``).
Content: ``summary``/``title``, ``description``, ``start``, ``end``, ``timezone``, ``attendees``
(unionIds or PersonRefs), ``location``, ``rooms``; missing fields come from the Meeting entity.
"""

from __future__ import annotations

from typing import Any

from collabhub.connector import Delivery, DeliveryResult, Writer
from collabhub.errors import ConnectorError, DeliveryError
from collabhub.model import echo_fingerprint
from collabhub_dingtalk import mapping
from collabhub_dingtalk.errors import error_body
from collabhub_dingtalk.timeutil import DEFAULT_TZ, iso, zone
from collabhub_dingtalk.writers.common import as_delivery_error, pick, stable_id, to_datetime, union_ids

__all__ = ["EventWriter", "RoomWriter", "add_rooms"]


def _events_path(delivery: Delivery, operator: str) -> tuple[str, str]:
    union_id = str(delivery.target.get("union_id") or operator)
    calendar = str(delivery.target.get("calendar_id") or "primary")
    return union_id, f"/v1.0/calendar/users/{union_id}/calendars/{calendar}/events"


async def add_rooms(connector: Any, events_path: str, event_id: str, rooms: list[str]) -> None:
    """Add rooms to an event; a busy room is a permanent failure of this delivery."""
    try:
        response = await connector.request(
            "POST", connector.api(f"{events_path}/{event_id}/meetingRooms"),
            json={"meetingRoomsToAdd": [{"roomId": r} for r in rooms]})
    except ConnectorError as exc:
        code = str(exc.resolution.message or "").lower()
        if "meetingroomnotavailable" in code.replace(" ", ""):
            raise DeliveryError(f"room(s) {rooms} are not available at that time", retryable=False) from None
        raise as_delivery_error(exc, "room booking") from None
    body = error_body(response) or {}
    if body.get("result") is False:
        raise DeliveryError(f"DingTalk did not add room(s) {rooms}: {body}", retryable=False)


class EventWriter(Writer):
    """Channel ``event``."""

    channel = "event"

    def _body(self, delivery: Delivery) -> dict[str, Any]:
        connector: Any = self.connector
        summary = pick(delivery, "summary", "title", entity_attr="title")
        start = to_datetime(pick(delivery, "start", entity_attr="start"))
        end = to_datetime(pick(delivery, "end", entity_attr="end"))
        if not summary or start is None or end is None:
            raise DeliveryError("an event needs summary, start and end", retryable=False)
        tz = str(pick(delivery, "timezone", entity_attr="timezone") or DEFAULT_TZ)
        local = zone(tz if tz != "UTC" else DEFAULT_TZ)
        body: dict[str, Any] = {
            "summary": str(summary),
            "start": {"dateTime": iso(start.astimezone(local)), "timeZone": str(local)},
            "end": {"dateTime": iso(end.astimezone(local)), "timeZone": str(local)},
            "isAllDay": False,
        }
        description = pick(delivery, "description", "body", entity_attr="body")
        if description:
            body["description"] = str(description)
        location = pick(delivery, "location", entity_attr="location")
        if location:
            body["location"] = {"displayName": str(location)}
        attendees = union_ids(delivery.content.get("attendees"), connector.name)
        if attendees:
            body["attendees"] = [{"id": a, "isOptional": False} for a in attendees]
        return body

    async def deliver(self, delivery: Delivery) -> DeliveryResult:
        connector: Any = self.connector
        union_id, path = _events_path(delivery, connector.config.operator_union_id)
        body = self._body(delivery)
        rooms = [str(r) for r in delivery.content.get("rooms") or []]
        event: dict[str, Any] | None = None
        try:
            if delivery.link is not None:
                event_id = delivery.link.target_external_id
                event = await connector.call("PUT", connector.api(f"{path}/{event_id}"), lookup=True,
                                             json={"id": event_id, **body})
            if event is None:  # new, or deleted remotely since: create (idempotent by client token)
                token = stable_id("", delivery.idempotency_key)
                event = await connector.call("POST", connector.api(path), json=body,
                                             headers={"x-client-token": token})
        except ConnectorError as exc:
            raise as_delivery_error(exc, "calendar event") from None
        event = event or {}
        event_id = str(event.get("id") or "")
        if not event_id:
            raise DeliveryError(f"DingTalk answered the event write without an id: {event}", retryable=True)
        if rooms and connector.config.book_rooms:
            await add_rooms(connector, path, event_id, rooms)
        meeting = mapping.event_entities(connector.name, union_id, {**body, **event, "id": event_id})[0]
        return DeliveryResult(external_id=event_id, fingerprint=echo_fingerprint(meeting),
                              detail={"organizer": union_id, "rooms": rooms})


class RoomWriter(Writer):
    """Channel ``room``: add rooms to an existing event (target ``event_id``, content ``rooms``)."""

    channel = "booking"

    async def deliver(self, delivery: Delivery) -> DeliveryResult:
        connector: Any = self.connector
        event_id = delivery.target.get("event_id") or (delivery.link.target_external_id if delivery.link else None)
        rooms = [str(r) for r in delivery.content.get("rooms") or
                 ([delivery.entity.resource_id] if getattr(delivery.entity, "resource_id", None) else [])]
        if not event_id or not rooms:
            raise DeliveryError("a room booking needs target.event_id and content.rooms", retryable=False)
        _, path = _events_path(delivery, connector.config.operator_union_id)
        await add_rooms(connector, path, str(event_id), rooms)
        return DeliveryResult(external_id=f"{event_id}:{','.join(sorted(rooms))}", detail={"rooms": rooms})
