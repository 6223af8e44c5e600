"""Checks across sections: ids are unique, references point at something that exists."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from collabhub.config._yaml import KeyPath, YamlDocument, dotted
from collabhub.config.sections import ConfigDocument
from collabhub.errors import ConfigError

__all__ = ["check_references"]


def check_references(config: ConfigDocument, doc: YamlDocument) -> list[ConfigError]:
    """Every cross-reference problem of a section-valid document, located."""
    problems: list[ConfigError] = []

    def error(path: KeyPath, message: str, hint: str | None = None, *, key: bool = False) -> None:
        existing, _ = doc.resolve(path)  # a single id written as a scalar has no item to point at
        problems.append(ConfigError(message, location=doc.locate(existing, key=key and existing == path),
                                    key=dotted(path), hint=hint))

    connectors = set(config.connectors)
    departments = _unique_ids("departments", [d.id for d in config.departments], error)
    _unique_ids("projects", [p.id for p in config.projects], error)
    known_departments = ", ".join(sorted(departments)) or "none"

    def department_ref(path: KeyPath, value: str | None) -> None:
        if value is not None and value not in departments:
            error(path, f"no department with id {value!r}", f"known departments: {known_departments}")

    def connector_keys(path: KeyPath, mapping: Mapping[str, Any]) -> None:
        for name in mapping:
            if name not in connectors:
                error((*path, name), f"no connector named {name!r} is configured",
                      f"configured connectors: {', '.join(sorted(connectors)) or 'none'}", key=True)

    claimed: dict[tuple[str, str], str] = {}
    for i, dept in enumerate(config.departments):
        department_ref(("departments", i, "parent"), dept.parent)
        connector_keys(("departments", i, "aliases"), dept.aliases)
        for connector, ids in dept.aliases.items():
            for j, source_id in enumerate(ids):
                owner = claimed.setdefault((connector, source_id), dept.id)
                if owner != dept.id:
                    error(("departments", i, "aliases", connector, j),
                          f"{connector} id {source_id!r} is already an alias of department {owner!r}",
                          "an alias may mean one department only")
    _check_cycles(config, error)
    for i, person in enumerate(config.people):
        department_ref(("people", i, "department"), person.department)
        connector_keys(("people", i, "ids"), person.ids)
    for i, project in enumerate(config.projects):
        for j, dept_id in enumerate(project.departments):
            department_ref(("projects", i, "departments", j), dept_id)
        connector_keys(("projects", i, "chats"), project.chats)
        connector_keys(("projects", i, "aliases"), project.aliases)
    if config.coordination_office is not None:
        connector_keys(("coordination_office", "chats"), config.coordination_office.chats)
    return problems


def _unique_ids(section: str, ids: Iterable[str], error: Any) -> set[str]:
    seen: dict[str, int] = {}
    for i, item_id in enumerate(ids):
        if item_id in seen:
            error((section, i, "id"), f"duplicate id {item_id!r}",
                  f"{section}[{seen[item_id]}] already uses it; ids must be unique")
        else:
            seen[item_id] = i
    return set(seen)


def _check_cycles(config: ConfigDocument, error: Any) -> None:
    parents = {d.id: d.parent for d in config.departments}
    for i, dept in enumerate(config.departments):
        seen, current = {dept.id}, dept.parent
        while current is not None and current in parents:
            if current in seen:
                error(("departments", i, "parent"), f"department {dept.id!r} is its own ancestor",
                      "the parent chain must end at a top-level department")
                break
            seen.add(current)
            current = parents[current]
