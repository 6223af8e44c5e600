"""Building outbox items: idempotency keys and the bookkeeping (``_meta``) each item carries.

``content["_meta"]`` travels with the outbox row but never reaches a writer: the dispatcher
strips it and keeps it as the audit row's ``detail`` (fields sent, rules, the chat for the daily
cap, the link to edit, acknowledgeable items).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from collabhub.store.rows import OutboxItem

__all__ = ["HUB_CONNECTOR", "META", "digest_entity", "idempotency_key", "make_item", "meta_of", "public_content"]

META = "_meta"
HUB_CONNECTOR = "hub"
HUB_KIND = "project"  # links need an entity kind; digests and reminders hang off a hub "project"


def idempotency_key(*parts: Any) -> str:
    """A stable key for one delivery: a hash of its identifying parts."""
    raw = json.dumps([str(p) if not isinstance(p, list | tuple) else [str(x) for x in p] for p in parts],
                     ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


def digest_entity(name: str) -> tuple[str, str, str]:
    """The pseudo entity key a digest (or reminder) card hangs off for links and the audit."""
    return (HUB_CONNECTOR, HUB_KIND, name)


def make_item(*, key: str, connector: str, channel: str, target: dict[str, Any], content: dict[str, Any],
              rule: str, receiver: str, entity: tuple[str, str, str], version: int, meta: dict[str, Any],
              link_receiver: str | None = None) -> OutboxItem:
    """An outbox item whose ``_meta`` says how to link and audit it."""
    meta = {**meta, "link": {"entity": list(entity), "receiver": link_receiver if link_receiver is not None
                             else receiver}}
    return OutboxItem(
        idempotency_key=key, target_connector=connector, channel=channel, target=dict(target),
        content={**content, META: meta}, rule=rule, receiver=receiver, entity_connector=entity[0],
        entity_kind=entity[1], entity_external_id=entity[2], entity_version=version,
    )


def meta_of(content: dict[str, Any]) -> dict[str, Any]:
    return dict(content.get(META) or {})


def public_content(content: dict[str, Any]) -> dict[str, Any]:
    """The content a writer gets: everything but the hub's bookkeeping."""
    return {k: v for k, v in content.items() if k != META}
