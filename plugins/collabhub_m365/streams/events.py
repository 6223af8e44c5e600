"""The ``events`` stream: every in-scope mailbox's calendar (calendarView delta) as Meetings.

A meeting sits in the organizer's calendar and in each attendee's. To get ONE Meeting per
meeting, only the organizer's copy is mapped when the organizer is in scope; otherwise the copy
of the in-scope attendee with the smallest address stands in for it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any

from collabhub.connector import Page
from collabhub.model import Entity, EntityKind

from ..batch import BatchItem, run_batch
from ..mapping import MAILBOX_KEY, meeting_from_event
from ..paths import event_path
from .delta import MailboxDeltaStream

__all__ = ["EventsStream"]


def _address(entry: Mapping[str, Any]) -> str:
    return str((entry.get("emailAddress") or {}).get("address") or "").lower()


class EventsStream(MailboxDeltaStream):
    name = "events"
    kind = EntityKind.MEETING
    cursor_field = "scopes"

    _in_scope: frozenset[str] = frozenset()

    async def targets(self) -> list[str]:
        keys = [m.key for m in await self.connector.mailbox_scope()]
        self._in_scope = frozenset(keys)
        return keys

    def keep(self, mailbox: str, event: Mapping[str, Any]) -> bool:
        if event.get("type") == "seriesMaster":
            return False
        if event.get("isOrganizer"):
            return True
        if _address(event.get("organizer") or {}) in self._in_scope:
            return False  # the organizer's own copy is read from the organizer's mailbox
        present = sorted(a for a in (_address(x) for x in event.get("attendees") or [] if x.get("type") != "resource")
                         if a in self._in_scope)
        return not present or present[0] == mailbox

    def normalize(self, record: Any) -> Iterable[Entity]:
        return [meeting_from_event(record, self.connector.name, record.get(MAILBOX_KEY))]

    async def fetch(self, external_ids: Sequence[str]) -> AsyncIterator[Page]:
        """Re-pull events named ``users/{mailbox}/events/{id}`` (as the webhook queues them)."""
        if not self._in_scope:
            await self.targets()
        wanted: list[tuple[str, str]] = []
        for ref in external_ids:
            parts = ref.strip("/").split("/")
            if len(parts) == 4 and parts[0].lower() == "users" and parts[2].lower() == "events":
                wanted.append((parts[1].lower(), parts[3]))
            else:
                self.connector.log.info("events: cannot re-pull %r (not users/{mailbox}/events/{id})", ref)
        if not wanted:
            return
        items = [BatchItem(str(n), "GET", event_path(m, e), mailbox=m)
                 for n, (m, e) in enumerate(wanted)]
        replies = await run_batch(self.connector, items)
        records: list[dict[str, Any]] = []
        deleted: list[str] = []
        start, end = self.connector.window()
        for n, (mailbox, event_id) in enumerate(wanted):
            reply = replies.get(str(n))
            if reply is None or reply.status == 404:
                deleted.append(event_id)
                continue
            if not reply.ok or not isinstance(reply.body, Mapping):
                continue
            event = dict(reply.body)
            if event.get("type") == "seriesMaster":
                url = (f"{event_path(mailbox, event_id)}/instances"
                       f"?startDateTime={start:%Y-%m-%dT%H:%M:%SZ}&endDateTime={end:%Y-%m-%dT%H:%M:%SZ}")
                for instance in await self.connector.collect(url):
                    if self.keep(mailbox, instance):
                        records.append({**instance, MAILBOX_KEY: mailbox})
            elif self.keep(mailbox, event):
                records.append({**event, MAILBOX_KEY: mailbox})
        yield Page(records=records, deleted=deleted, deleted_kind=self.kind)
