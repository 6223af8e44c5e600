"""Per-item deliveries (task, event, comment, booking): one object per receiver and entity.

They are planned as soon as an entity changes. When several rules share one entity with one
receiver through the same channel, their guarded views are merged (each part was allowed) and
one object is kept in sync. The idempotency key is a hash of (rules and their definitions,
receiver, channel, connector, entity key, entity version): a version is delivered once, and
editing a rule (say, its field allowlist) re-sends the new view once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from collabhub.model import Entity, EntityKind
from collabhub.rules.content import (
    booking_content,
    comment_content,
    event_content,
    task_content,
    withdrawn_task_content,
)
from collabhub.rules.guard import merge_views
from collabhub.rules.items import idempotency_key, make_item
from collabhub.rules.ruleset import Receiver, Rule
from collabhub.rules.schema import DeliverSpec
from collabhub.rules.texts import text

if TYPE_CHECKING:
    from collabhub.config import HubConfig
    from collabhub.rules.evaluate import Share
    from collabhub.store.rows import OutboxItem

__all__ = ["ItemPlanner"]


@dataclass
class ItemPlanner:
    """Turns the shares of changed entities into per-item outbox items."""

    config: HubConfig
    tz: tzinfo
    skipped: int = 0

    def items(self, entity: Entity, version: int, shares: list[Share]) -> list[OutboxItem]:
        """Outbox items for one entity's shares (cards are left to the digests)."""
        groups: dict[tuple[str, str, str, str], list[tuple[Share, DeliverSpec]]] = defaultdict(list)
        for item in shares:
            for deliver in item.rule.item_deliveries:
                assert deliver.connector is not None
                groups[(item.receiver.key, deliver.channel, deliver.connector, _target_id(deliver))].append(
                    (item, deliver))
        out = []
        for (_, channel, connector, _), members in sorted(groups.items()):
            receiver = members[0][0].receiver
            rules = sorted({m[0].rule.name for m in members})
            view = merge_views(m[0].view for m in members)
            if view is None:
                continue
            built = self._build(entity, receiver, members[0][1], view, [m[0].rule for m in members])
            if built is None:
                self.skipped += 1
                continue
            target, content = built
            meta = {"kind": "item", "rules": rules, "fields": view.fields_sent}
            if view.confidential_reason:
                meta["confidential_reason"] = view.confidential_reason
            fingerprints = sorted({m[0].rule.fingerprint for m in members})  # an edited rule re-sends its view
            out.append(make_item(
                key=idempotency_key("item", rules, fingerprints, receiver.key, channel, connector, entity.key, version),
                connector=connector, channel=channel, target=target, content=content, rule=rules[0],
                receiver=receiver.key, entity=entity.key, version=version, meta=meta))
        return out

    def _build(self, entity: Entity, receiver: Receiver, deliver: DeliverSpec, view: Any,
               rules: list[Rule]) -> tuple[dict[str, Any], dict[str, Any]] | None:
        lang = receiver.lang
        footer = text(lang, "task.footer", rule=", ".join(sorted({r.name for r in rules})),
                      provider=", ".join(self._provider_names(rules)))
        if deliver.channel == "task":
            target: dict[str, Any] = {"assignee": {"email": receiver.emails[0]}}
            if deliver.project:
                target["project"] = deliver.project
            if deliver.tasklist:
                target["tasklist"] = deliver.tasklist
            return target, task_content(view, self.tz, lang, footer=footer)
        if deliver.channel in ("event", "booking"):
            target = _calendar_target(deliver, receiver)
            if target is None:
                return None
            if deliver.channel == "booking":
                content = booking_content(view, lang, room=deliver.room)
            else:
                invite = list(receiver.emails) if (deliver.mailbox or deliver.calendar_id) else []
                content = event_content(view, self.tz, self.config.timezone, lang, attendees=invite, footer=footer)
            return None if content is None else (target, content)
        if deliver.channel == "comment":
            issue = self._comment_issue(entity, deliver)
            if issue is None:
                return None
            return {"issue": issue}, comment_content(view, self.tz, lang, footer=footer)
        return None

    def _provider_names(self, rules: list[Rule]) -> list[str]:
        names = []
        for dept_id in sorted({d for r in rules for d in r.spec.provider}):
            dept = self.config.department(dept_id)
            names.append(dept.name if dept else dept_id)
        return names

    def _comment_issue(self, entity: Entity, deliver: DeliverSpec) -> str | None:
        if deliver.issue:
            return deliver.issue
        if entity.kind == EntityKind.TASK and entity.source.connector == deliver.connector:
            return entity.source.external_id
        project = self.config.project(entity.project) if entity.project else None
        return project.jira_epic if project is not None else None

    def withdrawal(self, entity_key: tuple[str, str, str], version: int, receiver: Receiver, deliver: DeliverSpec,
                   rule: Rule) -> OutboxItem:
        """Close a mirrored task the receiver may no longer see (no entity data in it)."""
        assert deliver.connector is not None
        return make_item(
            key=idempotency_key("withdraw", receiver.key, "task", deliver.connector, entity_key, version),
            connector=deliver.connector, channel="task", target={"assignee": {"email": receiver.emails[0]}},
            content=withdrawn_task_content(receiver.lang), rule=rule.name, receiver=receiver.key, entity=entity_key,
            version=version, meta={"kind": "withdrawal", "rules": [rule.name], "fields": []})


def _target_id(deliver: DeliverSpec) -> str:
    return "|".join(str(v or "") for v in (deliver.project, deliver.tasklist, deliver.issue, deliver.mailbox,
                                           deliver.calendar_id, deliver.room))


def _calendar_target(deliver: DeliverSpec, receiver: Receiver) -> dict[str, Any] | None:
    if deliver.calendar_id:
        return {"calendar_id": deliver.calendar_id}
    mailbox = deliver.mailbox or (receiver.emails[0] if receiver.emails else None)
    return {"mailbox": mailbox} if mailbox else None
