"""Atlassian Document Format (REST v3 rich text) to plain text and back.

Reading covers what Jira users write: paragraphs, headings, lists, quotes, code blocks, hard breaks,
mentions, emoji, inline cards, status lozenges and dates. Writing makes one paragraph per line, so
``adf_to_text(text_to_adf(t)) == t`` for any text.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = ["adf_to_text", "text_to_adf"]

_BLOCKS = {"paragraph", "heading", "codeBlock", "blockquote", "rule", "panel", "mediaSingle", "table",
           "bulletList", "orderedList", "listItem", "tableRow", "tableCell", "tableHeader", "expand", "taskList",
           "taskItem", "decisionList", "decisionItem"}


def text_to_adf(text: str | None) -> dict[str, Any] | None:
    """Plain text as an ADF document: one paragraph per line (empty lines become empty paragraphs)."""
    if text is None:
        return None
    return {"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": line}] if line else []}
        for line in text.split("\n")]}


def _inline(node: Mapping[str, Any]) -> str:
    kind = node.get("type")
    attrs = node.get("attrs") or {}
    if kind == "text":
        return str(node.get("text", ""))
    if kind == "hardBreak":
        return "\n"
    if kind == "mention":
        return str(attrs.get("text") or "@" + str(attrs.get("id", "")))
    if kind == "emoji":
        return str(attrs.get("text") or attrs.get("shortName") or "")
    if kind in ("inlineCard", "blockCard"):
        return str(attrs.get("url", ""))
    if kind == "status":
        return str(attrs.get("text", ""))
    if kind == "date":
        try:
            return datetime.fromtimestamp(int(attrs.get("timestamp")) / 1000, UTC).date().isoformat()
        except (TypeError, ValueError):
            return ""
    return "".join(_inline(c) for c in node.get("content") or [] if isinstance(c, Mapping))


def _blocks(node: Mapping[str, Any], prefix: str = "") -> list[str]:
    kind = node.get("type")
    children = [c for c in node.get("content") or [] if isinstance(c, Mapping)]
    if kind in ("bulletList", "orderedList", "taskList", "decisionList"):
        lines: list[str] = []
        for n, item in enumerate(children, start=1):
            marker = f"{n}. " if kind == "orderedList" else "- "
            inner = _blocks(item)
            lines += [prefix + marker + (inner[0] if inner else "")] + [prefix + "  " + x for x in inner[1:]]
        return lines
    if kind == "rule":
        return ["---"]
    if kind == "codeBlock":
        return _inline(node).split("\n")
    if any(c.get("type") in _BLOCKS for c in children):
        out: list[str] = []
        for child in children:
            out += _blocks(child, prefix) if child.get("type") in _BLOCKS else [_inline(child)]
        return out
    return _inline(node).split("\n") if kind != "doc" else []


def adf_to_text(value: Any) -> str | None:
    """The plain text of an ADF document; a string (REST v2) passes through unchanged."""
    if value is None or isinstance(value, str):
        return value
    if not isinstance(value, Mapping) or value.get("type") != "doc":
        raise ValueError("expected an ADF document (type 'doc')")
    lines: list[str] = []
    for block in value.get("content") or []:
        if isinstance(block, Mapping):
            lines += _blocks(block)
    return "\n".join(lines)
