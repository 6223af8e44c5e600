"""Receivers' duty to acknowledge: ack ids on card items, acks read from inbound events.

A digest card line for a rule with ``ack:`` carries an ``ack_id``. A connector's webhook that
receives the click (Feishu card action, DingTalk action card link) records an inbound event
(``event_type="ack"``, or the vendor's own card-action type) whose payload holds that
``ack_id``, at the top level or nested (e.g. ``event.action.value.ack_id``). An
item whose first delivery to a receiver is older than the rule's ``ack.deadline_hours`` and
that has no ack is *unacknowledged*: listed for the receiver, the provider and the office.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collabhub.rules.evaluate import Share
    from collabhub.store import Store

__all__ = ["ACK_EVENT", "AckBook", "Unacked", "ack_id", "ack_id_of"]

ACK_EVENT = "ack"
DIGEST_RULE = "digest"
LOOKBACK = timedelta(days=60)


def ack_id(rule: str, receiver: str, entity_key: tuple[str, str, str]) -> str:
    """The id a receiver's acknowledgement of one shared item carries."""
    raw = "\x1f".join((rule, receiver, *entity_key))
    return hashlib.sha256(raw.encode()).hexdigest()[:20]


def ack_id_of(payload: Any, depth: int = 0) -> str | None:
    """The ``ack_id`` inside an inbound event's payload, at the top or nested (e.g. a Feishu card
    action's ``event.action.value.ack_id``); ``None`` when there is none."""
    if not isinstance(payload, Mapping) or depth > 5:
        return None
    value = payload.get("ack_id")
    if isinstance(value, str | int) and value:
        return str(value)
    for child in payload.values():
        found = ack_id_of(child, depth + 1)
        if found:
            return found
    return None


@dataclass(frozen=True)
class Unacked:
    """A shared item the receiver has not acknowledged in time."""

    share: Share
    hours: int


@dataclass
class AckBook:
    """What was acknowledged, and when each ack id was first delivered."""

    acked: set[str] = field(default_factory=set)
    first_sent: dict[str, datetime] = field(default_factory=dict)

    @classmethod
    def load(cls, store: Store, *, now: datetime) -> AckBook:
        book = cls()
        after = 0
        while True:
            events = store.events(after_id=after, limit=1000)  # "ack", or a vendor's card-action event
            for event in events:
                found = ack_id_of(event.payload or {})
                if found:
                    book.acked.add(found)
            if len(events) < 1000:
                break
            after = events[-1].id
        for row in store.deliveries(rule=DIGEST_RULE, since=now - LOOKBACK, limit=100_000):
            for item in (row.detail or {}).get("items", []):
                aid = item.get("ack_id")
                if aid and (aid not in book.first_sent or row.at < book.first_sent[aid]):
                    book.first_sent[aid] = row.at
        return book

    def unacked(self, share: Share, now: datetime) -> Unacked | None:
        """The item as unacknowledged when its deadline passed without an ack, else ``None``."""
        spec = share.rule.spec.ack
        if spec is None:
            return None
        aid = ack_id(share.rule.name, share.receiver.key, share.view.key)
        sent = self.first_sent.get(aid)
        if sent is None or aid in self.acked:
            return None
        waited = now - sent
        if waited < timedelta(hours=spec.deadline_hours):
            return None
        return Unacked(share, int(waited.total_seconds() // 3600))
