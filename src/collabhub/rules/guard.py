"""THE confidential guard: the only place that decides what a receiver may see of an entity.

Everything that leaves the hub through a rule (mirrored tasks, events, comments, digest card
lines, reminders) is built from the :class:`SharedView` this module returns, never from the
entity itself. The decision, in order:

1. A confidential entity (``confidential=True``, e.g. a Jira issue under a security level, or a
   meeting whose ``visibility`` is private or confidential) leaves as free/busy at most unless
   the rule sets ``allow_confidential`` with a written reason: a meeting or booking becomes
   ``{start, end, show_as: "busy"}`` and nothing else; anything else is withheld entirely.
2. Otherwise only the fields the rule allowlists (``fields:``) are copied; everything else is
   withheld. ``assignee.email`` style paths copy one sub-field; ``url`` is the source link.
3. Who sees which view (:class:`Sight`): a receiver sees the union of the views of the rules
   that name it, and the provider and the coordination office of a rule with duties (freshness,
   acknowledgements) see that rule's view. Nothing else: a line sent to one receiver is never
   built from a view granted to another receiver or by another rule.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from collabhub.model import ENTITY_TYPES, Entity, EntityKind, Meeting, Visibility

__all__ = ["FREE_BUSY_FIELDS", "Grant", "SharedView", "Sight", "allowed_field_paths", "is_confidential", "merge_views",
           "share"]

FREE_BUSY_KINDS = frozenset({EntityKind.MEETING, EntityKind.BOOKING})
FREE_BUSY_FIELDS = ("start", "end", "show_as")
EXTRA_PATHS = frozenset({"url"})


def is_confidential(entity: Entity) -> bool:
    """True for confidential entities and for private or confidential meetings."""
    if entity.confidential:
        return True
    return isinstance(entity, Meeting) and entity.visibility != Visibility.NORMAL


def allowed_field_paths(kind: EntityKind) -> set[str]:
    """Field paths a rule may allowlist for ``kind`` (top-level fields, their sub-fields, ``url``)."""
    model = ENTITY_TYPES[kind]
    paths = set(EXTRA_PATHS)
    for name, info in model.model_fields.items():
        if name == "source":
            continue
        paths.add(name)
        sub = _submodel(info.annotation)
        if sub is not None:
            paths |= {f"{name}.{s}" for s in sub.model_fields}
    return paths


def _submodel(annotation: Any) -> Any:
    from pydantic import BaseModel

    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
        for inner in getattr(candidate, "__args__", ()):  # list[Attendee]
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return None


@dataclass(frozen=True)
class SharedView:
    """What one receiver may see of one entity: JSON values keyed by field name."""

    kind: EntityKind
    key: tuple[str, str, str]
    fields: Mapping[str, Any]
    free_busy: bool = False
    confidential_reason: str | None = None

    @property
    def fields_sent(self) -> list[str]:
        """Names of the fields that carry a value (for the audit)."""
        return sorted(name for name, value in self.fields.items() if value not in (None, [], {}, ""))

    def get(self, name: str, default: Any = None) -> Any:
        return self.fields.get(name, default)


def share(entity: Entity, fields: Iterable[str], *, allow_confidential_reason: str | None = None) -> SharedView | None:
    """The view a rule with allowlist ``fields`` may deliver; ``None`` when nothing may leave.

    ``allow_confidential_reason`` is the rule's written reason for lifting the guard; an empty
    or missing reason keeps the guard on.
    """
    reason = (allow_confidential_reason or "").strip() or None
    if is_confidential(entity) and reason is None:
        if entity.kind not in FREE_BUSY_KINDS:
            return None
        data = entity.model_dump(mode="json", include={"start", "end"})
        return SharedView(entity.kind, entity.key, {"start": data["start"], "end": data["end"], "show_as": "busy"},
                          free_busy=True)
    dumped: dict[str, Any] | None = None
    out: dict[str, Any] = {}
    model_fields = type(entity).model_fields
    for path in fields:
        top, _, sub = path.partition(".")
        if top == "url" and not sub:
            out["url"] = entity.source.url
            continue
        if top not in model_fields or top == "source":
            continue
        if dumped is None:
            dumped = entity.model_dump(mode="json", exclude={"source"})
        value = dumped.get(top)
        if not sub:
            out[top] = value
            continue
        picked = _pick(value, sub)
        if picked is _MISSING:
            continue
        current = out.get(top)
        if isinstance(value, list):
            if not isinstance(current, list):
                current = [{} for _ in value]
            for item, one in zip(current, picked, strict=True):
                item[sub] = one
            out[top] = current
        elif value is None:
            out.setdefault(top, None)
        else:
            merged = dict(current) if isinstance(current, dict) else {}
            merged[sub] = picked
            out[top] = merged
    return SharedView(entity.kind, entity.key, out, confidential_reason=reason if is_confidential(entity) else None)


_MISSING = object()


def _pick(value: Any, sub: str) -> Any:
    if value is None:
        return None
    if isinstance(value, list):
        return [item.get(sub) if isinstance(item, dict) else None for item in value]
    if isinstance(value, dict):
        return value.get(sub)
    return _MISSING


def merge_views(views: Iterable[SharedView]) -> SharedView | None:
    """Union of what several rules let one receiver see of one entity (each part was allowed)."""
    views = list(views)
    if not views:
        return None
    full = [v for v in views if not v.free_busy] or views
    merged: dict[str, Any] = {}
    for view in full:
        for name, value in view.fields.items():
            merged[name] = _union(merged.get(name), value) if name in merged else value
    first = full[0]
    reasons = sorted({v.confidential_reason for v in full if v.confidential_reason})
    return SharedView(first.kind, first.key, merged, free_busy=all(v.free_busy for v in full),
                      confidential_reason="; ".join(reasons) or None)


def _union(a: Any, b: Any) -> Any:
    if isinstance(a, dict) and isinstance(b, dict):
        return {**a, **b}
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [_union(x, y) for x, y in zip(a, b, strict=True)]
    return b if a is None else a


@dataclass(frozen=True)
class Grant:
    """One rule lets one receiver (by key) see ``view`` of one entity."""

    receiver: str
    rule: str
    view: SharedView


class _RuleLike(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def duty_receivers(self) -> tuple[str, ...]: ...


class _ReceiverLike(Protocol):
    @property
    def key(self) -> str: ...


class _ShareLike(Protocol):
    @property
    def rule(self) -> _RuleLike: ...

    @property
    def receiver(self) -> _ReceiverLike: ...

    @property
    def view(self) -> SharedView: ...


class Sight:
    """What each receiver may see of one entity: the only source of entity data for a line.

    Every line of a digest, reminder or escalation is rendered from ``sight.view(receiver)`` for
    the receiver it goes to, so it can never carry a field another receiver or another rule was
    allowed.
    """

    __slots__ = ("_grants",)

    def __init__(self, grants: Iterable[Grant]) -> None:
        self._grants = tuple(grants)

    @classmethod
    def of(cls, shares: Iterable[_ShareLike]) -> Sight:
        """The grants behind rule shares of one entity (each ``share`` already guarded by :func:`share`).

        Each share's receiver sees its rule's view; the rule's ``duty_receivers`` (its provider and
        the coordination office, who hear of stale and unacknowledged shares) see that same view.
        """
        grants: list[Grant] = []
        duty_done: set[str] = set()
        for item in shares:
            grants.append(Grant(item.receiver.key, item.rule.name, item.view))
            if item.rule.name not in duty_done:
                duty_done.add(item.rule.name)
                grants += [Grant(who, item.rule.name, item.view) for who in item.rule.duty_receivers]
        return cls(grants)

    @property
    def grants(self) -> tuple[Grant, ...]:
        return self._grants

    def view(self, receiver: str, *, rules: Container[str] | None = None) -> SharedView | None:
        """What ``receiver`` may see (through ``rules`` only, when given); ``None`` when nothing."""
        return merge_views(g.view for g in self._grants
                           if g.receiver == receiver and (rules is None or g.rule in rules))

    def rules(self, receiver: str) -> frozenset[str]:
        """The rules that let ``receiver`` see this entity."""
        return frozenset(g.rule for g in self._grants if g.receiver == receiver)
