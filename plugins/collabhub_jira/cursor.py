"""The issue stream's cursor: the last committed ``(updated, key)`` plus what the overlap already saw.

Each read starts ``overlap`` before the cursor (Jira's search is eventually consistent, so an issue
updated just before the cursor may only now be visible) and skips records whose ``(id, updated)``
it already emitted. ``recent`` keeps those pairs for the overlap window only, capped in size; a
record that falls out of the cap is emitted again, which the store absorbs (same content hash).

The cursor never holds a ``nextPageToken``: those expire and tie a restart to one query.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MAX_RECENT", "IssueCursor"]

MAX_RECENT = 2000


@dataclass
class IssueCursor:
    """Where the issue stream stands. ``updated`` is epoch milliseconds."""

    updated: int | None = None
    key: str | None = None
    recent: dict[str, int] = field(default_factory=dict)
    swept_at: float | None = None

    @classmethod
    def load(cls, data: Mapping[str, Any] | None) -> IssueCursor:
        if not data:
            return cls()
        return cls(updated=data.get("updated"), key=data.get("key"),
                   recent={str(k): int(v) for k, v in (data.get("recent") or {}).items()},
                   swept_at=data.get("swept_at"))

    def dump(self) -> dict[str, Any]:
        return {"updated": self.updated, "key": self.key, "recent": dict(self.recent), "swept_at": self.swept_at}

    @property
    def empty(self) -> bool:
        return self.updated is None

    def lower_bound(self, overlap_ms: int, floor_ms: int) -> int:
        """Where the next read starts: the cursor minus the overlap, never below ``floor_ms``."""
        if self.updated is None:
            return floor_ms
        return max(floor_ms, self.updated - overlap_ms)

    def seen(self, issue_id: str, updated_ms: int) -> bool:
        """True when this exact version of the issue was already emitted."""
        return self.recent.get(issue_id) == updated_ms

    def advance(self, issue_id: str, updated_ms: int, key: str, overlap_ms: int) -> None:
        """Record an emitted issue; move the position forward; forget what left the overlap window."""
        self.recent[issue_id] = updated_ms
        if self.updated is None or updated_ms > self.updated or (updated_ms == self.updated and
                                                                  _key_order(key) > _key_order(self.key)):
            self.updated, self.key = updated_ms, key
        assert self.updated is not None
        horizon = self.updated - overlap_ms
        if len(self.recent) > MAX_RECENT or any(v < horizon for v in _sample(self.recent)):
            kept = sorted(((v, k) for k, v in self.recent.items() if v >= horizon), reverse=True)[:MAX_RECENT]
            self.recent = {k: v for v, k in kept}


def _sample(recent: dict[str, int]) -> list[int]:
    """The oldest entry is the first one inserted (records arrive in updated order), so check it only."""
    for value in recent.values():
        return [value]
    return []


def _key_order(key: str | None) -> tuple[str, int]:
    """Jira orders keys by project, then number (ENG-9 before ENG-10)."""
    if not key:
        return ("", -1)
    project, _, number = key.rpartition("-")
    return (project, int(number)) if number.isdigit() else (key, -1)
