"""A small JQL engine for the Jira simulator: parse, compile to a predicate, order.

It covers what the connector and the tests send: ``AND``/``OR``/``NOT``, parentheses, the
operators ``= != > >= < <= ~ !~ IN, NOT IN, IS, IS NOT``, quoted and bare values, lists,
``EMPTY``/``NULL``, epoch-millisecond and ``"yyyy-MM-dd HH:mm"`` dates (read in the calling
user's time zone, as Jira does), relative dates (``-5d``), and ``ORDER BY``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["JqlError", "Query", "parse"]

Predicate = Callable[[dict[str, Any]], bool]

_TOKEN = re.compile(r"""\s*(?:
    (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<op>!=|>=|<=|!~|=|>|<|~)
  | (?P<punct>[(),])
  | (?P<word>[^\s(),=!<>~"']+(?:\([^)]*\))?)
)""", re.VERBOSE)

_DATE_FIELDS = {"updated", "created", "resolved", "resolutiondate", "duedate", "due"}
_RELATIVE = re.compile(r"^([+-]?\d+)([wdhm])$")
_UNIT_MS = {"w": 7 * 86400000, "d": 86400000, "h": 3600000, "m": 60000}


class JqlError(ValueError):
    """The query cannot be parsed or names an unknown field (Jira answers 400)."""


@dataclass
class Token:
    kind: str
    text: str

    @property
    def value(self) -> str:
        if self.kind == "str":
            return re.sub(r"\\(.)", r"\1", self.text[1:-1])
        return self.text

    def is_kw(self, *words: str) -> bool:
        return self.kind == "word" and self.text.lower() in words


@dataclass
class Query:
    """A compiled query: predicate, ORDER BY list, and a lower bound on ``updated`` if one is implied."""

    predicate: Predicate
    order: list[tuple[str, bool]]
    bounded: bool
    updated_from: int | None = None
    updated_to: int | None = None
    ids: set[str] | None = None
    fields_used: set[str] = field(default_factory=set)


def _tokens(text: str) -> list[Token]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise JqlError(f"Error in the JQL Query: unexpected character at position {pos}.")
        pos = m.end()
        kind = m.lastgroup or "word"
        out.append(Token(kind, m.group(kind)))
    return out


class _Parser:
    def __init__(self, text: str, resolver: FieldResolver) -> None:
        self.tokens = _tokens(text)
        self.i = 0
        self.r = resolver
        self.bounds: dict[str, int] = {}
        self.ids: set[str] | None = None

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise JqlError("Error in the JQL Query: the query ended unexpectedly.")
        self.i += 1
        return tok

    def parse(self) -> Query:
        pred: Predicate | None = None
        tok = self.peek()
        if tok is not None and not tok.is_kw("order"):
            pred = self.or_expr(top=True)
        order: list[tuple[str, bool]] = []
        tok = self.peek()
        if tok is not None:
            if not tok.is_kw("order"):
                raise JqlError(f"Error in the JQL Query: Expecting either 'OR' or 'AND' but got '{tok.text}'.")
            self.take()
            if not self.take().is_kw("by"):
                raise JqlError("Error in the JQL Query: Expecting 'BY' after 'ORDER'.")
            while True:
                name = self.take().value.lower()
                self.r.check_field(name)
                asc = True
                nxt = self.peek()
                if nxt is not None and nxt.is_kw("asc", "desc"):
                    asc = self.take().text.lower() == "asc"
                order.append((name, asc))
                nxt = self.peek()
                if nxt is None:
                    break
                if nxt.kind != "punct" or nxt.text != ",":
                    raise JqlError(f"Error in the JQL Query: unexpected '{nxt.text}' in ORDER BY.")
                self.take()
            if len(order) > 7:
                raise JqlError("The ORDER BY clause can have at most 7 fields.")
        return Query(pred or (lambda issue: True), order, bounded=pred is not None,
                     updated_from=self.bounds.get("from"), updated_to=self.bounds.get("to"), ids=self.ids)

    def or_expr(self, top: bool = False) -> Predicate:
        parts = [self.and_expr(top)]
        while (tok := self.peek()) is not None and tok.is_kw("or"):
            self.take()
            parts.append(self.and_expr(False))
        if len(parts) > 1 and top:
            self.bounds.clear()
            self.ids = None
        return parts[0] if len(parts) == 1 else (lambda issue: any(p(issue) for p in parts))

    def and_expr(self, top: bool) -> Predicate:
        parts = [self.not_expr(top)]
        while (tok := self.peek()) is not None and tok.is_kw("and"):
            self.take()
            parts.append(self.not_expr(top))
        return parts[0] if len(parts) == 1 else (lambda issue: all(p(issue) for p in parts))

    def not_expr(self, top: bool) -> Predicate:
        tok = self.take()
        if tok.is_kw("not"):
            inner = self.not_expr(False)
            return lambda issue: not inner(issue)
        if tok.kind == "punct" and tok.text == "(":
            inner = self.or_expr(False)
            close = self.take()
            if close.text != ")":
                raise JqlError("Error in the JQL Query: expecting ')'.")
            return inner
        return self.clause(tok, top)

    def operator(self) -> str:
        tok = self.take()
        if tok.kind == "op":
            return tok.text
        if tok.is_kw("in"):
            return "in"
        if tok.is_kw("not"):
            if not self.take().is_kw("in"):
                raise JqlError("Error in the JQL Query: expecting 'IN' after 'NOT'.")
            return "not in"
        if tok.is_kw("is"):
            nxt = self.peek()
            if nxt is not None and nxt.is_kw("not"):
                self.take()
                return "is not"
            return "is"
        raise JqlError(f"Error in the JQL Query: expecting an operator but got '{tok.text}'.")

    def values(self) -> list[str | None]:
        tok = self.take()
        if tok.kind == "punct" and tok.text == "(":
            out: list[str | None] = []
            while True:
                item = self.take()
                if item.kind == "punct" and item.text == ")":
                    break
                if item.kind == "punct":
                    continue
                out.append(None if item.is_kw("empty", "null") else item.value)
            return out
        return [None if tok.is_kw("empty", "null") else tok.value]

    def clause(self, tok: Token, top: bool) -> Predicate:
        name = tok.value.lower()
        self.r.check_field(name)
        op = self.operator()
        values = self.values()
        if name in _DATE_FIELDS:
            stamps = [None if v is None else self.r.date_ms(v) for v in values]
            if top and name == "updated" and stamps and stamps[0] is not None:
                if op in (">=", ">"):
                    self.bounds["from"] = max(self.bounds.get("from", stamps[0]), stamps[0])
                elif op in ("<=", "<"):
                    self.bounds["to"] = min(self.bounds.get("to", stamps[0]), stamps[0])
            return _compare(self.r.getter(name), op, stamps, name)
        if top and name in ("id", "key", "issuekey") and op in ("=", "in"):
            wanted = {str(v) for v in values if v is not None}
            self.ids = wanted if self.ids is None else self.ids & wanted
        return _compare(self.r.getter(name), op, values, name)


def _norm(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _compare(get: Callable[[dict[str, Any]], Any], op: str, values: list[Any], name: str) -> Predicate:
    """Build the predicate of one clause. A getter returns a scalar, a list, or a tuple of aliases."""

    def candidates(issue: dict[str, Any]) -> list[Any]:
        got = get(issue)
        if got is None:
            return []
        return [_norm(x) for x in (got if isinstance(got, list | tuple | set) else [got])]

    wanted = [_norm(v) for v in values]
    if op in ("is", "is not"):
        empty = op == "is"
        return lambda issue: (not candidates(issue)) == empty
    if op in ("=", "in"):
        want = set(wanted)
        return lambda issue: bool(want & set(candidates(issue))) or (None in want and not candidates(issue))
    if op in ("!=", "not in"):
        want = set(wanted)
        return lambda issue: bool(candidates(issue)) and not (want & set(candidates(issue)))
    if op in ("~", "!~"):
        needle = str(wanted[0] or "").strip("*")
        def hit(issue: dict[str, Any]) -> bool:
            return any(needle in str(c) for c in candidates(issue))

        return hit if op == "~" else (lambda issue: not hit(issue))
    if len(wanted) != 1 or wanted[0] is None:
        raise JqlError(f"The operator '{op}' needs a single value for field '{name}'.")
    bound = wanted[0]
    cmp = {">": lambda a: a > bound, ">=": lambda a: a >= bound, "<": lambda a: a < bound,
           "<=": lambda a: a <= bound}[op]

    def ordered(issue: dict[str, Any]) -> bool:
        for c in candidates(issue):
            try:
                if cmp(c):
                    return True
            except TypeError:
                continue
        return False

    return ordered


class FieldResolver:
    """Knows the fields a query may name and how to read them from a simulator issue."""

    def __init__(self, getters: dict[str, Callable[[dict[str, Any]], Any]], *, tz: ZoneInfo,
                 now_ms: Callable[[], int]) -> None:
        self.getters = getters
        self.tz = tz
        self.now_ms = now_ms

    def check_field(self, name: str) -> None:
        if name not in self.getters:
            raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")

    def getter(self, name: str) -> Callable[[dict[str, Any]], Any]:
        return self.getters[name]

    def date_ms(self, value: str) -> int:
        """Epoch ms, ``yyyy-MM-dd[ HH:mm]`` or ``yyyy/MM/dd[ HH:mm]`` in the user's zone, or ``-5d``."""
        text = str(value).strip()
        if re.fullmatch(r"-?\d{9,}", text):
            return int(text)
        rel = _RELATIVE.match(text)
        if rel:
            return self.now_ms() + int(rel.group(1)) * _UNIT_MS[rel.group(2)]
        for fmt in ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d"):
            try:
                naive = datetime.strptime(text, fmt)
            except ValueError:
                continue
            return int(naive.replace(tzinfo=self.tz).timestamp() * 1000)
        raise JqlError(f"Date value '{text}' for field is invalid. Valid formats include: "
                       "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format "
                       "e.g. '-5d', '4w 2d'.")


def parse(text: str, resolver: FieldResolver) -> Query:
    """Parse and compile ``text``; raise :class:`JqlError` with Jira's wording on failure."""
    return _Parser(text or "", resolver).parse()
