"""Consolidated status digests: one card per receiver (or project team, provider, office) and chat.

A digest lists, from guarded views only: changes since the last digest, overdue items, upcoming
milestones and meetings, stale shares and unacknowledged items. Every line is rendered from the
digest receiver's own view of the item (``Stored.sight``), never from a view granted to another
receiver or by a rule that does not name this receiver. It is edited in place (the
dispatcher passes the Link of the previous digest card), and it is sent only when what the
receiver would see differs from the last digest sent to that chat: its *signature* (every
visible view plus the membership of the time-based sections, which move at local midnight)
is kept in the store's checkpoints next to the time of the last digest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from collabhub.rules.acks import AckBook, ack_id
from collabhub.rules.content import card_item, local_time
from collabhub.rules.evaluate import Stored
from collabhub.rules.freshness import Breach
from collabhub.rules.guard import SharedView
from collabhub.rules.ruleset import OFFICE, Rule, RuleSet
from collabhub.rules.texts import text
from collabhub.schedule import QuietHours

__all__ = ["DigestPlan", "DigestScope", "ScopeItem", "build_digest", "digest_scopes", "is_due", "local_day_start",
           "scope_items"]

SECTION_LIMIT = 10
SECTIONS = ("changes", "overdue", "milestones", "meetings", "stale", "unacked")


@dataclass
class DigestScope:
    """Who a digest is for, which rules feed it, and which chats it goes to.

    ``share_rules`` list the items shared *to* this receiver; ``duty_rules`` list the items every
    receiver left unacknowledged past the deadline (for the provider and the coordination office,
    who hear about stale shares through freshness reminders and escalations).
    """

    key: str
    label: str
    lang: str
    chats: dict[str, str] = field(default_factory=dict)
    connectors: set[str] = field(default_factory=set)
    share_rules: list[Rule] = field(default_factory=list)
    duty_rules: list[Rule] = field(default_factory=list)
    project: str | None = None

    @property
    def rules(self) -> list[Rule]:
        seen: dict[str, Rule] = {}
        for rule in (*self.share_rules, *self.duty_rules):
            seen.setdefault(rule.name, rule)
        return list(seen.values())

    def daily_cap(self, connector: str) -> int:
        caps = [d.daily_cap for r in self.share_rules for d in r.card_deliveries
                if d.connector in (None, connector)]
        return min(caps) if caps else 6


def digest_scopes(ruleset: RuleSet) -> list[DigestScope]:
    """Every digest the rule set asks for, merged by receiver key."""
    config = ruleset.config
    scopes: dict[str, DigestScope] = {}
    for rule in ruleset.rules:
        if rule.card_deliveries:
            for receiver in rule.receivers:
                scope = scopes.setdefault(receiver.key, DigestScope(receiver.key, receiver.label, receiver.lang,
                                                                    project=receiver.project))
                scope.chats.update(receiver.chats)
                scope.connectors.update(rule.card_connectors(receiver))
                scope.share_rules.append(rule)
        if rule.spec.freshness is None and rule.spec.ack is None:
            continue
        if rule.spec.provider_chats:
            key = rule.provider_key
            names = [(config.department(d).name if config.department(d) else d) for d in rule.spec.provider]
            scope = scopes.setdefault(key, DigestScope(key, ", ".join(names), rule.spec.lang))
            scope.chats.update(rule.spec.provider_chats)
            scope.connectors.update(rule.spec.provider_chats)
            scope.duty_rules.append(rule)
        office = config.coordination_office
        if office is not None and office.chats:
            scope = scopes.setdefault(OFFICE, DigestScope(OFFICE, office.name, rule.spec.lang))
            scope.chats.update(office.chats)
            scope.connectors.update(c for c in office.chats if c in config.connectors)
            scope.duty_rules.append(rule)
    return [s for s in scopes.values() if s.connectors]


def local_day_start(now: datetime, tz: tzinfo) -> datetime:
    local = now.astimezone(tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def is_due(scope: DigestScope, last_at: datetime | None, now: datetime, tz: tzinfo) -> tuple[bool, str]:
    """Whether the scope's schedule allows a digest now: ``(due, reason when not)``.

    Quiet hours of any feeding rule hold the digest back; with cron schedules the digest waits
    for the next tick after the previous digest; without any it goes whenever something changed.
    """
    for rule in scope.rules:
        quiet = rule.spec.schedule.quiet_hours if rule.spec.schedule else None
        if quiet is not None and QuietHours(quiet.start, quiet.end, quiet.tz or tz).contains(now):
            return False, "quiet hours"
    crons = [r.spec.schedule.cron.with_timezone(tz) for r in scope.rules if r.spec.schedule and r.spec.schedule.cron]
    if not crons or last_at is None:
        return True, ""
    if any(cron.next_after(last_at) <= now for cron in crons):
        return True, ""
    return False, "not scheduled yet"


@dataclass
class ScopeItem:
    """One entity in a digest scope: the view the receiver may see through its card rules, and those shares."""

    stored: Stored
    view: SharedView
    shares: list[Any]


def scope_items(scope: DigestScope, stored_items: Iterable[Stored]) -> list[ScopeItem]:
    """The entities shared to the scope's receiver by its card rules, with merged views."""
    names = {r.name for r in scope.share_rules}
    out = []
    for stored in stored_items:
        shares = [s for s in stored.shares if s.receiver.key == scope.key and s.rule.name in names]
        if shares:
            view = stored.sight.view(scope.key, rules=names)
            if view is not None:
                out.append(ScopeItem(stored, view, shares))
    return out


@dataclass
class DigestPlan:
    """A digest ready to send to one chat: its content, signature and acknowledgeable items."""

    content: dict[str, Any]
    signature: int
    ack_items: list[dict[str, str]]
    shared: int


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _day(value: Any, tz: tzinfo) -> datetime | None:
    """A view's date or datetime as an aware datetime (dates at local midnight)."""
    parsed = _parse(value)
    if parsed is not None:
        return parsed
    if isinstance(value, str) and len(value) == 10:
        try:
            return datetime.fromisoformat(value).replace(tzinfo=tz)
        except ValueError:
            return None
    return None


def build_digest(scope: DigestScope, items: list[ScopeItem], everything: list[Stored], breaches: list[Breach],
                 book: AckBook, *, now: datetime, tz: tzinfo, last_at: datetime | None) -> DigestPlan:
    """The digest card for ``scope`` as of ``now`` (changes are those after ``last_at``).

    ``items`` are the scope's own shared items, ``everything`` every shared item (for the stale
    and unacknowledged items of duty rules), ``breaches`` every open freshness breach.
    """
    lang = scope.lang
    today = local_day_start(now, tz)
    duty_names = {r.name for r in scope.duty_rules}
    sections: dict[str, list[tuple[str, dict[str, Any]]]] = {name: [] for name in SECTIONS}

    def line(item_view: SharedView, shares: list[Any], note: str | None = None) -> dict[str, Any]:
        aid = next((ack_id(s.rule.name, s.receiver.key, item_view.key) for s in shares
                    if s.rule.spec.ack is not None and s.receiver.key == scope.key), None)
        if aid is not None and aid in book.acked:
            aid = None
        return card_item(item_view, tz, lang, note=note, ack_id=aid)

    ordered = sorted(items, key=lambda i: (-(i.stored.row.last_changed.timestamp()), i.view.key))
    for item in ordered:
        view, key = item.view, "/".join(item.view.key)
        if last_at is None or item.stored.row.last_changed > last_at:
            sections["changes"].append((key, line(view, item.shares)))
        due = _day(view.get("due"), tz)
        status = view.get("status_category")
        if due is not None and status in ("todo", "in_progress") and due < today:
            sections["overdue"].append((key, line(view, item.shares)))
        horizon = today + timedelta(days=max(s.rule.spec.horizon_days for s in item.shares))
        milestone = bool(view.get("is_milestone")) or "milestone" in (view.get("labels") or [])
        if due is not None and milestone and today <= due < horizon and status != "done":
            sections["milestones"].append((key, line(view, item.shares)))
        start = _day(view.get("start"), tz)
        if str(view.kind) == "meeting" and start is not None and today <= start < horizon \
                and view.get("status") != "cancelled":
            sections["meetings"].append((key, line(view, item.shares)))
    by_key = {i.view.key: i for i in items}
    for breach in breaches:  # providers and the office get reminders and escalations instead
        item = by_key.get(breach.key)
        if item is None or breach.rule.name not in item.stored.sight.rules(scope.key):
            continue  # only stale shares of rules that share the item with this receiver
        note = text(lang, "item.stale", days=breach.age_days(now))
        sections["stale"].append(("/".join(breach.key) + "|" + breach.rule.name,
                                  card_item(item.view, tz, lang, note=note)))
    for key, stored, share, hours, own in _unacked(items, everything, book, now, scope.key, duty_names):
        note = None if hours is None else text(lang, "item.unacked", receiver=share.receiver.label, hours=hours)
        if own:
            entry = line(by_key[stored.key].view, [share], note)
        else:  # a duty scope sees the item as the rule's duty grant lets it, not as the late receiver does
            view = stored.sight.view(scope.key, rules=(share.rule.name,))
            if view is None:
                continue
            entry = card_item(view, tz, lang, note=note)
        sections["unacked"].append((key, entry))
    sections["meetings"].sort(key=lambda e: e[1]["text"])

    signature = _signature(items, sections)
    shown: list[dict[str, Any]] = []
    ack_items: list[dict[str, str]] = []
    for name in SECTIONS:
        entries = sections[name]
        if not entries:
            continue
        lines = [entry for _, entry in entries[:SECTION_LIMIT]]
        if len(entries) > SECTION_LIMIT:
            lines.append({"text": text(lang, "section.more", n=len(entries) - SECTION_LIMIT)})
        shown.append({"heading": text(lang, f"section.{name}"), "items": lines})
        ack_items.extend({"ack_id": e["ack_id"], "entity": key.split("|")[0]}
                         for key, e in entries[:SECTION_LIMIT] if e.get("ack_id"))
    title_key = "digest.project_title" if scope.project else "digest.title"
    summary = text(lang, "digest.summary", shared=len(items), changed=len(sections["changes"]),
                   overdue=len(sections["overdue"]), unacked=len(sections["unacked"]))
    summary += "\n" + text(lang, "digest.updated_at", at=local_time(now.isoformat(), tz))
    content = {"title": text(lang, title_key, receiver=scope.label), "summary": summary, "sections": shown,
               "lang": lang}
    unique_acks = list({a["ack_id"]: a for a in ack_items}.values())
    return DigestPlan(content, signature, unique_acks, len(items))


def _unacked(items: list[ScopeItem], everything: list[Stored], book: AckBook, now: datetime, scope_key: str,
             duty_names: set[str]) -> list[tuple[str, Stored, Any, int | None, bool]]:
    """(key, stored item, share, hours late or None, own) of items awaiting acknowledgement.

    The receiver's own items stay listed (with their ack button) until acknowledged, marked
    late past the deadline; for duty scopes (provider, office) everyone's late items are listed.
    """
    out = []
    seen: set[str] = set()

    def add(stored: Stored, share: Any, own: bool) -> None:
        if share.rule.spec.ack is None:
            return
        if ack_id(share.rule.name, share.receiver.key, stored.key) in book.acked:
            return
        late = book.unacked(share, now)
        if late is None and not own:
            return
        key = "/".join(stored.key) + "|" + share.receiver.key + ("|late" if late else "")
        if key not in seen:
            seen.add(key)
            out.append((key, stored, share, late.hours if late else None, own))

    for item in items:
        for share in item.shares:
            if share.receiver.key == scope_key:
                add(item.stored, share, True)
    if duty_names:
        for stored in everything:
            for share in stored.shares:
                if share.rule.name in duty_names:
                    add(stored, share, False)
    return out


def _signature(items: list[ScopeItem], sections: dict[str, list[tuple[str, dict[str, Any]]]]) -> int:
    """What the receiver would see, minus the 'changes' list and timestamps: equal means nothing to send."""
    payload = {
        "views": sorted((list(i.view.key), json.dumps(dict(i.view.fields), sort_keys=True, default=str))
                        for i in items),
        "sections": {name: sorted(key for key, _ in entries) for name, entries in sections.items()
                     if name != "changes"},
        "acks": sorted(e["ack_id"] for name, entries in sections.items() if name != "changes"
                       for _, e in entries if e.get("ack_id")),
    }
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    return int(digest[:15], 16)
