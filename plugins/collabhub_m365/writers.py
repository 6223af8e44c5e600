"""Writers: ``event`` (create/update an event) and ``booking`` (book a room for a span).

Idempotent: a create carries ``transactionId`` (a UUID derived from the delivery's idempotency
key), so a create retried after a timeout yields the event made the first time; a delivery
with a ``link`` updates that event in place (PATCH). A room is booked as Exchange expects: it is
invited as a ``resource`` attendee AND named as the location (its exact ``displayName`` from
``/places`` plus ``locationEmailAddress``). The writer then reads the room's answer; a decline
is a failed delivery (:class:`RoomDeclined`) whose reason comes from the room's schedule.

``deliver_many`` pushes many deliveries through ``$batch`` (20 per call), resending only the
inner requests Graph throttled.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from collabhub.connector import Delivery, DeliveryResult, Writer
from collabhub.errors import Action, ConnectorError, DeliveryError, ErrorResolution
from collabhub.http import json_body
from collabhub.model import Booking, Meeting, echo_fingerprint

from .batch import BatchItem, run_batch
from .errors import RoomDeclined, classify_parts
from .mapping import meeting_from_event, room_response
from .paths import event_path, user_path

if TYPE_CHECKING:
    from .connector import M365Connector

__all__ = ["BookingWriter", "EventDraft", "EventWriter", "transaction_id"]

_TXN_NAMESPACE = uuid.UUID("6f1d7c1e-3a53-4b8e-9d0c-5b7a2e4c1f90")
_PENDING = ("none", "notResponded")
_SENSITIVITY = {"normal": "normal", "private": "private", "confidential": "confidential"}


def transaction_id(key: str) -> str:
    """The ``transactionId`` for an idempotency key (a UUID: short, stable, no secrets)."""
    return str(uuid.uuid5(_TXN_NAMESPACE, key))


def _moment(value: Any, what: str) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time(0, 0), UTC)
    elif isinstance(value, str) and value:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    else:
        raise DeliveryError(f"the delivery has no {what}", retryable=False)
    if moment.tzinfo is None:
        raise DeliveryError(f"the delivery's {what} {value!r} has no time zone", retryable=False)
    return moment


@dataclass
class EventDraft:
    """What to write, gathered from a delivery's target, content and entity."""

    mailbox: str
    title: str
    start: datetime
    end: datetime
    body: str | None = None
    attendees: list[dict[str, Any]] = field(default_factory=list)
    location: str | None = None
    rooms: list[str] = field(default_factory=list)
    online: bool = False
    sensitivity: str = "normal"
    calendar_id: str | None = None

    @property
    def collection(self) -> str:
        """Where a new event is created: the default calendar, or ``target.calendar_id``."""
        if self.calendar_id:
            return f"{user_path(self.mailbox)}/calendars/{quote(self.calendar_id, safe='')}/events"
        return f"{user_path(self.mailbox)}/events"

    @classmethod
    def from_delivery(cls, delivery: Delivery, *, default_title: str = "") -> EventDraft:
        target, content, entity = delivery.target, dict(delivery.content), delivery.entity
        mailbox = str(target.get("mailbox") or target.get("email") or content.get("mailbox") or "").lower()
        if not mailbox:
            hint = (" (a calendar_id alone does not name a Microsoft 365 mailbox: set `mailbox:` on the rule's "
                    "deliver entry)") if target.get("calendar_id") else ""
            raise DeliveryError(f"the delivery names no mailbox (target.mailbox) to write the event into{hint}",
                                retryable=False)
        base: dict[str, Any] = {}
        if isinstance(entity, Meeting):
            base = {"title": entity.title, "start": entity.start, "end": entity.end, "body": entity.body,
                    "location": entity.location, "online": bool(entity.online_url),
                    "attendees": [a.person.email for a in entity.attendees if a.person.email],
                    "visibility": entity.visibility.value}
        elif isinstance(entity, Booking):
            base = {"title": entity.title, "start": entity.start, "end": entity.end, "rooms": [entity.resource_id]}
        merged = {**base, **{k: v for k, v in content.items() if v is not None}}
        rooms = list(merged.get("rooms") or [])
        for extra in (target.get("room"), merged.get("room")):
            if extra and str(extra).lower() not in [r.lower() for r in rooms]:
                rooms.append(str(extra))
        visibility = str(merged.get("sensitivity") or merged.get("visibility") or "normal")
        return cls(
            mailbox=mailbox,
            title=str(merged.get("title") or merged.get("subject") or default_title),
            start=_moment(merged.get("start"), "start"),
            end=_moment(merged.get("end"), "end"),
            body=merged.get("body"),
            attendees=[_attendee(a) for a in merged.get("attendees") or []],
            location=merged.get("location"),
            rooms=[r.lower() for r in rooms],
            online=bool(merged.get("online")),
            sensitivity=_SENSITIVITY.get(visibility, "normal"),
            calendar_id=target.get("calendar_id") or None,
        )


def _attendee(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        email = str(value.get("email") or value.get("address") or "")
        kind = "optional" if value.get("optional") else "required"
        return {"type": kind, "emailAddress": {"address": email, "name": value.get("name") or email}}
    return {"type": "required", "emailAddress": {"address": str(value), "name": str(value)}}


def _slot(moment: datetime) -> dict[str, str]:
    return {"dateTime": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


class EventWriter(Writer):
    """Creates or updates an event in ``target.mailbox``; rooms in ``content.rooms`` are booked."""

    channel = "event"
    connector: M365Connector
    default_title = ""

    def draft(self, delivery: Delivery) -> EventDraft:
        return EventDraft.from_delivery(delivery, default_title=self.default_title)

    async def payload(self, draft: EventDraft) -> dict[str, Any]:
        """The Graph event body for ``draft``; its rooms are resolved (by email or place id) to /places entries."""
        places: dict[str, dict[str, Any]] = {}
        for room, _ in await self.connector.room_places():
            email = str(room.get("emailAddress") or "").lower()
            places[email] = places[str(room.get("id") or "").lower()] = room  # by email or by place id
        attendees = [a for a in draft.attendees if a["emailAddress"]["address"].lower() not in draft.rooms]
        locations = []
        resolved = []
        for wanted in draft.rooms:
            room = places.get(wanted)
            if room is None:
                raise DeliveryError(f"room {wanted} is not among the rooms Graph lists (/places)", retryable=False,
                                    hint="check the room's email address and Place.Read.All")
            email = str(room["emailAddress"]).lower()
            resolved.append(email)
            name = str(room.get("displayName") or email)
            attendees.append({"type": "resource", "emailAddress": {"address": email, "name": name}})
            locations.append({"displayName": name, "locationEmailAddress": email, "locationType": "conferenceRoom",
                              "uniqueId": email, "uniqueIdType": "directory"})
        draft.rooms = resolved
        if not locations and draft.location:
            locations.append({"displayName": draft.location, "locationType": "default"})
        body: dict[str, Any] = {
            "subject": draft.title,
            "body": {"contentType": "text", "content": draft.body or ""},
            "start": _slot(draft.start),
            "end": _slot(draft.end),
            "attendees": attendees,
            "sensitivity": draft.sensitivity,
            "isOnlineMeeting": draft.online,
        }
        if draft.online:
            body["onlineMeetingProvider"] = "teamsForBusiness"
        if locations:
            body["location"] = locations[0]
            body["locations"] = locations
        return body

    # -- one delivery ------------------------------------------------------------------------

    async def deliver(self, delivery: Delivery) -> DeliveryResult:
        draft = self.draft(delivery)
        payload = await self.payload(draft)
        event: dict[str, Any] | None = None
        try:
            if delivery.link is not None:
                event_id = delivery.link.target_external_id
                response = await self.connector.request("PATCH", event_path(draft.mailbox, event_id),
                                                        json=payload, mailbox=draft.mailbox)
                if response.status_code == 404:
                    self.connector.log.info("event %s was deleted in Outlook; creating it again", event_id)
                    payload["transactionId"] = transaction_id(f"{delivery.idempotency_key}:{event_id}")
                else:
                    event = json_body(response, connector=self.connector.name)
            else:
                payload["transactionId"] = transaction_id(delivery.idempotency_key)
            if event is None:
                response = await self.connector.request("POST", draft.collection, json=payload,
                                                        mailbox=draft.mailbox)
                event = json_body(response, connector=self.connector.name)
            event = await self._room_answers(draft, event)
        except ConnectorError as exc:
            raise _delivery_error(exc.resolution, f"writing the event into {draft.mailbox} failed") from exc
        return await self.result(draft, event)

    async def _room_answers(self, draft: EventDraft, event: dict[str, Any]) -> dict[str, Any]:
        """Wait (up to ``booking_wait_seconds``) for rooms that have not answered yet."""
        if not draft.rooms:
            return event
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.connector.config.booking_wait_seconds
        delay = 0.5
        while any(room_response(event).get(r, "none") in _PENDING for r in draft.rooms) and loop.time() < deadline:
            await asyncio.sleep(min(delay, max(0.0, deadline - loop.time())))
            delay = min(delay * 2, 4.0)
            response = await self.connector.request(
                "GET", event_path(draft.mailbox, str(event["id"])),
                mailbox=draft.mailbox)
            event = json_body(response, connector=self.connector.name)
        return event

    async def result(self, draft: EventDraft, event: dict[str, Any]) -> DeliveryResult:
        """The delivery result, or :class:`RoomDeclined` when a room said no."""
        answers = room_response(event)
        for room in draft.rooms:
            if answers.get(room) == "declined":
                raise RoomDeclined(room, await self.decline_reason(room, draft), event_id=str(event["id"]))
        meeting = meeting_from_event(event, self.connector.name, draft.mailbox)
        status = "confirmed" if all(answers.get(r) == "accepted" for r in draft.rooms) else "requested"
        return DeliveryResult(external_id=str(event["id"]), url=event.get("webLink"),
                              fingerprint=echo_fingerprint(meeting),
                              detail={"mailbox": draft.mailbox, "iCalUId": event.get("iCalUId"),
                                      "rooms": {r: answers.get(r, "none") for r in draft.rooms},
                                      "booking": status if draft.rooms else None})

    async def decline_reason(self, room: str, draft: EventDraft) -> str:
        """Why a room declined, read from its schedule for the requested span."""
        try:
            schedule = (await self.connector.availability([room], draft.start, draft.end)).get(room)
        except (ConnectorError, DeliveryError) as exc:
            return f"declined (its schedule could not be read: {exc})"
        span = f"{draft.start:%Y-%m-%d %H:%M}-{draft.end:%H:%M} UTC"
        if schedule is None or schedule.error:
            return f"declined for {span} ({schedule.error if schedule else 'no schedule returned'})"
        if schedule.busy:
            first = schedule.busy[0]
            what = f" by {first.subject!r}" if first.subject else ""
            return (f"it is already booked{what} from {first.start:%H:%M} to {first.end:%H:%M} UTC "
                    f"({len(schedule.busy)} conflicting booking(s) in {span})")
        return (f"it is free for {span} but its booking policy refused the request "
                "(booking window, working hours, capacity or who may book it)")

    # -- many deliveries through $batch -----------------------------------------------------

    async def deliver_many(self, deliveries: Sequence[Delivery]) -> list[DeliveryResult | DeliveryError]:
        """Push many deliveries with ``$batch``; one result (or error) per delivery, in order."""
        drafts: list[EventDraft | DeliveryError] = []
        items: list[BatchItem] = []
        for n, delivery in enumerate(deliveries):
            try:
                draft = self.draft(delivery)
                payload = await self.payload(draft)
            except DeliveryError as exc:
                drafts.append(exc)
                continue
            drafts.append(draft)
            if delivery.link is not None:
                items.append(BatchItem(str(n), "PATCH", event_path(draft.mailbox, delivery.link.target_external_id),
                                       body=payload, mailbox=draft.mailbox))
            else:
                payload["transactionId"] = transaction_id(delivery.idempotency_key)
                items.append(BatchItem(str(n), "POST", draft.collection, body=payload, mailbox=draft.mailbox))
        try:
            replies = await run_batch(self.connector, items) if items else {}
        except ConnectorError as exc:
            error = _delivery_error(exc.resolution, "the $batch call failed")
            return [d if isinstance(d, DeliveryError) else error for d in drafts]
        out: list[DeliveryResult | DeliveryError] = []
        for n, (delivery, draft) in enumerate(zip(deliveries, drafts, strict=True)):
            if isinstance(draft, DeliveryError):
                out.append(draft)
                continue
            reply = replies.get(str(n))
            try:
                if reply is not None and reply.status == 404 and delivery.link is not None:
                    out.append(await self.deliver(Delivery(delivery.idempotency_key, delivery.channel,
                                                           delivery.target, delivery.content, delivery.entity,
                                                           delivery.link)))
                elif reply is None or not reply.ok or not isinstance(reply.body, Mapping):
                    status = reply.status if reply else 0
                    resolution = classify_parts(status, reply.headers if reply else {}, reply.body if reply else None)
                    out.append(_delivery_error(resolution, f"writing the event into {draft.mailbox} failed"))
                else:
                    out.append(await self.result(draft, dict(reply.body)))
            except DeliveryError as exc:
                out.append(exc)
        return out


class BookingWriter(EventWriter):
    """Books ``target.room`` (or ``content.room``) for ``content.start``-``content.end`` in ``target.mailbox``."""

    channel = "booking"
    default_title = "Room booking"

    def draft(self, delivery: Delivery) -> EventDraft:
        draft = super().draft(delivery)
        if not draft.rooms:
            raise DeliveryError("a booking delivery needs a room (target.room or content.room)", retryable=False)
        return draft


def _delivery_error(resolution: ErrorResolution, what: str) -> DeliveryError:
    retryable = resolution.action in (Action.RETRY, Action.RATE_LIMITED, Action.REFRESH_TOKEN)
    return DeliveryError(f"{what}: {resolution.message}", retryable=retryable, retry_after=resolution.retry_after)

