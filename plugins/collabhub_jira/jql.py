"""JQL the connector sends: the configured scope, epoch-millisecond bounds, a stable order.

Dates go out as epoch milliseconds (``updated >= 1790000000000``): a zone-less ``"yyyy-MM-dd HH:mm"``
would be read in the API user's profile time zone and skip or repeat issues.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["ORDER", "by_ids", "quote", "scope", "window"]

ORDER = "ORDER BY updated ASC, key ASC"


def quote(value: str) -> str:
    """A JQL string literal."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def scope(projects: Sequence[str], extra: str | None) -> str | None:
    """The connector's scope: ``project in (...)`` and the extra JQL, or ``None`` for everything."""
    parts = []
    if projects:
        parts.append(f"project in ({', '.join(quote(p) for p in projects)})")
    if extra and extra.strip():
        parts.append(f"({extra.strip()})")
    return " AND ".join(parts) or None


def window(scope_jql: str | None, since_ms: int, *, order: bool = True) -> str:
    """``<scope> AND updated >= <since_ms> ORDER BY updated ASC, key ASC``."""
    parts = [f"({scope_jql})"] if scope_jql else []
    parts.append(f"updated >= {int(since_ms)}")
    text = " AND ".join(parts)
    return f"{text} {ORDER}" if order else text


def by_ids(scope_jql: str | None, ids: Iterable[str]) -> str:
    """Issues by id within the scope (for Data Center re-pulls)."""
    listed = ", ".join(str(int(i)) for i in ids)
    parts = [f"id in ({listed})"] + ([f"({scope_jql})"] if scope_jql else [])
    return " AND ".join(parts) + f" {ORDER}"
