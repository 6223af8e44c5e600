"""``${VAR}`` interpolation in string values, before validation. Nothing is ever evaluated.

Syntax, inside any string value (never in keys):

- ``${NAME}``: the value of environment variable ``NAME``; an error when it is not set.
- ``${NAME:-default}``: ``default`` when ``NAME`` is unset or empty (as in a POSIX shell).
- ``$${``: a literal ``${``.

Defaults cannot contain ``}`` and references do not nest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from collabhub.config._yaml import KeyPath, YamlDocument, dotted, to_plain
from collabhub.errors import ConfigError

__all__ = ["InterpolationProblem", "interpolate", "interpolate_text"]

_TOKEN = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_REFERENCE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$", re.DOTALL)


class _Unresolved(Exception):
    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


@dataclass
class InterpolationProblem:
    """A string value that could not be interpolated, with where it is."""

    path: KeyPath
    error: ConfigError


def interpolate_text(text: str, env: Mapping[str, str]) -> str:
    """Replace every reference in ``text``; ``ValueError`` names the first that cannot be resolved."""
    try:
        return _substitute(text, env)
    except _Unresolved as exc:
        raise ValueError(f"{exc.message} ({exc.hint})") from None


def _substitute(text: str, env: Mapping[str, str]) -> str:
    if "$" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "$${":
            return "${"
        if match.group(1) is None:
            raise _Unresolved("a '${' is not closed by '}'",
                              "write ${NAME} or ${NAME:-default}; write $${ for a literal ${")
        ref = _REFERENCE.match(match.group(1))
        if ref is None:
            raise _Unresolved(f"{token!r} is not a valid variable reference",
                              "a name is letters, digits and '_' (not starting with a digit); "
                              "write $${ for a literal ${")
        name, default = ref.group(1), ref.group(2)
        value = env.get(name)
        if default is not None and not value:
            return default
        if value is None:
            raise _Unresolved(f"environment variable {name} is not set",
                              f"set {name} in the environment collabhub runs in, or write ${{{name}:-default}}")
        return value

    return _TOKEN.sub(replace, text)


def interpolate(doc: YamlDocument, env: Mapping[str, str]) -> tuple[Any, list[InterpolationProblem]]:
    """A plain copy of the document with every string value interpolated, and the problems found.

    A value that fails keeps its raw text so validation can go on and report further errors.
    """
    problems: list[InterpolationProblem] = []

    def walk(node: Any, path: KeyPath) -> Any:
        if isinstance(node, CommentedMap):
            return {to_plain(k): walk(v, (*path, k)) for k, v in node.items()}
        if isinstance(node, CommentedSeq):
            return [walk(v, (*path, i)) for i, v in enumerate(node)]
        if isinstance(node, str):
            try:
                return _substitute(str(node), env)
            except _Unresolved as exc:
                problems.append(InterpolationProblem(path, ConfigError(
                    exc.message, location=doc.locate(path), key=dotted(path) or None, hint=exc.hint)))
                return str(node)
        return to_plain(node)

    return walk(doc.root, ()), problems
