"""Meetings as Exchange keeps them: an organizer's copy, attendees' copies, and rooms that answer.

Creating an event with attendees puts a copy into every attendee mailbox the simulator knows
(same ``iCalUId``, its own ``id``). A room invited as a ``resource`` attendee answers at once:
it accepts when it is free and the event's location names it, otherwise it declines, and only
an accepted booking lands in the room's calendar.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from collabhub.testing.sims.m365.calendars import (
    Mailbox,
    MailboxDirectory,
    format_graph_time,
    graph_id,
    parse_graph_time,
)

__all__ = ["MeetingBook", "RoomAnswer"]

NEVER = "0001-01-01T00:00:00Z"
ChangeListener = Callable[[Mailbox, str, str], None]  # (mailbox, event id, changeType)


class RoomAnswer:
    """A room's verdict on an invitation."""

    def __init__(self, response: str, reason: str = "") -> None:
        self.response = response
        self.reason = reason


def _address(entry: dict[str, Any]) -> str:
    return str((entry.get("emailAddress") or {}).get("address") or "").lower()


def ical_uid(*parts: object) -> str:
    return "040000008200E00074C5B7101A82E008" + hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:56]


class MeetingBook:
    """Create, update and delete meetings across the mailboxes of a :class:`MailboxDirectory`."""

    def __init__(self, directory: MailboxDirectory, clock: Callable[[], datetime],
                 on_change: ChangeListener | None = None) -> None:
        self.directory = directory
        self.clock = clock
        self.on_change = on_change
        self.web_base = "https://outlook.office365.com/owa/"
        self.answers: dict[tuple[str, str], RoomAnswer] = {}  # (organizer event id, room address) -> answer

    # -- event JSON --------------------------------------------------------------------------

    def _stamp(self, event: dict[str, Any], when: datetime | None = None) -> None:
        now = (when or self.clock()).astimezone(UTC)
        event["lastModifiedDateTime"] = now.strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
        key = hashlib.sha256(f"{event['id']}:{event['lastModifiedDateTime']}:{event['subject']}".encode()).digest()
        event["changeKey"] = base64.b64encode(key[:12]).decode()
        event["@odata.etag"] = f'W/"{event["changeKey"]}"'

    def build(self, mailbox: Mailbox, *, event_id: str, uid: str, payload: dict[str, Any], organizer: dict[str, Any],
              is_organizer: bool, response: str, created: datetime | None = None) -> dict[str, Any]:
        """An event resource in Graph's JSON shape, from a create payload."""
        created = (created or self.clock()).astimezone(UTC)
        body = payload.get("body") or {"contentType": "html", "content": ""}
        location = dict(payload.get("location") or {"displayName": "", "locationType": "default",
                                                     "uniqueIdType": "unknown", "address": {}, "coordinates": {}})
        online = bool(payload.get("isOnlineMeeting"))
        event: dict[str, Any] = {
            "@odata.etag": "",
            "id": event_id,
            "createdDateTime": created.strftime("%Y-%m-%dT%H:%M:%S.%f0Z"),
            "lastModifiedDateTime": "",
            "changeKey": "",
            "categories": list(payload.get("categories") or []),
            "originalStartTimeZone": payload.get("start", {}).get("timeZone", "UTC"),
            "originalEndTimeZone": payload.get("end", {}).get("timeZone", "UTC"),
            "iCalUId": uid,
            "reminderMinutesBeforeStart": 15,
            "isReminderOn": True,
            "hasAttachments": False,
            "subject": payload.get("subject", ""),
            "bodyPreview": _preview(body.get("content", "")),
            "importance": payload.get("importance", "normal"),
            "sensitivity": payload.get("sensitivity", "normal"),
            "isAllDay": bool(payload.get("isAllDay")),
            "isCancelled": False,
            "isOrganizer": is_organizer,
            "responseRequested": True,
            "seriesMasterId": payload.get("seriesMasterId"),
            "showAs": payload.get("showAs", "busy"),
            "type": payload.get("type", "singleInstance"),
            "webLink": f"{self.web_base}?itemid={event_id}&exvsurl=1&path=/calendar/item",
            "onlineMeetingUrl": None,
            "isOnlineMeeting": online,
            "onlineMeetingProvider": "teamsForBusiness" if online else "unknown",
            "allowNewTimeProposals": True,
            "isDraft": False,
            "hideAttendees": False,
            "responseStatus": {"response": response, "time": NEVER if response == "none" else
                               created.strftime("%Y-%m-%dT%H:%M:%SZ")},
            "body": body,
            "start": _utc_slot(payload["start"]),
            "end": _utc_slot(payload["end"]),
            "location": location,
            "locations": [location] if location.get("displayName") else [],
            "recurrence": None,
            "attendees": [_attendee(a) for a in payload.get("attendees") or []],
            "organizer": organizer,
            "onlineMeeting": {"joinUrl": f"https://teams.microsoft.com/l/meetup-join/{uid[-24:]}"} if online else None,
        }
        if payload.get("originalStart"):
            event["originalStart"] = payload["originalStart"]
        if payload.get("transactionId") and is_organizer:
            event["transactionId"] = payload["transactionId"]
        self._stamp(event, created)
        return event

    # -- rooms ---------------------------------------------------------------------------------

    def room_answer(self, room: Mailbox, event: dict[str, Any]) -> RoomAnswer:
        """Accept when the room is free and the event's location names it; decline otherwise."""
        if room.policy == "manual":
            return RoomAnswer("none")
        if room.policy == "decline":
            return RoomAnswer("declined", room.policy_reason or "the room's booking policy declined the request")
        place = self.directory.room(room.address) or {}
        names = {(loc.get("displayName") or "").strip() for loc in [event.get("location") or {}, *event["locations"]]}
        emails = {str(loc.get("locationEmailAddress") or "").lower()
                  for loc in [event.get("location") or {}, *event["locations"]]}
        if place.get("displayName") not in names and room.address not in emails:
            return RoomAnswer("declined", "the event's location does not name this room")
        start, end = (parse_graph_time(event[k]["dateTime"]).timestamp() for k in ("start", "end"))
        uid = event["iCalUId"]
        clash = room.overlapping(start, end, skip=lambda other: other["iCalUId"] == uid)
        if clash:
            return RoomAnswer("declined", f"the room is busy ({clash[0]['subject']})")
        return RoomAnswer("accepted")

    # -- create / update / delete ----------------------------------------------------------

    def create(self, mailbox: Mailbox, payload: dict[str, Any], *, event_id: str | None = None,
               uid: str | None = None, created: datetime | None = None, notify: bool = True) -> dict[str, Any]:
        """POST /users/{id}/events: the organizer's copy, attendee copies and room answers."""
        txn = payload.get("transactionId")
        if txn and txn in mailbox.by_transaction and mailbox.by_transaction[txn] in mailbox.events:
            return mailbox.events[mailbox.by_transaction[txn]]
        uid = uid or ical_uid(mailbox.id, txn or event_id or self.clock().isoformat(), len(mailbox.events))
        event_id = event_id or graph_id(mailbox.id, uid)
        organizer = {"emailAddress": {"name": mailbox.display_name, "address": mailbox.address}}
        event = self.build(mailbox, event_id=event_id, uid=uid, payload=payload, organizer=organizer,
                           is_organizer=True, response="organizer", created=created)
        if txn:
            mailbox.by_transaction[txn] = event_id
        self.directory.link_copy(uid, mailbox, event_id)
        self._answer_rooms(event)
        mailbox.put(event)
        self._sync_copies(mailbox, event, created=created, notify=notify)
        self._changed(mailbox, event_id, "created", notify)
        return event

    def update(self, mailbox: Mailbox, event_id: str, patch: dict[str, Any], *, notify: bool = True
               ) -> dict[str, Any] | None:
        """PATCH /users/{id}/events/{id} on the organizer's copy (copies follow)."""
        event = mailbox.events.get(event_id)
        if event is None:
            return None
        event = copy.deepcopy(event)
        for key in ("subject", "body", "importance", "sensitivity", "isAllDay", "showAs", "categories"):
            if key in patch:
                event[key] = patch[key]
        if "body" in patch:
            event["bodyPreview"] = _preview((patch["body"] or {}).get("content", ""))
        for key in ("start", "end"):
            if key in patch:
                event[key] = _utc_slot(patch[key])
        if "location" in patch:
            event["location"] = dict(patch["location"] or {})
            event["locations"] = [event["location"]] if event["location"].get("displayName") else []
        if "attendees" in patch:
            event["attendees"] = [_attendee(a) for a in patch["attendees"] or []]
        if "isOnlineMeeting" in patch:
            event["isOnlineMeeting"] = bool(patch["isOnlineMeeting"])
        if event.get("type") == "occurrence" and ({"start", "end", "subject", "location"} & set(patch)):
            event["type"] = "exception"
        self._stamp(event)
        if event.get("isOrganizer"):
            self._answer_rooms(event)
        mailbox.put(event)
        if event.get("isOrganizer"):
            self._sync_copies(mailbox, event, notify=notify)
        self._changed(mailbox, event_id, "updated", notify)
        return event

    def delete(self, mailbox: Mailbox, event_id: str, *, notify: bool = True) -> bool:
        event = mailbox.remove(event_id)
        if event is None:
            return False
        self._changed(mailbox, event_id, "deleted", notify)
        if event.get("isOrganizer"):
            for other, other_id in self.directory.copies_of(event["iCalUId"]):
                if other is not mailbox and other.remove(other_id) is not None:
                    self._changed(other, other_id, "deleted", notify)
        return True

    # -- internals -------------------------------------------------------------------------

    def _answer_rooms(self, event: dict[str, Any]) -> None:
        """Set each resource attendee's answer on the organizer's copy."""
        now = self.clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for attendee in event["attendees"]:
            room = self.directory.resolve(_address(attendee))
            if attendee.get("type") != "resource" or room is None or room.kind != "room":
                continue
            answer = self.room_answer(room, event)
            attendee["status"] = {"response": answer.response, "time": now if answer.response != "none" else NEVER}
            self.answers[(event["id"], room.address)] = answer

    def _sync_copies(self, mailbox: Mailbox, event: dict[str, Any], *, created: datetime | None = None,
                     notify: bool = True) -> None:
        uid = event["iCalUId"]
        wanted: dict[str, str] = {}
        for attendee in event["attendees"]:
            other = self.directory.resolve(_address(attendee))
            if other is None or other is mailbox:
                continue
            if other.kind == "room":
                if attendee.get("status", {}).get("response") != "accepted":
                    continue
                wanted[other.id] = "accepted"
            else:
                wanted[other.id] = "none"
        existing = {m.id: (m, eid) for m, eid in self.directory.copies_of(uid) if m is not mailbox}
        for other_id, (other, copy_id) in existing.items():
            if other_id not in wanted and other.remove(copy_id) is not None:
                self._changed(other, copy_id, "deleted", notify)
        clean = copy.deepcopy({k: v for k, v in event.items() if k != "transactionId"})
        for other_id, response in wanted.items():
            other = self.directory.mailboxes[other_id]
            if other_id in existing and existing[other_id][1] in other.events:
                copy_id = existing[other_id][1]
                current = other.events[copy_id]
                replica = {**copy.deepcopy(clean), "id": copy_id, "isOrganizer": False,
                           "responseStatus": current["responseStatus"], "webLink": current["webLink"],
                           "seriesMasterId": current.get("seriesMasterId")}
                self._stamp(replica)
                other.put(replica)
                self._changed(other, copy_id, "updated", notify)
                continue
            copy_id = graph_id(other.id, uid)
            replica = self.build(other, event_id=copy_id, uid=uid, payload=clean, organizer=event["organizer"],
                                 is_organizer=False, response=response, created=created)
            replica["attendees"] = copy.deepcopy(clean["attendees"])
            replica["type"], replica["seriesMasterId"] = event.get("type"), event.get("seriesMasterId")
            if event.get("originalStart"):
                replica["originalStart"] = event["originalStart"]
            other.put(replica)
            if other_id not in existing:
                self.directory.link_copy(uid, other, copy_id)
            self._changed(other, copy_id, "created", notify)

    def _changed(self, mailbox: Mailbox, event_id: str, change: str, notify: bool) -> None:
        if notify and self.on_change is not None:
            self.on_change(mailbox, event_id, change)


def _attendee(entry: dict[str, Any]) -> dict[str, Any]:
    email = entry.get("emailAddress") or {}
    status = entry.get("status") or {"response": "none", "time": NEVER}
    address = email.get("address", "")
    return {"type": entry.get("type", "required"), "status": dict(status),
            "emailAddress": {"name": email.get("name") or address, "address": address}}


def _utc_slot(slot: dict[str, Any]) -> dict[str, str]:
    zone = slot.get("timeZone") or "UTC"
    moment = parse_graph_time(slot["dateTime"])
    if zone not in ("UTC", "Etc/UTC", "GMT"):
        with contextlib.suppress(KeyError, ValueError):
            moment = moment.replace(tzinfo=ZoneInfo(zone))
    return {"dateTime": format_graph_time(moment), "timeZone": "UTC"}


def _preview(content: str) -> str:
    return re.sub(r"<[^>]+>", "", content or "").strip()[:255]
