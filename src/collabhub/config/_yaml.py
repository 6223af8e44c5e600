"""Reading YAML with positions: a parsed document that can say where any key or item is.

The round-trip loader of ruamel.yaml keeps a line and column for every mapping key, mapping value
and sequence item. :class:`YamlDocument` turns those into 1-based ``file:line:column`` strings and
maps pydantic error locations back onto the tree. Parser errors become located
:class:`~collabhub.errors.ConfigError` s worded for an admin, not for a YAML implementer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    FoldedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)

from collabhub.errors import ConfigError

__all__ = ["KeyPath", "YamlDocument", "dotted", "parse_yaml", "to_plain"]

KeyPath = tuple[str | int, ...]


def dotted(path: Sequence[Any]) -> str:
    """``("connectors", "jira", "base_url")`` -> ``connectors.jira.base_url``; items as ``[0]``."""
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class YamlDocument:
    """A parsed YAML file: its round-trip tree, its text and its display name."""

    def __init__(self, root: Any, text: str, filename: str) -> None:
        self.root = root
        self.filename = filename
        self._lines = text.splitlines()

    # -- walking ---------------------------------------------------------------------

    def node(self, path: KeyPath) -> Any:
        """The node at ``path``; ``KeyError`` when it does not exist."""
        node = self.root
        for part in path:
            node = _child(node, part)
        return node

    def resolve(self, loc: Sequence[Any]) -> tuple[KeyPath, tuple[Any, ...]]:
        """Split a pydantic ``loc`` into the part that exists in the tree and the parts that do not.

        Parts that are not in the tree are union tags (``str``, ``list[str]``...) or, for a missing
        key, the key itself; they are skipped while walking.
        """
        node, found, skipped = self.root, [], []
        for part in loc:
            try:
                node = _child(node, part)
            except KeyError:
                skipped.append(part)
                continue
            found.append(part)
        return tuple(found), tuple(skipped)

    # -- positions -------------------------------------------------------------------

    def position(self, path: KeyPath, *, key: bool = False) -> tuple[int, int] | None:
        """1-based ``(line, column)`` of the node at ``path``.

        For a scalar value this is its first character of content (inside quotes, on the first
        line of a block scalar), so a column offset inside the text can be added to it. For a
        mapping or sequence value it is the key (or the ``-`` item). With ``key=True`` it is
        always the key. The empty path is the start of the document.
        """
        if not path:
            lc = getattr(self.root, "lc", None)
            return ((lc.line or 0) + 1, (lc.col or 0) + 1) if lc is not None else (1, 1)
        try:
            parent = self.node(path[:-1])
            value = _child(parent, path[-1])
        except KeyError:
            return None
        last = path[-1]
        if isinstance(parent, CommentedMap):
            parent = _defining_map(parent, last)
            if parent is None:  # pragma: no cover - a key ruamel kept no position for
                return self.position(path[:-1])
            if key or isinstance(value, CommentedMap | CommentedSeq) or value is None:
                line, col = parent.lc.key(last)
                return line + 1, col + 1
            line, col = parent.lc.value(last)
        elif isinstance(parent, CommentedSeq):
            line, col = parent.lc.item(last)
            if key or isinstance(value, CommentedMap | CommentedSeq) or value is None:
                return line + 1, col + 1
        else:  # pragma: no cover - _child only descends into maps and sequences
            return None
        return self._content_start(value, line, col)

    def _content_start(self, value: Any, line: int, col: int) -> tuple[int, int]:
        if isinstance(value, SingleQuotedScalarString | DoubleQuotedScalarString):
            return line + 1, col + 2
        if isinstance(value, LiteralScalarString | FoldedScalarString):
            for number in range(line + 1, len(self._lines)):
                text = self._lines[number]
                if text.strip():
                    return number + 1, len(text) - len(text.lstrip(" ")) + 1
        return line + 1, col + 1

    def locate(self, path: KeyPath, *, key: bool = False) -> str | None:
        """``file:line:column`` of the node at ``path`` (see :meth:`position`), or ``None``."""
        pos = self.position(path, key=key)
        return None if pos is None else f"{self.filename}:{pos[0]}:{pos[1]}"


def _defining_map(mapping: CommentedMap, key: Any) -> CommentedMap | None:
    """The mapping whose text defines ``key``: itself, or one merged in with ``<<: *anchor``."""
    if key in mapping.lc.data:
        return mapping
    for merged in getattr(mapping, "merge", None) or []:
        source = merged[1] if isinstance(merged, tuple) else merged
        if isinstance(source, CommentedMap) and key in source:
            found = _defining_map(source, key)
            if found is not None:
                return found
    return None


def _child(node: Any, part: Any) -> Any:
    if isinstance(node, CommentedMap):
        if part in node:
            return node[part]
        raise KeyError(part)
    is_index = isinstance(part, int) and not isinstance(part, bool)
    if isinstance(node, CommentedSeq) and is_index and 0 <= part < len(node):
        return node[part]
    raise KeyError(part)


def to_plain(node: Any) -> Any:
    """A copy of a ruamel tree made of plain dicts, lists, str, int, float, bool, None and dates."""
    if isinstance(node, CommentedMap):
        return {to_plain(k): to_plain(v) for k, v in node.items()}
    if isinstance(node, CommentedSeq):
        return [to_plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, str):
        return str(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, date):
        return node
    return node


# -- parsing ---------------------------------------------------------------------------------

_PLAIN_WORDS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"found character '\\t' that cannot start any token"),
     "a tab character is used for indentation; YAML allows only spaces"),
    (re.compile(r"expected <block end>, but found '<block (mapping|sequence) start>'"),
     "bad indentation: this line is indented differently from the lines above it at the same level"),
    (re.compile(r"expected <block end>, but found"),
     "bad indentation or a stray character: this line does not continue the block above it"),
    (re.compile(r"mapping values are not allowed here"),
     "unexpected ':' here; check this line's indentation, or quote a value that contains ': '"),
    (re.compile(r"could not find expected ':'"),
     "a key is missing its ':' (or a continued value is not indented enough)"),
    (re.compile(r"found unexpected end of stream"),
     "the file ends inside a quoted string or a bracket; close it"),
    (re.compile(r"found undefined alias"),
     "an alias (*name) refers to an anchor (&name) that is not defined above it"),
    (re.compile(r"expected ',' or '[\]}]'"),
     "a flow collection ([...] or {...}) is not closed or misses a ','"),
]


def _plain_words(problem: str) -> str:
    for pattern, words in _PLAIN_WORDS:
        if pattern.search(problem):
            return words
    return problem


def parse_yaml(text: str, filename: str) -> YamlDocument:
    """Parse ``text`` with the round-trip loader; raise a located ``ConfigError`` on broken YAML."""
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.allow_duplicate_keys = False
    try:
        root = yaml.load(text)
    except DuplicateKeyError as exc:
        mark, first = exc.problem_mark, exc.context_mark
        found = re.search(r'duplicate key "(.*?)"', exc.problem or "")
        name = found.group(1) if found else "?"
        where = f" (first defined at line {first.line + 1})" if first is not None else ""
        raise ConfigError(f"duplicate key {name!r}{where}", key=name,
                          location=_mark(filename, mark), hint="each key may appear once per mapping") from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = _plain_words(exc.problem or exc.context or "invalid YAML")
        raise ConfigError(message, location=_mark(filename, mark), hint="the file is not valid YAML") from None
    except YAMLError as exc:  # pragma: no cover - errors without a position are rare
        raise ConfigError(f"invalid YAML: {exc}", location=filename) from None
    return YamlDocument(root, text, filename)


def _mark(filename: str, mark: Any) -> str:
    if mark is None:
        return filename
    return f"{filename}:{mark.line + 1}:{mark.column + 1}"
