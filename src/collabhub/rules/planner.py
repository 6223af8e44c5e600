"""Planning: store changes and the clock -> outbox items, exactly what the next dispatch sends.

One planning pass:

1. read change records after the ``rules`` checkpoint (plus, for a rule that is new or was
   edited, every entity of its kinds: a backfill), evaluate the changed entities and plan
   their per-item deliveries, or withdraw mirrored tasks a receiver may no longer see;
2. when digests, freshness or acknowledgements are configured, scan the shared entities once
   and plan freshness reminders and escalations and each due digest whose visible content
   changed;
3. hold back card messages over a chat's daily cap;
4. enqueue (idempotent on the key) and move the checkpoints.

With ``dry_run=True`` nothing is written: ``rules preview`` shows the same items.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from collabhub.rules.acks import AckBook
from collabhub.rules.digest import build_digest, digest_scopes, is_due, local_day_start, scope_items
from collabhub.rules.evaluate import Evaluator, Stored, scan
from collabhub.rules.freshness import ReminderBook, breaches, plan_freshness
from collabhub.rules.items import digest_entity, idempotency_key, make_item, meta_of
from collabhub.rules.per_item import ItemPlanner
from collabhub.rules.ruleset import RuleSet, chat_target

if TYPE_CHECKING:
    from collabhub.store import Store
    from collabhub.store.rows import OutboxItem, StoredEntity

__all__ = ["CHECKPOINT", "PlanResult", "Planner"]

log = logging.getLogger(__name__)

CHECKPOINT = "rules"
_BULK_LOAD = 300


@dataclass
class PlanResult:
    """What one planning pass did (counts) and, for previews, the items themselves."""

    changes: int = 0
    entities: int = 0
    checks: int = 0
    filter_errors: int = 0
    planned: int = 0
    enqueued: int = 0
    items: int = 0
    digests: int = 0
    reminders: int = 0
    escalations: int = 0
    withdrawals: int = 0
    deferred: int = 0
    held: int = 0
    skipped: int = 0
    outbox: list[OutboxItem] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "outbox"}


@dataclass
class _StateWrite:
    name: str
    value: int


class Planner:
    """Plans one pass for a compiled rule set against a store at ``now``."""

    def __init__(self, ruleset: RuleSet, store: Store, *, now: datetime, tz: tzinfo) -> None:
        self.ruleset = ruleset
        self.config = ruleset.config
        self.store = store
        self.now = now
        self.tz = tz
        self.evaluator = Evaluator(ruleset, now, tz)
        self.item_planner = ItemPlanner(self.config, tz)

    # -- the pass ------------------------------------------------------------------------

    def plan(self, *, dry_run: bool = False) -> PlanResult:
        result = PlanResult()
        writes: list[_StateWrite] = []
        last_change, changed = self._read_changes(result)
        backfill = [r for r in self.ruleset.rules
                    if self.store.get_checkpoint(_rule_checkpoint(r.name)) != int(r.fingerprint, 16)]
        planned: list[tuple[OutboxItem, list[_StateWrite]]] = []
        planned += [(i, []) for i in self._item_deliveries(changed, backfill, result)]
        planned += self._time_driven(result)
        known = known_keys(self.store, [item.idempotency_key for item, _ in planned])
        writes += [w for item, ws in planned if item.idempotency_key in known for w in ws]
        planned = [(item, ws) for item, ws in planned if item.idempotency_key not in known]
        kept = self._apply_caps(planned, result)
        result.outbox = [item for item, _ in kept]
        result.planned = len(result.outbox)
        for item in result.outbox:
            kind = meta_of(item.content).get("kind")
            attr = {"item": "items", "digest": "digests", "reminder": "reminders", "escalation": "escalations",
                    "withdrawal": "withdrawals"}.get(kind or "")
            if attr:
                setattr(result, attr, getattr(result, attr) + 1)
        writes += [w for _, ws in kept for w in ws]
        writes += [_StateWrite(_rule_checkpoint(r.name), int(r.fingerprint, 16)) for r in backfill]
        result.checks = self.evaluator.checks
        result.filter_errors = self.evaluator.errors
        result.skipped += self.item_planner.skipped
        if dry_run:
            return result
        result.enqueued = self.store.enqueue(result.outbox) if result.outbox else 0
        for write in writes:
            self.store.set_checkpoint(write.name, write.value)
        if last_change is not None:
            self.store.set_checkpoint(CHECKPOINT, last_change)
        return result

    # -- 1. changes -> per-item deliveries -----------------------------------------------

    def _read_changes(self, result: PlanResult) -> tuple[int | None, dict[tuple[str, str, str], str]]:
        after = self.store.get_checkpoint(CHECKPOINT)
        kinds = sorted(str(k) for k in self.ruleset.kinds)
        changed: dict[tuple[str, str, str], str] = {}
        last: int | None = None
        while True:
            records = self.store.changes_since(after, limit=1000)
            if not records:
                break
            for record in records:
                result.changes += 1
                if record.kind in kinds:
                    key = (record.connector, record.kind, record.external_id)
                    changed[key] = "update" if key in changed and record.op != "delete" else record.op
            after = last = records[-1].id
            if len(records) < 1000:
                break
        return last, changed

    def _load(self, keys: set[tuple[str, str, str]]) -> list[StoredEntity]:
        if len(keys) <= _BULK_LOAD:
            rows = [self.store.get_entity(*key) for key in sorted(keys)]
            return [r for r in rows if r is not None]
        out = []
        for kind in sorted({k[1] for k in keys}):
            out += [r for r in self.store.iter_entities(kind=kind, include_deleted=True)
                    if (r.connector, r.kind, r.external_id) in keys]
        return out

    def _item_deliveries(self, changed: dict[tuple[str, str, str], str], backfill: list[Any],
                         result: PlanResult) -> list[OutboxItem]:
        item_rules = [r for r in self.ruleset.rules if r.item_deliveries]
        if not item_rules:
            return []
        keys = set(changed)
        for rule in backfill:
            if rule.item_deliveries:
                for kind in rule.kinds:
                    keys |= {(r.connector, r.kind, r.external_id) for r in self.store.iter_entities(kind=str(kind))}
        out: list[OutboxItem] = []
        for row in self._load(keys):
            entity = row.entity()
            result.entities += 1
            shares = [s for s in self.evaluator.shares(entity) if s.rule.item_deliveries]
            out += self.item_planner.items(entity, row.version, shares)
            if changed.get(entity.key) in ("update", "delete"):
                still = {(s.receiver.key, d.connector) for s in shares for d in s.rule.item_deliveries
                         if d.channel == "task"}
                out += self._withdrawals(entity, row.version, still)
        return out

    def _withdrawals(self, entity: Any, version: int, still: set[tuple[str, str | None]]) -> list[OutboxItem]:
        """Close mirrored tasks of receivers that no rule shares this entity with any more."""
        out: list[OutboxItem] = []
        for rule in self.ruleset.rules:
            if entity.kind not in rule.kinds:
                continue
            for deliver in rule.item_deliveries:
                if deliver.channel != "task" or deliver.connector is None:
                    continue
                for receiver in rule.receivers:
                    if (receiver.key, deliver.connector) in still or not receiver.emails:
                        continue
                    if self._withdrawn_or_unlinked(entity.key, deliver.connector, receiver.key):
                        continue
                    out.append(self.item_planner.withdrawal(entity.key, version, receiver, deliver, rule))
        return out

    def _withdrawn_or_unlinked(self, key: tuple[str, str, str], connector: str, receiver: str) -> bool:
        link = self.store.get_link(entity_connector=key[0], entity_kind=key[1], entity_external_id=key[2],
                                   target_connector=connector, channel="task", receiver=receiver)
        if link is None:
            return True
        for row in self.store.deliveries(receiver=receiver, limit=1000):
            if (row.entity_connector, row.entity_kind, row.entity_external_id) == key and row.channel == "task" \
                    and row.target_connector == connector:
                return (row.detail or {}).get("kind") == "withdrawal"
        return False

    # -- 2. time-driven: freshness and digests --------------------------------------------

    def _time_driven(self, result: PlanResult) -> list[tuple[OutboxItem, list[_StateWrite]]]:
        scopes = digest_scopes(self.ruleset)
        fresh_rules = [r for r in self.ruleset.rules if r.spec.freshness is not None]
        if not scopes and not fresh_rules:
            return []
        everything: list[Stored] = list(scan(self.store, self.evaluator))
        result.entities += len(everything)
        open_breaches = breaches(everything, self.now)
        out: list[tuple[OutboxItem, list[_StateWrite]]] = []
        if open_breaches:
            book = ReminderBook.load(self.store, fresh_rules, now=self.now)
            out += [(i, []) for i in plan_freshness(open_breaches, book, self.config, now=self.now, tz=self.tz)]
        if not scopes:
            return out
        acks = AckBook.load(self.store, now=self.now) if any(r.spec.ack for r in self.ruleset.rules) else AckBook()
        for scope in scopes:
            items = scope_items(scope, everything)
            for connector in sorted(scope.connectors):
                chat = scope.chats.get(connector)
                if chat is None or connector not in self.config.connectors:
                    continue
                at_name, sig_name = _digest_checkpoints(scope.key, connector)
                last_epoch = self.store.get_checkpoint(at_name)
                last_at = datetime.fromtimestamp(last_epoch, UTC) if last_epoch else None
                due, _reason = is_due(scope, last_at, self.now, self.tz)
                if not due:
                    result.held += 1
                    continue
                digest = build_digest(scope, items, everything, open_breaches, acks, now=self.now, tz=self.tz,
                                      last_at=last_at)
                if digest.signature == self.store.get_checkpoint(sig_name):
                    continue
                if not digest.content["sections"] and last_at is None:
                    continue  # nothing to say and nothing said before
                meta = {"kind": "digest", "rules": sorted(r.name for r in scope.rules), "digest": scope.key,
                        "chat": f"{connector}:{chat}", "cap": scope.daily_cap(connector), "items": digest.ack_items,
                        "fields": sorted({f for i in items for f in i.view.fields_sent}), "signature": digest.signature}
                item = make_item(
                    key=idempotency_key("digest", scope.key, connector, digest.signature, last_epoch),
                    connector=connector, channel="card", target=chat_target(self.config, connector, chat),
                    content=digest.content, rule="digest", receiver=scope.key,
                    entity=digest_entity(f"digest:{scope.key}"), version=0, meta=meta)
                out.append((item, [_StateWrite(at_name, int(self.now.timestamp())),
                                   _StateWrite(sig_name, digest.signature)]))
        return out

    # -- 3. daily cap per chat ------------------------------------------------------------

    def _apply_caps(self, planned: list[tuple[OutboxItem, list[_StateWrite]]],
                    result: PlanResult) -> list[tuple[OutboxItem, list[_StateWrite]]]:
        if not any(item.channel == "card" for item, _ in planned):
            return planned
        counts = self._sent_today()
        order = {"escalation": 0, "reminder": 1, "digest": 2}
        cards = sorted({id(i): i for i, _ in planned if i.channel == "card"}.values(),
                       key=lambda i: order.get(meta_of(i.content).get("kind", ""), 3))
        allowed: set[int] = set()
        for item in cards:
            meta = meta_of(item.content)
            chat = meta.get("chat")
            cap = meta.get("cap") or 6
            if chat is not None and counts[chat] >= cap:
                result.deferred += 1
                continue
            counts[chat] += 1
            allowed.add(id(item))
        return [(i, w) for i, w in planned if i.channel != "card" or id(i) in allowed]

    def _sent_today(self) -> Counter[str]:
        """Card messages per chat sent today (local day) or waiting in the outbox."""
        counts: Counter[str] = Counter()
        since = local_day_start(self.now, self.tz).astimezone(UTC)
        for row in self.store.deliveries(since=since, limit=100_000):
            chat = (row.detail or {}).get("chat")
            if row.channel == "card" and chat:
                counts[chat] += 1
        for status in ("pending", "sending"):
            for row in self.store.outbox_rows(status=status, limit=100_000):
                chat = meta_of(row.content).get("chat")
                if row.channel == "card" and chat:
                    counts[chat] += 1
        return counts


def known_keys(store: Store, keys: list[str]) -> set[str]:
    """The idempotency keys already in the outbox (any status): planned before, never again.

    Reads the store's ``outbox`` table directly (one query per 500 keys); the store has no
    public look-up by key yet.
    """
    from sqlalchemy import select

    from collabhub.store.schema import outbox

    found: set[str] = set()
    unique = sorted(set(keys))
    with store.engine.connect() as conn:
        for start in range(0, len(unique), 500):
            chunk = unique[start:start + 500]
            found |= set(conn.execute(select(outbox.c.idempotency_key)
                                      .where(outbox.c.idempotency_key.in_(chunk))).scalars())
    return found


def _rule_checkpoint(name: str) -> str:
    return f"rules.rule:{name}"


def _digest_checkpoints(key: str, connector: str) -> tuple[str, str]:
    base = f"rules.digest:{key}@{connector}"
    return f"{base}:at", f"{base}:sig"


