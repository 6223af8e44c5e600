"""Freshness: providers must update shared items every N days; remind, then escalate, each once.

A shared item of a rule with ``freshness: {max_age_days: N, escalate_after_days: M}`` breaches
when it was last updated more than N days ago. The breach period starts at ``last update + N``;
the provider's owner is reminded once per breach period, and the coordination office is told
once when the breach is still open M days later. Both idempotency keys include the start of
the breach period, so an update (a new period) can breach, remind and escalate again.

Done tasks, cancelled meetings and past meetings or bookings never breach.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from collabhub.model import Booking, Meeting, MeetingStatus, StatusCategory, Task
from collabhub.rules.content import card_item, item_title
from collabhub.rules.guard import SharedView
from collabhub.rules.items import idempotency_key, make_item
from collabhub.rules.ruleset import Rule, chat_target
from collabhub.rules.texts import text

if TYPE_CHECKING:
    from collabhub.config import HubConfig
    from collabhub.rules.evaluate import Stored
    from collabhub.store.rows import OutboxItem

__all__ = ["Breach", "breaches", "escalation_items", "last_update", "reminder_items"]


@dataclass(frozen=True)
class Breach:
    """One shared item of one rule that its provider has not updated in time."""

    rule: Rule
    stored: Stored
    view: SharedView
    last_update: datetime
    started: datetime
    escalate_at: datetime

    def escalated(self, now: datetime) -> bool:
        return now >= self.escalate_at

    def age_days(self, now: datetime) -> int:
        return int((now - self.last_update).total_seconds() // 86400)


def last_update(stored: Stored) -> datetime:
    """When the provider last touched the item: its own ``updated`` stamp, else the store's last change."""
    updated = getattr(stored.entity, "updated", None) or stored.entity.source.updated
    return updated if isinstance(updated, datetime) else stored.row.last_changed


def _settled(stored: Stored, now: datetime) -> bool:
    entity = stored.entity
    if isinstance(entity, Task):
        return entity.status_category == StatusCategory.DONE
    if isinstance(entity, Meeting):
        return entity.status == MeetingStatus.CANCELLED or entity.end < now
    if isinstance(entity, Booking):
        return entity.end < now
    return False


def breaches(items: Iterable[Stored], now: datetime) -> list[Breach]:
    """Open breaches among shared items (one per item and rule with ``freshness``)."""
    out = []
    for stored in items:
        seen: set[str] = set()
        for item in stored.shares:
            spec = item.rule.spec.freshness
            if spec is None or item.rule.name in seen:
                continue
            seen.add(item.rule.name)
            if _settled(stored, now):
                continue
            last = last_update(stored)
            started = last + timedelta(days=spec.max_age_days)
            if now < started:
                continue
            out.append(Breach(item.rule, stored, item.view, last, started,
                              started + timedelta(days=spec.escalate_after_days)))
    return out


def _owners(config: HubConfig, rule: Rule) -> list[str]:
    owners = []
    for dept_id in rule.spec.provider:
        dept = config.department(dept_id)
        if dept is not None and dept.owner:
            owners.append(dept.owner)
    return owners


def _provider_label(config: HubConfig, rule: Rule) -> str:
    names = []
    for dept_id in rule.spec.provider:
        dept = config.department(dept_id)
        names.append(dept.name if dept else dept_id)
    return ", ".join(names)


def _card(breach: Breach, lang: str, tz: tzinfo, now: datetime, title: str, summary: str) -> dict[str, Any]:
    note = text(lang, "item.stale", days=breach.age_days(now))
    section = {"heading": text(lang, "section.stale"), "items": [card_item(breach.view, tz, lang, note=note)]}
    return {"title": title, "summary": summary, "lang": lang, "sections": [section]}


def reminder_items(breach: Breach, config: HubConfig, *, now: datetime, tz: tzinfo) -> list[OutboxItem]:
    """The reminder(s) to the provider's owner for one breach period."""
    rule, lang = breach.rule, breach.rule.spec.lang
    owners = _owners(config, rule)
    title = text(lang, "fresh.remind.title", title=item_title(breach.view, lang))
    summary = text(lang, "fresh.remind.summary", rule=rule.name, days=f"{rule.spec.freshness.max_age_days:g}",
                   age=breach.age_days(now), owner=", ".join(owners) or _provider_label(config, rule))
    receiver = "provider:" + ",".join(rule.spec.provider)
    link_receiver = f"fresh:{rule.name}:{breach.started.isoformat()}"
    meta = {"kind": "reminder", "rules": [rule.name], "fields": breach.view.fields_sent}
    remind = rule.spec.freshness.remind or [None]
    out = []
    for spec in remind:
        if spec is None or spec.channel == "card":
            connectors = [spec.connector] if spec is not None and spec.connector else sorted(rule.spec.provider_chats)
            for connector in connectors:
                chat = rule.spec.provider_chats.get(connector)
                if chat is None:
                    continue
                cap = spec.daily_cap if spec is not None else None
                out.append(make_item(
                    key=idempotency_key("fresh-remind", rule.name, breach.view.key, breach.started.isoformat(),
                                        connector, "card"),
                    connector=connector, channel="card", target=chat_target(config, connector, chat),
                    content=_card(breach, lang, tz, now, title, summary), rule=rule.name, receiver=receiver,
                    entity=breach.view.key, version=breach.stored.version,
                    meta={**meta, "chat": f"{connector}:{chat}", "cap": cap}, link_receiver=link_receiver))
        elif spec.channel == "task" and spec.connector and owners:
            target: dict[str, Any] = {"assignee": {"email": owners[0]}}
            if spec.project:
                target["project"] = spec.project
            if spec.tasklist:
                target["tasklist"] = spec.tasklist
            content = {"title": title, "description": summary, "status_category": "todo",
                       "labels": ["collabhub", "collabhub-freshness"],
                       "due": breach.escalate_at.astimezone(tz).date().isoformat()}
            out.append(make_item(
                key=idempotency_key("fresh-remind", rule.name, breach.view.key, breach.started.isoformat(),
                                    spec.connector, "task"),
                connector=spec.connector, channel="task", target=target, content=content, rule=rule.name,
                receiver=receiver, entity=breach.view.key, version=breach.stored.version, meta=meta,
                link_receiver=link_receiver))
    return out


def escalation_items(breach: Breach, config: HubConfig, *, now: datetime, tz: tzinfo) -> list[OutboxItem]:
    """The escalation to the coordination office for one breach period (its chats)."""
    office = config.coordination_office
    if office is None:
        return []
    rule, lang = breach.rule, breach.rule.spec.lang
    title = text(lang, "fresh.escalate.title", title=item_title(breach.view, lang))
    summary = text(lang, "fresh.escalate.summary", provider=_provider_label(config, rule), rule=rule.name,
                   days=f"{rule.spec.freshness.escalate_after_days:g}")
    meta = {"kind": "escalation", "rules": [rule.name], "fields": breach.view.fields_sent}
    out = []
    for connector, chat in sorted(office.chats.items()):
        if connector not in config.connectors:
            continue
        out.append(make_item(
            key=idempotency_key("fresh-escalate", rule.name, breach.view.key, breach.started.isoformat(), connector),
            connector=connector, channel="card", target=chat_target(config, connector, chat),
            content=_card(breach, lang, tz, now, title, summary), rule=rule.name, receiver="office",
            entity=breach.view.key, version=breach.stored.version,
            meta={**meta, "chat": f"{connector}:{chat}"},
            link_receiver=f"escalate:{rule.name}:{breach.started.isoformat()}"))
    return out
