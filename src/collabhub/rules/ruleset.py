"""Loading the ``sharing:`` rules: validate each mapping, resolve references, compile filters once.

Every problem is a :class:`~collabhub.errors.ConfigError` located ``file:line:column`` in the
config file (via ``HubConfig.locate``); a CEL error points at the bad token inside the filter.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from collabhub.config import ConfigProblems
from collabhub.errors import ConfigError
from collabhub.model import Entity, EntityKind
from collabhub.rules.cel import Activation, CompiledFilter, compile_filter
from collabhub.rules.guard import allowed_field_paths
from collabhub.rules.schema import DeliverSpec, ReceiverSpec, RuleSpec

if TYPE_CHECKING:
    from collabhub.config import HubConfig

__all__ = ["OFFICE", "Receiver", "Rule", "RuleSet", "chat_target"]

OFFICE = "office"

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Receiver:
    """A resolved receiver: its key, display label, emails, chats and language."""

    key: str
    label: str
    emails: tuple[str, ...] = ()
    chats: dict[str, str] = field(default_factory=dict)
    lang: str = "zh"
    project: str | None = None

    @property
    def is_project(self) -> bool:
        return self.project is not None


@dataclass(frozen=True)
class Rule:
    """A validated, compiled rule ready to evaluate."""

    spec: RuleSpec
    index: int
    filter: CompiledFilter | None
    receivers: tuple[Receiver, ...]
    fingerprint: str

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def kinds(self) -> frozenset[EntityKind]:
        return frozenset(self.spec.what.kinds)

    @property
    def providers(self) -> frozenset[str]:
        return frozenset(self.spec.provider)

    @property
    def provider_key(self) -> str:
        """The receiver key of the providing departments (reminders and duty digests go there)."""
        return "provider:" + ",".join(self.spec.provider)

    @property
    def duty_receivers(self) -> tuple[str, ...]:
        """Who hears of this rule's stale or unacknowledged shares: the provider and the office."""
        if self.spec.freshness is None and self.spec.ack is None:
            return ()
        return (self.provider_key, OFFICE)

    @property
    def confidential_reason(self) -> str | None:
        return self.spec.allow_confidential.reason if self.spec.allow_confidential else None

    @property
    def item_deliveries(self) -> list[DeliverSpec]:
        """Per-item channels (task, event, comment, booking): sent as soon as the entity changes."""
        return [d for d in self.spec.deliver if d.channel != "card"]

    @property
    def card_deliveries(self) -> list[DeliverSpec]:
        return [d for d in self.spec.deliver if d.channel == "card"]

    def applies_to(self, entity: Entity) -> bool:
        """The cheap part of matching: kind and provider department."""
        return entity.kind in self.spec.what.kinds and entity.department in self.spec.provider

    def matches(self, entity: Entity, activation: Activation) -> bool:
        """Kind, provider and filter (a filter that fails at run time does not match)."""
        if not self.applies_to(entity):
            return False
        return True if self.filter is None else self.filter.matches(activation)

    def card_connectors(self, receiver: Receiver) -> list[str]:
        """Connectors whose chat the receiver's digest goes to."""
        wanted = [d.connector for d in self.card_deliveries]
        if any(c is None for c in wanted):
            return sorted(receiver.chats)
        return [c for c in wanted if c is not None and c in receiver.chats]


def chat_target(config: HubConfig, connector: str, chat: str) -> dict[str, str]:
    """The neutral card target for a chat value: ``robot`` for DingTalk robots, else ``chat_id``."""
    if chat.startswith("robot:"):
        return {"robot": chat.removeprefix("robot:")}
    entry = config.connectors.get(connector)
    if entry is not None and entry.type == "dingtalk":
        return {"robot": chat}
    return {"chat_id": chat}


@dataclass
class RuleSet:
    """The compiled rules of one config; ``variables`` are the CEL names any filter reads."""

    config: HubConfig
    rules: list[Rule]

    @property
    def variables(self) -> frozenset[str]:
        names: set[str] = set()
        for rule in self.rules:
            if rule.filter is not None:
                names |= rule.filter.variables
        return frozenset(names)

    @property
    def kinds(self) -> frozenset[EntityKind]:
        return frozenset(k for r in self.rules for k in r.kinds)

    def rule(self, name: str) -> Rule:
        for rule in self.rules:
            if rule.name == name:
                return rule
        raise KeyError(name)

    @classmethod
    def from_config(cls, config: HubConfig) -> RuleSet:
        """Validate and compile ``config.sharing``; raise every problem as one located error."""
        problems: list[ConfigError] = []
        rules: list[Rule] = []
        seen: dict[str, int] = {}
        for index, raw in enumerate(config.sharing or []):
            try:
                rule = _compile_rule(config, index, raw)
            except ConfigProblems as exc:
                problems.extend(exc.problems)
                continue
            except ConfigError as exc:
                problems.append(exc)
                continue
            if rule.name in seen:
                problems.append(_error(config, (index, "name"), f"rule name {rule.name!r} is used twice "
                                       f"(first by sharing[{seen[rule.name]}])", "give every rule its own name"))
                continue
            seen[rule.name] = index
            if rule.spec.enabled:
                rules.append(rule)
        if problems:
            raise problems[0] if len(problems) == 1 else ConfigProblems(problems)
        return cls(config=config, rules=rules)


def _error(config: HubConfig, path: KeyPath, message: str, hint: str | None = None) -> ConfigError:
    full = ("sharing", *path)
    location = config.locate(full)
    while location is None and len(full) > 1:
        full = full[:-1]
        location = config.locate(full)
    key = "sharing" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    return ConfigError(message, location=location, key=key, hint=hint)


def _from_validation(config: HubConfig, index: int, raw: Any, exc: ValidationError) -> ConfigError:
    errors = []
    for err in exc.errors(include_url=False):
        loc = _resolve(raw, err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = f"unknown key {err['loc'][-1]!r}"
        elif err["type"] == "missing":
            message = f"missing required key {err['loc'][-1]!r}"
        errors.append(_error(config, (index, *loc), message))
    return errors[0] if len(errors) == 1 else ConfigProblems(errors)


def _resolve(raw: Any, loc: Sequence[Any]) -> KeyPath:
    """The part of a pydantic ``loc`` that exists in the raw data (drops union/validator tags)."""
    node, found = raw, []
    for part in loc:
        present = (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node))
        if not present:
            continue
        node = node[part]
        found.append(part)
    return tuple(found)


def _compile_rule(config: HubConfig, index: int, raw: Any) -> Rule:
    if not isinstance(raw, dict):
        raise _error(config, (index,), "a rule is a mapping with name, provider, receivers, what, fields, deliver")
    try:
        spec = RuleSpec.model_validate(raw)
    except ValidationError as exc:
        raise _from_validation(config, index, raw, exc) from None
    departments = {d.id for d in config.departments}
    for i, dept in enumerate(spec.provider):
        if dept not in departments:
            raise _error(config, (index, "provider", i) if isinstance(raw.get("provider"), list) else
                         (index, "provider"), f"unknown department {dept!r}",
                         "providers are department ids from `departments:`; known: " + ", ".join(sorted(departments)))
    _check_fields(config, index, spec, raw)
    receivers = tuple(_receiver(config, index, i, r, spec) for i, r in enumerate(spec.receivers))
    _check_deliveries(config, index, spec, receivers)
    rule_filter = None
    if spec.what.filter:
        rule_filter = compile_filter(spec.what.filter, kinds=spec.what.kinds,
                                     location=config.locate(("sharing", index, "what", "filter")),
                                     key=f"sharing[{index}].what.filter")
    fingerprint = hashlib.sha256(json.dumps(spec.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()
    return Rule(spec=spec, index=index, filter=rule_filter, receivers=receivers, fingerprint=fingerprint[:15])


def _check_fields(config: HubConfig, index: int, spec: RuleSpec, raw: dict[str, Any]) -> None:
    allowed: set[str] = set()
    for kind in spec.what.kinds:
        allowed |= allowed_field_paths(kind)
    for i, name in enumerate(spec.fields):
        if name not in allowed:
            path = (index, "fields", i) if isinstance(raw.get("fields"), list) else (index, "fields")
            kinds = ", ".join(str(k) for k in spec.what.kinds)
            raise _error(config, path, f"{name!r} is not a field of {kinds}",
                         "fields: " + ", ".join(sorted(p for p in allowed if "." not in p)))


def _receiver(config: HubConfig, index: int, i: int, spec: ReceiverSpec, rule: RuleSpec) -> Receiver:
    lang = spec.lang or rule.lang
    path = (index, "receivers", i)
    if spec.department:
        dept = config.department(spec.department)
        if dept is None:
            raise _error(config, path, f"unknown department {spec.department!r}",
                         "receivers name department ids from `departments:`")
        email = spec.email or dept.owner
        return Receiver(spec.key, dept.name, (email,) if email else (), dict(spec.chats), lang)
    if spec.person:
        person = next((p for p in config.people if p.email and p.email.lower() == spec.person.lower()), None)
        label = person.name if person else spec.person
        return Receiver(spec.key, label, (spec.email or spec.person,), dict(spec.chats), lang)
    if spec.project:
        project = config.project(spec.project)
        if project is None:
            raise _error(config, path, f"unknown project {spec.project!r}",
                         "receivers name project ids from `projects:`")
        email = spec.email or project.lead
        chats = {**project.chats, **spec.chats}
        return Receiver(spec.key, project.name, (email,) if email else (), chats, lang, project=project.id)
    if spec.chat:
        return Receiver(spec.key, ", ".join(spec.chat.values()), (spec.email,) if spec.email else (),
                        dict(spec.chat), lang)
    office = config.coordination_office
    if office is None:
        raise _error(config, path, "the coordination office is a receiver but `coordination_office:` is not set",
                     "add coordination_office with name, email and chats")
    email = spec.email or office.email
    return Receiver(OFFICE, office.name, (email,) if email else (), {**office.chats, **spec.chats}, lang)


def _check_deliveries(config: HubConfig, index: int, spec: RuleSpec, receivers: Iterable[Receiver]) -> None:
    receivers = list(receivers)
    for d, deliver in enumerate(spec.deliver):
        path = (index, "deliver", d)
        if deliver.connector is not None and deliver.connector not in config.connectors:
            known = ", ".join(sorted(config.connectors)) or "none"
            raise _error(config, (*path, "connector"), f"no connector named {deliver.connector!r} is configured",
                         f"configured: {known}")
        for receiver in receivers:
            if deliver.channel == "card":
                if deliver.connector is None and not receiver.chats:
                    raise _error(config, path, f"receiver {receiver.key} has no chats for card digests",
                                 "add `chats: {<connector>: <chat id>}` to the receiver")
                if deliver.connector is not None and deliver.connector not in receiver.chats:
                    raise _error(config, path, f"receiver {receiver.key} has no chat on {deliver.connector}",
                                 f"add `chats: {{{deliver.connector}: <chat id>}}` to the receiver")
            elif deliver.channel == "task" and not receiver.emails:
                raise _error(config, path, f"receiver {receiver.key} has no email to assign mirrored tasks to",
                             "set `owner` on the department, `lead` on the project or `email` on the receiver")
            elif deliver.channel in ("event", "booking") and not (receiver.emails or deliver.mailbox
                                                                  or deliver.calendar_id):
                raise _error(config, path, f"receiver {receiver.key} has no mailbox for {deliver.channel} deliveries",
                             "set `mailbox` or `calendar_id` on the delivery, or an email on the receiver")
    _check_duties(config, index, spec)


def _check_duties(config: HubConfig, index: int, spec: RuleSpec) -> None:
    for connector in spec.provider_chats:
        if connector not in config.connectors:
            raise _error(config, (index, "provider_chats", connector),
                         f"no connector named {connector!r} is configured")
    if spec.freshness is not None:
        for r, remind in enumerate(spec.freshness.remind):
            path = (index, "freshness", "remind", r)
            if remind.connector is not None and remind.connector not in config.connectors:
                raise _error(config, (*path, "connector"), f"no connector named {remind.connector!r} is configured")
            if remind.channel not in ("card", "task"):
                raise _error(config, (*path, "channel"), "freshness reminders go out as a card or a task")
        if not spec.freshness.remind and not spec.provider_chats:
            raise _error(config, (index, "freshness"), "freshness reminders need somewhere to go",
                         "set `provider_chats: {<connector>: <chat id>}` or `freshness.remind`")
        office = config.coordination_office
        if office is None or not office.chats:
            raise _error(config, (index, "freshness"), "freshness escalates to the coordination office, "
                         "which has no chats", "set coordination_office.chats in the config")
    if spec.ack is not None and not any(d.channel == "card" for d in spec.deliver):
        raise _error(config, (index, "ack"), "acknowledgements are collected on digest cards; this rule sends none",
                     "add a `channel: card` delivery or remove `ack`")
