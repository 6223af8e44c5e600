"""Matching entities against the compiled rules and guarding what each receiver may see.

:class:`Evaluator` builds one CEL activation per entity, runs every applicable rule's filter on
it, and asks the guard for each receiver's view. :func:`scan` does that for every stored entity
of the kinds the rules cover, for digests, freshness and acknowledgements.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from functools import cached_property
from typing import TYPE_CHECKING

from collabhub.model import Entity
from collabhub.rules.cel import Activation
from collabhub.rules.guard import SharedView, Sight, share
from collabhub.rules.ruleset import Receiver, Rule, RuleSet

if TYPE_CHECKING:
    from collabhub.store import Store
    from collabhub.store.rows import StoredEntity

__all__ = ["Evaluator", "Share", "Stored", "scan"]

log = logging.getLogger(__name__)

EntityKey = tuple[str, str, str]


@dataclass(frozen=True)
class Share:
    """One rule lets one receiver see ``view`` of an entity."""

    rule: Rule
    receiver: Receiver
    view: SharedView


@dataclass
class Stored:
    """A stored entity with its store bookkeeping and the shares it produces."""

    row: StoredEntity
    entity: Entity
    shares: list[Share] = field(default_factory=list)

    @property
    def key(self) -> EntityKey:
        return self.entity.key

    @property
    def version(self) -> int:
        return self.row.version

    @cached_property
    def sight(self) -> Sight:
        """What each receiver (share receivers, providers, the office) may see of this entity."""
        return Sight.of(self.shares)


@dataclass
class Evaluator:
    """Evaluates entities against a rule set; counts checks and filter errors."""

    ruleset: RuleSet
    now: datetime
    tz: tzinfo
    checks: int = 0
    errors: int = 0
    _reported: set[str] = field(default_factory=set)

    def matching_rules(self, entity: Entity) -> list[Rule]:
        """Rules whose kind, provider and filter match ``entity`` (deleted entities match none)."""
        if entity.deleted:
            return []
        rules = self.ruleset.rules
        self.checks += len(rules)
        candidates = [r for r in rules if r.applies_to(entity)]
        if not candidates:
            return []
        activation = Activation.build(entity, self.ruleset.variables, now=self.now, tz=self.tz)
        matched = []
        for rule in candidates:
            try:
                ok = rule.matches(entity, activation)
            except Exception as exc:  # a filter that fails at run time matches nothing
                self.errors += 1
                if rule.name not in self._reported:
                    self._reported.add(rule.name)
                    log.warning("rule %s: filter failed on %s: %s (the entity is not shared)",
                                rule.name, "/".join(entity.key), exc)
                continue
            if ok:
                matched.append(rule)
        return matched

    def shares(self, entity: Entity) -> list[Share]:
        """Every (rule, receiver, guarded view) for ``entity``; receivers the guard refuses are left out."""
        out = []
        for rule in self.matching_rules(entity):
            view = share(entity, rule.spec.fields, allow_confidential_reason=rule.confidential_reason)
            if view is None:
                continue
            for receiver in rule.receivers:
                if receiver.is_project and entity.project != receiver.project:
                    continue
                out.append(Share(rule, receiver, view))
        return out


def scan(store: Store, evaluator: Evaluator, *, kinds: Iterable[str] | None = None) -> Iterator[Stored]:
    """Every live stored entity of the rules' kinds that some receiver may see, with its shares."""
    wanted = sorted(str(k) for k in (kinds if kinds is not None else evaluator.ruleset.kinds))
    for kind in wanted:
        for row in store.iter_entities(kind=kind):
            entity = row.entity()
            shares = evaluator.shares(entity)
            if shares:
                yield Stored(row, entity, shares)
