"""The simulator's mailboxes and calendars: plain dicts with indexes, and a change log per mailbox.

Every change to a mailbox's calendar gets the next sequence number of that mailbox; the change
log (parallel lists of sequence numbers and event ids) is what calendarView delta pages walk.
An event's JSON (Graph shape) is serialised once and cached, so a page is a byte join.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["DeltaToken", "Mailbox", "MailboxDirectory", "format_graph_time", "graph_id", "parse_graph_time"]


def graph_id(*parts: object) -> str:
    """A stable Graph-looking id (``AAMkAG…=``) derived from ``parts``."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return "AAMkAG" + base64.urlsafe_b64encode(digest[:33]).decode().rstrip("=") + "="


def format_graph_time(moment: datetime) -> str:
    """Graph's ``dateTimeTimeZone.dateTime`` in UTC: seven fractional digits, no offset."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000")


def parse_graph_time(value: str, zone: str = "UTC") -> datetime:
    """Parse a Graph ``dateTime`` (UTC assumed; trailing ``Z`` or offset honoured)."""
    text = value.strip().replace("Z", "+00:00")
    if "." in text:
        head, _, tail = text.partition(".")
        digits = "".join(ch for ch in tail if ch.isdigit())
        rest = tail[len(digits):]
        text = f"{head}.{digits[:6].ljust(6, '0')}{rest}"
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class Mailbox:
    """One Exchange mailbox (a user or a room) with its primary calendar."""

    id: str
    address: str
    display_name: str
    kind: str = "user"  # user | room
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    spans: dict[str, tuple[float, float]] = field(default_factory=dict)
    masters: dict[str, dict[str, Any]] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)
    seq: int = 0
    epoch: int = 0
    log_seqs: list[int] = field(default_factory=list)
    log_ids: list[str] = field(default_factory=list)
    seq_of: dict[str, int] = field(default_factory=dict)
    encoded: dict[str, bytes] = field(default_factory=dict)
    by_transaction: dict[str, str] = field(default_factory=dict)
    policy: str = "auto"  # rooms: auto (accept when free) | decline | manual (never answers)
    policy_reason: str = ""

    def _touch(self, event_id: str) -> None:
        self.seq += 1
        self.seq_of[event_id] = self.seq
        self.log_seqs.append(self.seq)
        self.log_ids.append(event_id)

    def put(self, event: dict[str, Any]) -> None:
        """Insert or replace an event (an occurrence, exception or single instance)."""
        event_id = event["id"]
        start = parse_graph_time(event["start"]["dateTime"]).timestamp()
        end = parse_graph_time(event["end"]["dateTime"]).timestamp()
        self.events[event_id] = event
        self.spans[event_id] = (start, end)
        self.removed.discard(event_id)
        self.encoded.pop(event_id, None)
        self._touch(event_id)

    def remove(self, event_id: str) -> dict[str, Any] | None:
        event = self.events.pop(event_id, None)
        if event is None:
            return None
        self.encoded.pop(event_id, None)
        self.removed.add(event_id)
        self._touch(event_id)
        return event

    def encode(self, event_id: str) -> bytes:
        data = self.encoded.get(event_id)
        if data is None:
            data = json.dumps(self.events[event_id], ensure_ascii=False, separators=(",", ":")).encode()
            self.encoded[event_id] = data
        return data

    def changes(self, after: int, upto: int) -> Iterator[tuple[int, str]]:
        """Current (not superseded) changes with ``after < seq <= upto``, oldest first."""
        start = bisect.bisect_right(self.log_seqs, after)
        for i in range(start, len(self.log_seqs)):
            seq = self.log_seqs[i]
            if seq > upto:
                return
            event_id = self.log_ids[i]
            if self.seq_of.get(event_id) == seq:
                yield seq, event_id

    def overlapping(self, start: float, end: float, *, skip: Callable[[dict[str, Any]], bool] | None = None
                    ) -> list[dict[str, Any]]:
        out = []
        for event_id, (s, e) in self.spans.items():
            if event_id in self.removed or s >= end or e <= start:
                continue
            event = self.events[event_id]
            if event.get("isCancelled") or (skip and skip(event)):
                continue
            out.append(event)
        return out


@dataclass(frozen=True)
class DeltaToken:
    """What a ``$skiptoken``/``$deltatoken`` encodes: mailbox, window, change range, position."""

    mailbox: str
    start: float
    end: float
    since: int  # changes after this seq belong to the round (0 = initial full round)
    upto: int  # the round's snapshot: changes up to this seq
    after: int  # position inside the round
    epoch: int

    def encode(self) -> str:
        raw = json.dumps([self.mailbox, self.start, self.end, self.since, self.upto, self.after, self.epoch],
                         separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> DeltaToken:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        mailbox, start, end, since, upto, after, epoch = json.loads(raw)
        return cls(mailbox, float(start), float(end), int(since), int(upto), int(after), int(epoch))


class MailboxDirectory:
    """Mailboxes by id and address (case-insensitive), groups, rooms and room lists."""

    def __init__(self) -> None:
        self.mailboxes: dict[str, Mailbox] = {}
        self._index: dict[str, str] = {}
        self.users: list[dict[str, Any]] = []
        self.groups: dict[str, dict[str, Any]] = {}
        self.group_members: dict[str, list[str]] = {}
        self.rooms: list[dict[str, Any]] = []
        self.room_lists: list[dict[str, Any]] = []
        self.room_list_members: dict[str, list[str]] = {}
        self.copies: dict[str, list[tuple[str, str]]] = {}  # iCalUId -> [(mailbox id, event id)]

    def add_mailbox(self, mailbox: Mailbox, user: dict[str, Any] | None = None) -> Mailbox:
        self.mailboxes[mailbox.id] = mailbox
        self._index[mailbox.id.lower()] = mailbox.id
        self._index[mailbox.address.lower()] = mailbox.id
        if user is not None:
            self.users.append(user)
        return mailbox

    def resolve(self, key: str) -> Mailbox | None:
        """A mailbox by object id, mail or user principal name."""
        mailbox_id = self._index.get(key.lower())
        return self.mailboxes.get(mailbox_id) if mailbox_id else None

    def room(self, key: str) -> dict[str, Any] | None:
        key = key.lower()
        for room in self.rooms:
            if room["emailAddress"].lower() == key or room["id"].lower() == key:
                return room
        return None

    def link_copy(self, ical_uid: str, mailbox: Mailbox, event_id: str) -> None:
        self.copies.setdefault(ical_uid, []).append((mailbox.id, event_id))

    def copies_of(self, ical_uid: str) -> list[tuple[Mailbox, str]]:
        return [(self.mailboxes[m], e) for m, e in self.copies.get(ical_uid, []) if m in self.mailboxes]
