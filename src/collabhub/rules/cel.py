"""Rule filters in CEL: compiled once at load with located errors, evaluated per entity.

Filters use the ``common-expression-language`` package (a Rust CEL core); nothing here ever
evaluates Python. A filter sees the entity's fields as top-level variables, for example::

    kind == "task" && status_category != "done" && "milestone" in labels
    due != null && due < now + duration("168h")
    visibility == "normal" && start > now

Besides the model fields of the entity's kind (``title``, ``due``, ``assignee``, ``start``...),
every filter may use ``kind``, ``connector``, ``external_id``, ``url`` and ``now`` (a timestamp).
Fields the kind lacks are ``null``; dates become timestamps at local midnight; enums are strings.

An :class:`Activation` is built once per entity with only the variables the loaded rules use,
then every rule's compiled program runs against it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from enum import Enum
from typing import Any

import cel
from pydantic import BaseModel

from collabhub.errors import ConfigError
from collabhub.model import ENTITY_TYPES, Entity, EntityKind

__all__ = [
    "COMMON_VARIABLES",
    "Activation",
    "CompiledFilter",
    "compile_filter",
    "fields_of",
    "offset_location",
    "to_cel",
]

COMMON_VARIABLES = frozenset({"kind", "connector", "external_id", "url", "now"})
_HIDDEN_FIELDS = frozenset({"source"})
# What the CEL library evaluates (operators aside): an unknown name is a load error, not a surprise later.
FUNCTIONS = frozenset({
    "size", "contains", "startsWith", "endsWith", "matches", "timestamp", "duration", "int", "uint", "double",
    "string", "bytes", "dyn", "type", "getFullYear", "getMonth", "getDate", "getDayOfMonth", "getDayOfWeek",
    "getDayOfYear", "getHours", "getMinutes", "getSeconds", "getMilliseconds",
})
_MACRO_VAR = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_]\w*)\s*,")
_CEL_POSITION = re.compile(r"<input>:(\d+):(\d+)")


def fields_of(kinds: Iterable[EntityKind]) -> set[str]:
    """Variable names a filter over these kinds may use (model fields plus the common ones)."""
    names = set(COMMON_VARIABLES)
    for kind in kinds:
        names |= set(ENTITY_TYPES[kind].model_fields) - _HIDDEN_FIELDS
    return names


def offset_location(base: str | None, line: int, column: int) -> str | None:
    """Add a 1-based (line, column) inside an expression to the ``file:line:column`` where it starts."""
    if base is None:
        return None
    try:
        file, base_line, base_col = base.rsplit(":", 2)
        start_line, start_col = int(base_line), int(base_col)
    except ValueError:
        return base
    if line <= 1:
        return f"{file}:{start_line}:{start_col + column - 1}"
    return f"{file}:{start_line + line - 1}:{start_col + column - 1}"


def _position_of(name: str, source: str, *, call: bool = False) -> tuple[int, int]:
    """(line, column) of the first use of identifier ``name`` (a call when ``call``) outside string literals."""
    masked = re.sub(r"\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'", lambda m: " " * len(m.group()), source)
    pattern = rf"\b{re.escape(name)}\s*\(" if call else rf"(?<![\w.]){re.escape(name)}\b"
    match = re.search(pattern, masked)
    offset = match.start() if match else 0
    before = source[:offset]
    line = before.count("\n") + 1
    column = offset - (before.rfind("\n") + 1) + 1
    return line, column


@dataclass(frozen=True)
class CompiledFilter:
    """One compiled rule filter; ``variables`` are the entity fields it reads."""

    source: str
    program: Any
    variables: frozenset[str]

    def matches(self, activation: Activation) -> bool:
        """Run the filter; a non-boolean result is an error (``TypeError``)."""
        result = self.program.execute(activation.context)
        if not isinstance(result, bool):
            raise TypeError(f"the filter returned {type(result).__name__}, not true/false")
        return result


def compile_filter(source: str, *, kinds: Iterable[EntityKind], location: str | None = None,
                   key: str | None = None) -> CompiledFilter:
    """Compile ``source``; a ``ConfigError`` located at the bad token when it does not compile.

    ``location`` is ``file:line:column`` of the expression's first character in the config file;
    positions the CEL parser reports are added to it. Unknown variable names are errors too.
    """
    kinds = list(kinds)
    source = source.rstrip()  # a block scalar's trailing newline would put "end of input" on a blank line
    try:
        program = cel.compile(source)
    except Exception as exc:  # the library raises ValueError with "<input>:L:C" positions
        text = str(exc)
        match = _CEL_POSITION.search(text)
        line, column = (int(match.group(1)), int(match.group(2))) if match else (1, 1)
        reason = text.split("Syntax error:", 1)[-1].split("\n", 1)[0].strip() if "Syntax error:" in text else text
        raise ConfigError(f"the filter is not valid CEL: {reason}", location=offset_location(location, line, column),
                          key=key, hint="see the CEL language definition; strings use double quotes") from None
    bound = set(_MACRO_VAR.findall(source))
    used = set(program.variables()) - bound
    allowed = fields_of(kinds)
    unknown = sorted(used - allowed)
    if unknown:
        name = unknown[0]
        line, column = _position_of(name, source)
        kind_names = ", ".join(str(k) for k in kinds)
        raise ConfigError(f"the filter uses {name!r}, which is not a field of {kind_names}",
                          location=offset_location(location, line, column), key=key,
                          hint="fields: " + ", ".join(sorted(allowed)))
    unknown_functions = sorted(f for f in program.functions() if f[:1].isalpha() and f not in FUNCTIONS)
    if unknown_functions:
        name = unknown_functions[0]
        line, column = _position_of(name, source, call=True)
        raise ConfigError(f"the filter calls {name!r}, which CEL does not provide here",
                          location=offset_location(location, line, column), key=key,
                          hint="functions: " + ", ".join(sorted(FUNCTIONS)))
    return CompiledFilter(source=source, program=program, variables=frozenset(used))


def to_cel(value: Any, tz: tzinfo) -> Any:
    """A Python/pydantic value as a CEL-friendly one (dates -> timestamps, enums -> strings)."""
    if value is None or (isinstance(value, bool | int | float | str) and not isinstance(value, Enum)):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.astimezone(UTC)  # the CEL bridge converts fixed UTC offsets only
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=tz).astimezone(UTC)
    if isinstance(value, BaseModel):
        return {name: to_cel(getattr(value, name), tz) for name in type(value).model_fields}
    if isinstance(value, Mapping):
        return {str(k): to_cel(v, tz) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_cel(v, tz) for v in value]
    return str(value)


@dataclass
class Activation:
    """The CEL variables of one entity, built once and shared by every rule's filter."""

    entity: Entity
    context: Any = field(repr=False)

    @classmethod
    def build(cls, entity: Entity, names: Iterable[str], *, now: datetime, tz: tzinfo) -> Activation:
        """Only ``names`` are computed (the union of what the loaded filters read)."""
        variables: dict[str, Any] = {}
        for name in names:
            if name == "now":
                variables[name] = now.astimezone(UTC)
            elif name == "kind":
                variables[name] = str(entity.kind)
            elif name == "connector":
                variables[name] = entity.source.connector
            elif name == "external_id":
                variables[name] = entity.source.external_id
            elif name == "url":
                variables[name] = entity.source.url
            else:
                variables[name] = to_cel(getattr(entity, name, None), tz)
        return cls(entity=entity, context=cel.Context(variables=variables))
