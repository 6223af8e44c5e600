"""The Feishu simulator's data: plain dicts and lists with the indexes the API needs.

Calendars keep a change log per calendar (``seq``, event id) so ``sync_token`` increments are a
bisect plus a slice, and full loads page over a sorted snapshot; both serve 100k events quickly.
Paging tokens are opaque base64 JSON, as Feishu's are opaque strings.
"""

from __future__ import annotations

import base64
import bisect
import json
import threading
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FeishuState", "decode_token", "encode_token"]


def encode_token(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> dict[str, Any] | None:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (ValueError, TypeError):
        return None
    return data if isinstance(data, dict) else None


@dataclass
class FeishuState:
    """Everything the simulated tenant holds."""

    departments: list[dict[str, Any]] = field(default_factory=list)
    department_by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    users_by_department: dict[str, list[str]] = field(default_factory=dict)

    calendars: dict[str, dict[str, Any]] = field(default_factory=dict)
    primary_of: dict[str, str] = field(default_factory=dict)  # open_id -> calendar id
    app_calendar_ids: list[str] = field(default_factory=list)  # what GET /calendars shows the app
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    event_last_end: dict[str, int] = field(default_factory=dict)  # seconds; for anchor_time filters
    event_calendars: dict[str, set[str]] = field(default_factory=dict)
    calendar_events: dict[str, set[str]] = field(default_factory=dict)
    change_log: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    seq: int = 0

    rooms: list[dict[str, Any]] = field(default_factory=list)
    room_by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    room_calendar: dict[str, str] = field(default_factory=dict)  # room_id -> resource calendar id

    tasklists: list[dict[str, Any]] = field(default_factory=list)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasklist_tasks: dict[str, list[str]] = field(default_factory=dict)
    client_tokens: dict[str, str] = field(default_factory=dict)

    approvals: dict[str, dict[str, Any]] = field(default_factory=dict)
    instances: dict[str, dict[str, Any]] = field(default_factory=dict)
    instances_by_approval: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # (start ms, code)
    subscriptions: set[str] = field(default_factory=set)

    chats: dict[str, dict[str, Any]] = field(default_factory=dict)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    message_uuids: dict[str, tuple[str, float]] = field(default_factory=dict)
    bot_hooks: dict[str, str | None] = field(default_factory=dict)  # hook token -> secret
    bot_messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    # -- calendars -------------------------------------------------------------------------

    def put_event(self, event: dict[str, Any], calendars: set[str], last_end: int) -> None:
        """Create or replace an event on these calendars and log the change on each of them."""
        with self.lock:
            event_id = event["event_id"]
            before = self.event_calendars.get(event_id, set())
            self.events[event_id] = event
            self.event_last_end[event_id] = last_end
            self.event_calendars[event_id] = set(calendars) | before
            for cal in calendars:
                self.calendar_events.setdefault(cal, set()).add(event_id)
            self.log_change(event_id)

    def log_change(self, event_id: str) -> None:
        with self.lock:
            self.seq += 1
            for cal in self.event_calendars.get(event_id, ()):
                self.change_log.setdefault(cal, []).append((self.seq, event_id))

    def live_events(self, calendar_id: str, anchor: int | None) -> list[str]:
        """Ids of the calendar's events ending at or after ``anchor``, sorted by start.

        Cancelled events are left out, except cancelled exceptions: they are how a series says that
        one occurrence is gone.
        """
        with self.lock:
            ids = [e for e in self.calendar_events.get(calendar_id, ())
                   if (self.events[e].get("status") != "cancelled" or self.events[e].get("is_exception"))
                   and (anchor is None or self.event_last_end.get(e, 0) >= anchor)]
        return sorted(ids, key=lambda e: (int(self.events[e]["start_time"].get("timestamp") or 0), e))

    def changes(self, calendar_id: str, after: int, upto: int) -> list[str]:
        """Event ids changed on the calendar in ``(after, upto]``, each once, oldest change first."""
        with self.lock:
            log = self.change_log.get(calendar_id, [])
            start = bisect.bisect_right(log, (after, "\uffff"))
            latest: dict[str, int] = {}
            for seq, event_id in log[start:]:
                if seq > upto:
                    break
                latest[event_id] = seq
        return sorted(latest, key=latest.__getitem__)

    # -- approvals -------------------------------------------------------------------------

    def put_instance(self, instance: dict[str, Any]) -> None:
        with self.lock:
            code = instance["instance_code"]
            if code not in self.instances:
                bucket = self.instances_by_approval.setdefault(instance["approval_code"], [])
                bisect.insort(bucket, (int(instance["start_time"]), code))
            self.instances[code] = instance
