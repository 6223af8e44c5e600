"""Freshness: providers must update shared items every N days; remind, then escalate, each once.

A shared item of a rule with ``freshness: {max_age_days: N, escalate_after_days: M}`` breaches
when it was last updated more than N days ago. The breach period starts at ``last update + N``;
the provider's owner is reminded once per breach period, and the coordination office is told
once when the breach is still open M days later. Items breaching at the same time go out in one
reminder (one escalation) listing them all; every reminder and escalation records the breach
periods it covers (``rule|item|period start``), and a period already covered by a delivered,
queued or parked one is never reminded (escalated) again. An update starts a new period.

Done tasks, cancelled meetings and past meetings or bookings never breach. Reminders and
escalations wait for the end of the rule's quiet hours. A breach carries no view: each line is
rendered from what the guard lets its receiver (the provider, the office) see of the item under
the breached rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from collabhub.model import Booking, Meeting, MeetingStatus, StatusCategory, Task
from collabhub.rules.content import card_item, identifying_title, item_title
from collabhub.rules.guard import SharedView
from collabhub.rules.items import digest_entity, idempotency_key, make_item, meta_of
from collabhub.rules.ruleset import OFFICE, Rule, chat_target
from collabhub.rules.texts import text
from collabhub.schedule import QuietHours

if TYPE_CHECKING:
    from collabhub.config import HubConfig
    from collabhub.rules.evaluate import Stored
    from collabhub.store import Store
    from collabhub.store.rows import OutboxItem

__all__ = ["Breach", "ReminderBook", "breach_id", "breaches", "escalation_items", "last_update", "plan_freshness",
           "reminder_items"]

LOOKBACK = timedelta(days=120)
SECTION_LIMIT = 10


@dataclass(frozen=True)
class Breach:
    """One shared item of one rule that its provider has not updated in time."""

    rule: Rule
    stored: Stored
    last_update: datetime
    started: datetime
    escalate_at: datetime

    @property
    def key(self) -> tuple[str, str, str]:
        return self.stored.key

    def view_for(self, receiver: str) -> SharedView | None:
        """What ``receiver`` may see of the stale item under the breached rule (``None``: nothing)."""
        return self.stored.sight.view(receiver, rules=(self.rule.name,))

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
            out.append(Breach(item.rule, stored, last, started,
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


def breach_id(breach: Breach) -> str:
    """One breach period of one item under one rule: what reminders and escalations are keyed on."""
    return "|".join((breach.rule.name, *breach.key, breach.started.isoformat()))


@dataclass
class ReminderBook:
    """Breach periods already reminded or escalated (delivered, queued or parked): never again."""

    reminded: set[str] = field(default_factory=set)
    escalated: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, store: Store, rules: Iterable[Rule], *, now: datetime) -> ReminderBook:
        book = cls()
        since = now - LOOKBACK
        for rule in rules:
            for row in store.deliveries(rule=rule.name, since=since, limit=1_000_000):
                book._add(row.detail or {})
        for status in ("pending", "sending", "parked"):
            for row in store.outbox_rows(status=status, limit=1_000_000):
                book._add(meta_of(row.content))
        return book

    def _add(self, meta: dict[str, Any]) -> None:
        kind = meta.get("kind")
        if kind == "reminder":
            self.reminded.update(meta.get("breaches") or [])
        elif kind == "escalation":
            self.escalated.update(meta.get("breaches") or [])


Seen = list[tuple[Breach, SharedView]]


def _seen_by(batch: list[Breach], receiver: str) -> Seen:
    """Each breach with what ``receiver`` may see of its item (items it may not see are left out)."""
    out = []
    for breach in batch:
        view = breach.view_for(receiver)
        if view is not None:
            out.append((breach, view))
    return out


def _card(seen: Seen, lang: str, tz: tzinfo, now: datetime, title: str, summary: str) -> dict[str, Any]:
    lines = [card_item(view, tz, lang, note=text(lang, "item.stale", days=b.age_days(now)))
             for b, view in seen[:SECTION_LIMIT]]
    if len(seen) > SECTION_LIMIT:
        lines.append({"text": text(lang, "section.more", n=len(seen) - SECTION_LIMIT)})
    section = {"heading": text(lang, "section.stale"), "items": lines}
    return {"title": title, "summary": summary, "lang": lang, "sections": [section]}


def _markdown(seen: Seen, lang: str, now: datetime) -> str:
    return "\n".join(f"- {item_title(view, lang)} ({text(lang, 'item.stale', days=b.age_days(now))})"
                     for b, view in seen)


def _title(seen: Seen, lang: str, kind: str) -> str:
    """``fresh.<kind>.title``: names the one item only when its receiver may see its title."""
    if len(seen) > 1:
        return text(lang, f"fresh.{kind}.title_many", n=len(seen))
    name = identifying_title(seen[0][1])
    if name is None:
        return text(lang, f"fresh.{kind}.title_withheld")
    return text(lang, f"fresh.{kind}.title", title=name)


def _batch_meta(kind: str, rule: Rule, seen: Seen) -> dict[str, Any]:
    return {"kind": kind, "rules": [rule.name], "breaches": [breach_id(b) for b, _ in seen],
            "fields": sorted({f for _, view in seen for f in view.fields_sent})}


def reminder_items(rule: Rule, batch: list[Breach], config: HubConfig, *, now: datetime,
                   tz: tzinfo) -> list[OutboxItem]:
    """One reminder per way the provider's owner is reached, listing every newly breached item."""
    receiver = rule.provider_key
    seen = _seen_by(batch, receiver)
    if not seen:
        return []
    lang = rule.spec.lang
    owners = _owners(config, rule)
    title = _title(seen, lang, "remind")
    summary = text(lang, "fresh.remind.summary", rule=rule.name, days=f"{rule.spec.freshness.max_age_days:g}",
                   owner=", ".join(owners) or _provider_label(config, rule))
    ids = sorted(breach_id(b) for b, _ in seen)
    meta = _batch_meta("reminder", rule, seen)
    entity = digest_entity(f"freshness:{rule.name}")
    out = []
    for spec in rule.spec.freshness.remind or [None]:
        if spec is None or spec.channel == "card":
            connectors = [spec.connector] if spec is not None and spec.connector else sorted(rule.spec.provider_chats)
            for connector in connectors:
                chat = rule.spec.provider_chats.get(connector)
                if chat is None:
                    continue
                key = idempotency_key("fresh-remind", rule.name, connector, "card", ids)
                out.append(make_item(
                    key=key, connector=connector, channel="card", target=chat_target(config, connector, chat),
                    content=_card(seen, lang, tz, now, title, summary), rule=rule.name, receiver=receiver,
                    entity=entity, version=0, link_receiver=f"remind:{key[:16]}",
                    meta={**meta, "chat": f"{connector}:{chat}", "cap": spec.daily_cap if spec else None}))
        elif spec.channel == "task" and spec.connector and owners:
            target: dict[str, Any] = {"assignee": {"email": owners[0]}}
            if spec.project:
                target["project"] = spec.project
            if spec.tasklist:
                target["tasklist"] = spec.tasklist
            content = {"title": title, "description": summary + "\n\n" + _markdown(seen, lang, now),
                       "status_category": "todo", "labels": ["collabhub", "collabhub-freshness"],
                       "due": min(b.escalate_at for b, _ in seen).astimezone(tz).date().isoformat()}
            key = idempotency_key("fresh-remind", rule.name, spec.connector, "task", ids)
            out.append(make_item(
                key=key, connector=spec.connector, channel="task", target=target, content=content, rule=rule.name,
                receiver=receiver, entity=entity, version=0, meta=meta, link_receiver=f"remind:{key[:16]}"))
    return out


def escalation_items(rule: Rule, batch: list[Breach], config: HubConfig, *, now: datetime,
                     tz: tzinfo) -> list[OutboxItem]:
    """One escalation card per coordination-office chat, listing every item still stale M days on."""
    office = config.coordination_office
    seen = _seen_by(batch, OFFICE)
    if office is None or not seen:
        return []
    lang = rule.spec.lang
    title = _title(seen, lang, "escalate")
    summary = text(lang, "fresh.escalate.summary", provider=_provider_label(config, rule), rule=rule.name,
                   days=f"{rule.spec.freshness.escalate_after_days:g}")
    ids = sorted(breach_id(b) for b, _ in seen)
    meta = _batch_meta("escalation", rule, seen)
    out = []
    for connector, chat in sorted(office.chats.items()):
        if connector not in config.connectors:
            continue
        key = idempotency_key("fresh-escalate", rule.name, connector, ids)
        out.append(make_item(
            key=key, connector=connector, channel="card", target=chat_target(config, connector, chat),
            content=_card(seen, lang, tz, now, title, summary), rule=rule.name, receiver=OFFICE,
            entity=digest_entity(f"freshness:{rule.name}"), version=0, link_receiver=f"escalate:{key[:16]}",
            meta={**meta, "chat": f"{connector}:{chat}"}))
    return out


def plan_freshness(open_breaches: list[Breach], book: ReminderBook, config: HubConfig, *, now: datetime,
                   tz: tzinfo) -> list[OutboxItem]:
    """Reminders for breaches not reminded yet and escalations for those due and not escalated, per rule."""
    by_rule: dict[str, list[Breach]] = {}
    for breach in open_breaches:
        by_rule.setdefault(breach.rule.name, []).append(breach)
    out: list[OutboxItem] = []
    for batch in by_rule.values():
        batch.sort(key=lambda b: (b.started, b.key))
        rule = batch[0].rule
        quiet = rule.spec.schedule.quiet_hours if rule.spec.schedule else None
        if quiet is not None and QuietHours(quiet.start, quiet.end, quiet.tz or tz).contains(now):
            continue  # held back until the rule's quiet hours end
        out += escalation_items(rule, [b for b in batch if b.escalated(now) and breach_id(b) not in book.escalated],
                                config, now=now, tz=tz)
        out += reminder_items(rule, [b for b in batch if breach_id(b) not in book.reminded], config, now=now, tz=tz)
    return out
