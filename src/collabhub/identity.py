"""People and departments across systems.

Every ``PersonRef`` an entity carries (a Jira accountId, an Entra object id, a Feishu open_id, a
DingTalk userid...) is joined to one hub person:

1. a known identity link (connector, external id) wins, and manual links from config come first;
2. otherwise the hard keys the reference carries (email, mobile, employee id, plus keys a
   ``resolve_person`` plugin hook adds) are looked up: exactly one person -> link it;
3. two or more different people -> the reference is **ambiguous** and goes to the review list;
4. no person but a hard key -> a new hub person (a key is not a guess);
5. no key at all (e.g. a Jira account with a hidden email) -> **unmatched**, on the review list.

Nothing is ever matched by display name. ``collabhub identity review`` lists steps 3 and 5.
Departments map from source ids (Jira project keys, OA department ids) to config departments
through the ``aliases`` in config. Directory records (Feishu, DingTalk, ...) record which
departments a hub person belongs to; an entity its source filed under no department (a Microsoft
365 meeting, a spreadsheet row) takes its owner's department.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from collabhub.model import Entity, Person, PersonRef

if TYPE_CHECKING:
    from collabhub.config import HubConfig
    from collabhub.plugins import PluginHost
    from collabhub.store import Store

__all__ = ["IdentityResolver", "IdentityStats", "normalize_email", "normalize_mobile"]

_MISSING: Any = object()


def normalize_email(value: str | None) -> str | None:
    value = (value or "").strip().lower()
    return value if "@" in value else None


def normalize_mobile(value: str | None) -> str | None:
    digits = re.sub(r"\D", "", value or "")
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits or None


def normalize_employee_id(value: str | None) -> str | None:
    value = (value or "").strip().upper()
    return value or None


@dataclass
class IdentityStats:
    linked: int = 0
    created: int = 0
    ambiguous: int = 0
    unmatched: int = 0

    def __iadd__(self, other: IdentityStats) -> IdentityStats:
        self.linked += other.linked
        self.created += other.created
        self.ambiguous += other.ambiguous
        self.unmatched += other.unmatched
        return self


@dataclass
class _Keys:
    email: str | None = None
    mobile: str | None = None
    employee_id: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def any(self) -> bool:
        return bool(self.email or self.mobile or self.employee_id)


class _Draft:
    """A person first met in this page, created with the page's other new people in one insert."""

    __slots__ = ("id", "keys", "name")

    def __init__(self, name: str, keys: _Keys) -> None:
        self.name = name
        self.keys = keys
        self.id: int | None = None

    def as_person(self) -> dict[str, Any]:
        return {"name": self.name, "email": self.keys.email, "mobile": self.keys.mobile,
                "employee_id": self.keys.employee_id, "departments": []}


def _person_id(who: int | _Draft) -> int:
    if isinstance(who, _Draft):
        assert who.id is not None, "drafts are created before their ids are read"
        return who.id
    return who


class IdentityResolver:
    """Resolves person references page by page with a few bulk queries and a per-run cache."""

    def __init__(self, store: Store, config: HubConfig | None = None, host: PluginHost | None = None) -> None:
        self.store = store
        self.config = config
        self.host = host
        self._cache: dict[tuple[str, str], int | None] = {}
        self._reviewed: set[tuple[str, str]] = set()  # put on the review list during this run
        self._departments: dict[int, list[str]] = {}  # hub person id -> departments
        # connector -> source id -> mapped id (config does not change during a resolver's life)
        self._department_cache: dict[str, dict[str, str | None]] = {}
        self._project_cache: dict[str, dict[str, str | None]] = {}

    # -- config ----------------------------------------------------------------------------

    def sync_config(self) -> None:
        """Make sure every person in config exists and their listed ids are linked to them."""
        if self.config is None:
            return
        links: list[tuple[str, str, int, str]] = []
        for person in getattr(self.config, "people", None) or []:
            keys = _Keys(normalize_email(getattr(person, "email", None)),
                         normalize_mobile(getattr(person, "mobile", None)),
                         normalize_employee_id(getattr(person, "employee_id", None)))
            dept = getattr(person, "department", None)
            found = self._candidates([keys])
            ids = {c.id for c in found if _matches(c, keys)}
            if len(ids) == 1:
                pid = ids.pop()
            else:
                pid = self.store.create_person(name=person.name, email=keys.email, mobile=keys.mobile,
                                               employee_id=keys.employee_id, departments=[dept] if dept else [])
            for connector, value in (getattr(person, "ids", None) or {}).items():
                for ext in value if isinstance(value, list) else [value]:
                    links.append((connector, str(ext), pid, "config"))
                    self._cache[(connector, str(ext))] = pid
        if links:
            self.store.link_identities(links)

    # -- departments -----------------------------------------------------------------------

    def map_department(self, connector: str, source_id: str | None) -> str | None:
        """The config department a source id means; ``None`` when config names departments and
        this id is none of them (the entity then takes its owner's department)."""
        if not source_id or self.config is None or not self.config.departments:
            return source_id
        mapped = self.config.department_for(connector, source_id)
        if mapped:
            return mapped
        return source_id if self.config.department(source_id) is not None else None

    def map_project(self, connector: str, source_id: str | None) -> str | None:
        """The config project a source id means (through ``aliases``), else the source id."""
        if not source_id or self.config is None:
            return source_id
        return self.config.project_for(connector, source_id) or source_id

    # -- entities --------------------------------------------------------------------------

    def resolve(self, connector: str, entities: Sequence[Entity]) -> IdentityStats:
        """Map departments and projects, join every person reference; mutates the entities."""
        refs: list[PersonRef] = []
        departments = self._department_cache.setdefault(connector, {})
        projects = self._project_cache.setdefault(connector, {})
        for entity in entities:
            fields = entity.__dict__  # plain reads; a field is written only when its value changes
            src_dept = fields["department"]
            if src_dept:
                dept = departments.get(src_dept, _MISSING)
                if dept is _MISSING:
                    dept = departments[src_dept] = self.map_department(connector, src_dept)
                if dept != src_dept:
                    _assign(entity, "department", dept)
                    entity.extra.setdefault("source_department", src_dept)
            if isinstance(entity, Person):
                entity.departments = [self.map_department(connector, d) or d for d in entity.departments]
                if entity.department is None and entity.departments:
                    entity.department = entity.departments[0]
                refs.append(PersonRef(connector=connector, external_id=entity.source.external_id,
                                      display_name=entity.name, email=entity.email, mobile=entity.mobile,
                                      employee_id=entity.employee_id))
            src_proj = fields["project"]
            if src_proj:
                proj = projects.get(src_proj, _MISSING)
                if proj is _MISSING:
                    proj = projects[src_proj] = self.map_project(connector, src_proj)
                if proj != src_proj:
                    _assign(entity, "project", proj)
                    entity.extra.setdefault("source_project", src_proj)
            refs.extend(entity.person_refs())
        stats = self._resolve_refs(refs, entities)
        self._learn_departments(connector, entities)
        self._inherit_departments(entities)
        return stats

    # -- departments of people ------------------------------------------------------------

    def _person_departments(self, pid: int) -> list[str]:
        if pid not in self._departments:
            self._load_departments([pid])
        return self._departments[pid]

    def _load_departments(self, pids: Iterable[int]) -> None:
        """Cache the departments of the people not cached yet, in one query."""
        missing = {pid for pid in pids if pid not in self._departments}
        if missing:
            found = self.store.get_people(missing)
            for pid in missing:
                person = found.get(pid)
                self._departments[pid] = list(person.departments) if person else []

    def _learn_departments(self, connector: str, entities: Sequence[Entity]) -> None:
        """Directory records tell which departments a hub person belongs to (one write per page)."""
        self._load_departments(pid for entity in entities if isinstance(entity, Person)
                               and (pid := self._cache.get((connector, entity.source.external_id))) is not None)
        changed: dict[int, list[str]] = {}
        for entity in entities:
            if not isinstance(entity, Person) or not entity.departments:
                continue
            pid = self._cache.get((connector, entity.source.external_id))
            if pid is None:
                continue
            wanted = [d for d in entity.departments if d]
            if wanted and self._person_departments(pid) != wanted:
                changed[pid] = self._departments[pid] = wanted
        self.store.set_departments(changed)

    def _inherit_departments(self, entities: Sequence[Entity]) -> None:
        """An entity its source filed under no department belongs to its owner's department."""
        owned = [(entity, owner.person_id) for entity in entities
                 if not entity.department and not isinstance(entity, Person)
                 and (owner := _owner_ref(entity)) is not None and owner.person_id is not None]
        self._load_departments(pid for _, pid in owned)
        for entity, pid in owned:
            departments = self._person_departments(pid)
            if departments:
                _assign(entity, "department", departments[0])
                entity.extra.setdefault("department_from", "owner")

    def _resolve_refs(self, refs: list[PersonRef], entities: Sequence[Entity]) -> IdentityStats:
        stats = IdentityStats()
        if not refs:
            return stats
        # 1. known links (cache, then one query per connector)
        unknown: dict[str, set[str]] = {}
        for ref in refs:
            if ref.external_id and (ref.connector, ref.external_id) not in self._cache:
                unknown.setdefault(ref.connector, set()).add(ref.external_id)
        for connector, ext_ids in unknown.items():
            found = self.store.identities_for(connector, sorted(ext_ids))
            for ext in ext_ids:
                self._cache[(connector, ext)] = found.get(ext)

        # 2. group the rest by identity (a page may name one person several times, some of the
        #    references carrying an email and some not) and merge what the group knows
        groups: dict[tuple[str, str], list[PersonRef]] = {}
        for ref in refs:
            if ref.external_id:
                pid = self._cache.get((ref.connector, ref.external_id))
                if pid is not None:
                    _assign(ref, "person_id", pid)
                    continue
            groups.setdefault(self._group_key(ref), []).append(ref)
        todo: list[tuple[tuple[str, str], list[PersonRef], _Keys]] = []
        for key, group in groups.items():
            keys = self._merged_keys(group)
            if not keys.any() and key in self._reviewed:
                continue  # nothing new to learn: it is on the review list already
            todo.append((key, group, keys))
        if not todo:
            return stats

        # 3. one query for every candidate, indexed by key
        index: dict[tuple[str, str], set[int | _Draft]] = {}
        for person in self._candidates([k for _, _, k in todo]):
            for kname, kval in (("email", normalize_email(person.email)), ("mobile", normalize_mobile(person.mobile)),
                                ("employee_id", normalize_employee_id(person.employee_id))):
                if kval:
                    index.setdefault((kname, kval), set()).add(person.id)

        # 4. decide every group; people new in this page are drafts until one bulk insert
        drafts: list[_Draft] = []
        decided: list[tuple[tuple[str, str], list[PersonRef], int | _Draft, str]] = []
        ambiguous: list[tuple[PersonRef, set[int | _Draft]]] = []
        for key, group, keys in todo:
            ref = group[0]
            matches: dict[int | _Draft, str] = {}
            for kname, kval in (("email", keys.email), ("mobile", keys.mobile), ("employee_id", keys.employee_id)):
                for pid in index.get((kname, kval), ()) if kval else ():
                    matches.setdefault(pid, kname)
            if len(matches) == 1:
                who, how = next(iter(matches.items()))
                stats.linked += 1
            elif len(matches) > 1:
                ambiguous.append((ref, set(matches)))
                stats.ambiguous += 1
                continue
            elif keys.any():
                name = next((r.display_name for r in group if r.display_name), None)
                who = _Draft(name or keys.email or keys.employee_id or keys.mobile or "?", keys)
                drafts.append(who)
                for kname, kval in (("email", keys.email), ("mobile", keys.mobile),
                                    ("employee_id", keys.employee_id)):
                    if kval:
                        index.setdefault((kname, kval), set()).add(who)
                how = "new"
                stats.created += 1
            else:
                self._review(ref, "unmatched", [])
                stats.unmatched += 1
                continue
            decided.append((key, group, who, how))
        if drafts:
            ids = self.store.create_people([d.as_person() for d in drafts])
            for draft, pid in zip(drafts, ids, strict=True):
                draft.id = pid
        for ref, candidates in ambiguous:
            self._review(ref, "ambiguous", sorted(_person_id(c) for c in candidates))

        new_links: list[tuple[str, str, int, str]] = []
        for key, group, who, how in decided:
            pid = _person_id(who)
            for member in group:
                _assign(member, "person_id", pid)
            ref = group[0]
            if ref.external_id:
                self._cache[key] = pid
                new_links.append((ref.connector, ref.external_id, pid, how))
                if key in self._reviewed:  # seen without keys earlier in this run, resolved now
                    self.store.resolve_review(*key)
                    self._reviewed.discard(key)
        if new_links:
            self.store.link_identities(_dedupe(new_links))
        return stats

    @staticmethod
    def _group_key(ref: PersonRef) -> tuple[str, str]:
        """References to one person: same external id, or (without one) the same hard key."""
        if ref.external_id:
            return (ref.connector, ref.external_id)
        hard = normalize_email(ref.email) or normalize_mobile(ref.mobile) or normalize_employee_id(ref.employee_id)
        return (ref.connector, f"key:{hard}" if hard else f"name:{ref.display_name or '?'}")

    def _merged_keys(self, group: list[PersonRef]) -> _Keys:
        merged = _Keys()
        for ref in group:
            keys = self._keys(ref)
            merged.email = merged.email or keys.email
            merged.mobile = merged.mobile or keys.mobile
            merged.employee_id = merged.employee_id or keys.employee_id
        return merged

    def _keys(self, ref: PersonRef) -> _Keys:
        keys = _Keys(normalize_email(ref.email), normalize_mobile(ref.mobile), normalize_employee_id(ref.employee_id))
        if self.host is not None:
            extra = self.host.resolve_person(ref) or {}
            keys.email = keys.email or normalize_email(extra.get("email"))
            keys.mobile = keys.mobile or normalize_mobile(extra.get("mobile"))
            keys.employee_id = keys.employee_id or normalize_employee_id(extra.get("employee_id"))
        return keys

    def _candidates(self, keys: Iterable[_Keys]) -> list[Any]:
        emails, mobiles, emp = set(), set(), set()
        for k in keys:
            if k.email:
                emails.add(k.email)
            if k.mobile:
                mobiles.add(k.mobile)
            if k.employee_id:
                emp.add(k.employee_id)
        if not (emails or mobiles or emp):
            return []
        return self.store.find_people(emails=sorted(emails), mobiles=sorted(mobiles), employee_ids=sorted(emp))

    def _review(self, ref: PersonRef, reason: str, candidates: list[int]) -> None:
        ext = self._group_key(ref)[1]
        self._reviewed.add((ref.connector, ext))
        self.store.add_review(ref.connector, ext, ref.model_dump(mode="json", exclude_none=True), reason, candidates)


def _assign(model: BaseModel, name: str, value: Any) -> None:
    """Set a declared field without pydantic's ``__setattr__`` (run per entity on the hot path).

    The models do not validate assignment, so this is what ``__setattr__`` does for a declared
    field, minus its dispatch: store the value and mark the field as set.
    """
    model.__dict__[name] = value
    model.__pydantic_fields_set__.add(name)


def _owner_ref(entity: Entity) -> PersonRef | None:
    """Who owns an entity: the organizer, assignee (else reporter), or who booked."""
    fields = entity.__dict__  # not getattr: a missing field costs pydantic an exception
    for attr in ("organizer", "assignee", "reporter", "booked_by", "lead"):
        ref = fields.get(attr)
        if isinstance(ref, PersonRef) and ref.person_id is not None:
            return ref
    return None


def _match_how(person: Any, keys: _Keys) -> str | None:
    """Which key of ``keys`` identifies ``person`` (used for the few config people)."""
    if keys.email and normalize_email(person.email) == keys.email:
        return "email"
    if keys.mobile and normalize_mobile(person.mobile) == keys.mobile:
        return "mobile"
    if keys.employee_id and normalize_employee_id(person.employee_id) == keys.employee_id:
        return "employee_id"
    return None


def _matches(person: Any, keys: _Keys) -> bool:
    return _match_how(person, keys) is not None


def _dedupe(links: list[tuple[str, str, int, str]]) -> list[tuple[str, str, int, str]]:
    seen: dict[tuple[str, str], tuple[str, str, int, str]] = {}
    for link in links:
        seen[(link[0], link[1])] = link
    return list(seen.values())
