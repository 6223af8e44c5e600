"""Calendars of the users in scope: ``nextToken`` pages first, then ``syncToken`` increments.

``GET /v1.0/calendar/users/{unionId}/calendars/primary/events``: the first read passes ``timeMin``
only (a ``timeMax`` would suppress the ``syncToken``); the ``syncToken`` arrives with the last page
and every later read passes it alone (plus ``showDeleted``). The cursor holds each user's state::

    {"users": {"<unionId>": {"sync": "<syncToken>"} | {"next": "<nextToken>", "mode": "full"|"sync",
                                                     "sync": "<syncToken being followed>"}}}

Each page carries the whole map, so a restart resumes inside the user it stopped at. An event is
in the calendar of its organizer and of each attendee; repeated copies in one run are skipped.
A cancelled event deletes the meeting only when seen in its organizer's calendar (an attendee's
copy may just mean the attendee was removed).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from collabhub.connector import Page
from collabhub.model import Entity, EntityKind
from collabhub_dingtalk import mapping
from collabhub_dingtalk.errors import error_body
from collabhub_dingtalk.streams.base import DingTalkStream, QuietPages
from collabhub_dingtalk.timeutil import iso

__all__ = ["Calendars"]

CALENDAR = "primary"


def _stale_sync_token(response: Any) -> bool:
    body = error_body(response) or {}
    return response.status_code in (400, 410) and "synctoken" in str(body.get("code") or "").lower()


def _attendee_cancellation(event: Mapping[str, Any], union_id: str) -> bool:
    """A cancelled copy in a calendar other than the organizer's (maybe just an attendee removed)."""
    organizer = (event.get("organizer") or {}).get("id")
    return str(event.get("status")) == "cancelled" and organizer not in (union_id, None)


class Calendars(DingTalkStream):
    """Events (-> Meeting + room Bookings) of every user in scope."""

    name = "calendars"
    kind = EntityKind.MEETING
    refresh_prefix = "event"

    def record_id(self, record: Any) -> str | None:
        return str((record.get("event") or {}).get("id")) if isinstance(record, Mapping) else None

    def _url(self, union_id: str, event_id: str | None = None) -> str:
        path = f"/v1.0/calendar/users/{union_id}/calendars/{CALENDAR}/events"
        return self.connector.api(path + (f"/{event_id}" if event_id else ""))

    async def _page(self, union_id: str, state: Mapping[str, Any]) -> tuple[dict[str, Any] | None, bool]:
        """One list call for ``state``; (body, sync_token_was_stale)."""
        size = self.connector.config.calendar_page_size
        params: dict[str, Any] = {"maxResults": size}
        if state.get("sync"):
            params.update(syncToken=state["sync"], showDeleted="true")
        else:
            params.update(timeMin=iso(self.connector.window_start()))
        if state.get("next"):
            params["nextToken"] = state["next"]
        stale = False

        def classify(response: Any) -> Any:
            nonlocal stale
            if _stale_sync_token(response):
                stale = True
                from collabhub.errors import Action, ErrorResolution

                return ErrorResolution(Action.SKIP, message="syncToken expired")
            return self.connector.classify(response)

        body = await self.connector.call("GET", self._url(union_id), classify=classify, params=params)
        return (None, True) if stale else (body, False)

    async def read(self, cursor: Mapping[str, Any] | None) -> AsyncIterator[Page]:
        scope = await self.connector.scope_users()
        old = dict((cursor or {}).get("users") or {})
        users: dict[str, dict[str, Any]] = {u: dict(old[u]) for u in scope if u in old}
        emitted: dict[str, str] = {}
        quiet = QuietPages()
        for index, union_id in enumerate(scope):
            state = users.get(union_id, {})
            while True:
                body, stale = await self._page(union_id, state)
                if stale:
                    self.connector.log.warning("syncToken of %s expired: re-reading that calendar", union_id)
                    state = {}
                    continue
                body = body or {}
                records = []
                for event in body.get("events") or []:
                    if not isinstance(event, Mapping) or not event.get("id"):
                        continue
                    if _attendee_cancellation(event, union_id):
                        continue  # an attendee's copy: the organizer's calendar decides
                    stamp = f"{event.get('updateTime')}|{event.get('status')}"
                    if emitted.get(str(event["id"])) == stamp:
                        continue
                    emitted[str(event["id"])] = stamp
                    records.append({"unionId": union_id, "calendarId": CALENDAR, "event": event})
                if body.get("nextToken"):
                    state = {"next": body["nextToken"], "mode": "sync" if state.get("sync") else "full",
                             **({"sync": state["sync"]} if state.get("sync") else {})}
                else:
                    new_sync = body.get("syncToken") or state.get("sync")
                    state = {"sync": new_sync} if new_sync else {}
                users[union_id] = state
                page = Page(records, cursor={"users": dict(users)})
                if quiet.keep(page, last=index == len(scope) - 1 and not body.get("nextToken")):
                    yield page
                if not body.get("nextToken"):
                    break

    def normalize(self, record: Any) -> list[Entity]:
        return mapping.event_entities(self.connector.name, str(record.get("unionId") or ""), record["event"])

    async def fetch_own(self, ids: Sequence[str]) -> AsyncIterator[Page]:
        """Re-pull events by ``<unionId>/<eventId>``."""
        records = []
        for ref in ids:
            union_id, _, event_id = ref.partition("/")
            if not event_id:
                continue
            body = await self.connector.call("GET", self._url(union_id, event_id), lookup=True)
            if body and body.get("id") and not _attendee_cancellation(body, union_id):
                records.append({"unionId": union_id, "calendarId": CALENDAR, "event": body})
        yield Page(records)
