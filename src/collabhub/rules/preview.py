"""``rules preview``: what each receiver would get next, as a diff against what it already has.

The preview runs the planner without writing anything and adds the deliveries already queued
in the outbox, so it lists exactly what the next cycle's dispatch would send. "What the
receiver already has" is the content of the last delivery of the same object (from the audit).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from collabhub.rules.items import meta_of, public_content

if TYPE_CHECKING:
    from collabhub.rules.engine import RulesEngine
    from collabhub.store.rows import DeliveryRow

__all__ = ["PreviewEntry", "content_lines", "preview", "render_preview"]


@dataclass
class PreviewEntry:
    """One delivery the next cycle would make."""

    receiver: str
    channel: str
    connector: str
    action: str  # "new", "update" (edits the object in place) or "queued" (already in the outbox)
    idempotency_key: str
    rule: str
    entity: tuple[str, str, str]
    target: dict[str, Any]
    content: dict[str, Any]
    previous: dict[str, Any] | None = None
    diff: list[str] = field(default_factory=list)


def content_lines(content: dict[str, Any] | None) -> list[str]:
    """A delivery's content as readable lines (cards by section, other payloads key by key)."""
    if not content:
        return []
    lines: list[str] = []
    for key in ("title", "summary", "body", "description"):
        if content.get(key):
            lines += [f"{key}: {part}" if i == 0 else f"  {part}" for i, part in
                      enumerate(str(content[key]).splitlines())]
    for section in content.get("sections") or []:
        lines.append(f"## {section.get('heading', '')}")
        for item in section.get("items") or []:
            extra = " ".join(f"[{k}={item[k]}]" for k in ("url", "ack_id") if item.get(k))
            lines.append(f"- {item.get('text', '')} {extra}".rstrip())
    for key in sorted(content):
        if key in ("title", "summary", "body", "description", "sections"):
            continue
        lines.append(f"{key}: {json.dumps(content[key], ensure_ascii=False, sort_keys=True, default=str)}")
    return lines


def preview(engine: RulesEngine, *, receiver: str | None = None) -> list[PreviewEntry]:
    """Everything the next cycle would deliver (optionally to one receiver); writes nothing."""
    store = engine.store
    now = engine.clock()
    planned = engine.preview().outbox
    queued = [row for status in ("pending", "sending") for row in store.outbox_rows(status=status, limit=100_000)]
    history: dict[str, dict[tuple[Any, ...], DeliveryRow]] = {}

    def previous(recv: str, entity: tuple[str, str, str], channel: str, connector: str) -> DeliveryRow | None:
        if recv not in history:
            index: dict[tuple[Any, ...], DeliveryRow] = {}
            for row in store.deliveries(receiver=recv, limit=100_000):  # newest first
                key = (row.entity_connector, row.entity_kind, row.entity_external_id, row.channel,
                       row.target_connector)
                index.setdefault(key, row)
            history[recv] = index
        return history[recv].get((*entity, channel, connector))

    entries: list[PreviewEntry] = []
    candidates = [(row, "queued") for row in queued if row.next_attempt_at <= now]
    candidates += [(item, "") for item in planned]  # the planner leaves out keys already in the outbox
    seen: set[str] = set()
    for item, action in candidates:
        if item.idempotency_key in seen or (receiver is not None and item.receiver != receiver):
            continue
        seen.add(item.idempotency_key)
        entity = (item.entity_connector, item.entity_kind, item.entity_external_id)
        before = previous(item.receiver, entity, item.channel, item.target_connector)
        prev_content = (before.detail or {}).get("content") if before is not None else None
        content = public_content(item.content)
        if not action:
            action = "update" if _has_link(engine, item) else "new"
        diff = list(difflib.unified_diff(content_lines(prev_content), content_lines(content),
                                         "what it has", "what it would get", lineterm="", n=1))
        entries.append(PreviewEntry(item.receiver, item.channel, item.target_connector, action,
                                    item.idempotency_key, item.rule, entity, dict(item.target), content,
                                    prev_content, diff))
    return entries


def _has_link(engine: RulesEngine, item: Any) -> bool:
    link = meta_of(item.content).get("link") or {}
    entity = link.get("entity") or [item.entity_connector, item.entity_kind, item.entity_external_id]
    return engine.store.get_link(entity_connector=entity[0], entity_kind=entity[1], entity_external_id=entity[2],
                                 target_connector=item.target_connector, channel=item.channel,
                                 receiver=link.get("receiver", item.receiver)) is not None


def render_preview(entries: list[PreviewEntry]) -> str:
    """The preview as text, grouped by receiver."""
    if not entries:
        return "Nothing to deliver: every receiver is up to date."
    out: list[str] = []
    for recv in sorted({e.receiver for e in entries}):
        mine = [e for e in entries if e.receiver == recv]
        out.append(f"== {recv} ({len(mine)} deliver{'y' if len(mine) == 1 else 'ies'})")
        for entry in mine:
            target = ", ".join(f"{k}={v}" for k, v in sorted(entry.target.items()))
            out.append(f"[{entry.action}] {entry.channel} via {entry.connector} ({target}) "
                       f"rule={entry.rule} entity={'/'.join(entry.entity)}")
            out += [f"    {line}" for line in (entry.diff or [f"+{x}" for x in content_lines(entry.content)])]
        out.append("")
    return "\n".join(out).rstrip()
