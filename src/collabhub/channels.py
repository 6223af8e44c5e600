"""Helpers for the neutral delivery payloads of ``docs/plugins/channels.md``.

Writers of chat channels that cannot show rich cards render the neutral digest shape
(``title``, ``summary``, ``sections``) as markdown with :func:`content_markdown`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["ack_items", "content_markdown"]


def content_markdown(content: Mapping[str, Any], *, with_title: bool = True) -> str:
    """Markdown for ``{title, summary, sections: [{heading, items: [{text, url?, ack_id?}]}]}``."""
    lines: list[str] = []
    if with_title and content.get("title"):
        lines.append(f"### {content['title']}")
    if content.get("summary"):
        lines.append(str(content["summary"]))
    for section in content.get("sections") or []:
        if not isinstance(section, Mapping):
            continue
        items = [i for i in section.get("items") or [] if isinstance(i, Mapping)]
        if not items:
            continue
        lines.append("")
        if section.get("heading"):
            lines.append(f"**{section['heading']}**")
        for item in items:
            text = str(item.get("text") or "")
            lines.append(f"- [{text}]({item['url']})" if item.get("url") else f"- {text}")
    return "\n".join(lines).strip()


def ack_items(content: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(ack_id, text)`` of every item a receiver can acknowledge, in order."""
    out = []
    for section in content.get("sections") or []:
        for item in (section.get("items") or []) if isinstance(section, Mapping) else []:
            if isinstance(item, Mapping) and item.get("ack_id"):
                out.append((str(item["ack_id"]), str(item.get("text") or "")))
    return out
