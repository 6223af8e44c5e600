"""Render a delivery's content as a Feishu message card (JSON 1.0 schema).

Content keys (all optional): the neutral digest shape of ``docs/plugins/channels.md`` (``summary``,
``sections`` with acknowledge buttons for items carrying an ``ack_id``), ``card`` (a complete card,
sent as is), ``title``, ``text`` /
``markdown``, ``fields`` (a mapping, or a list of ``{label, value}``), ``items`` (bullet lines, for
digests), ``url`` + ``url_text``, ``links`` (``[{text, url}]``), ``template`` (header colour),
``note``. Cards carry ``update_multi: true`` so a digest can be updated in place for everyone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from collabhub.channels import ack_items, content_markdown

__all__ = ["render_card", "text_of"]

_MAX_ACK_BUTTONS = 10
_TEMPLATES = {"blue", "wathet", "turquoise", "green", "yellow", "orange", "red", "carmine", "violet", "purple",
              "indigo", "grey"}


def _md(content: str) -> dict[str, Any]:
    return {"tag": "div", "text": {"tag": "lark_md", "content": content}}


def _fields(fields: Any) -> list[tuple[str, str]]:
    if isinstance(fields, Mapping):
        return [(str(k), "" if v is None else str(v)) for k, v in fields.items()]
    pairs = []
    for item in fields or []:
        if isinstance(item, Mapping):
            pairs.append((str(item.get("label") or item.get("name") or ""), str(item.get("value") or "")))
    return pairs


def text_of(content: Mapping[str, Any]) -> str:
    """A plain-text rendering (for text messages and previews)."""
    lines = [str(content[k]) for k in ("title", "text", "markdown") if content.get(k)]
    lines += [f"{label}: {value}" for label, value in _fields(content.get("fields"))]
    lines += [f"- {item}" for item in content.get("items") or []]
    if content.get("url"):
        lines.append(str(content["url"]))
    return "\n".join(lines)


def _neutral_elements(content: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The neutral digest shape (``summary``, ``sections``): markdown, and an acknowledge button per
    item a receiver must confirm (its ``value`` comes back in the card action callback)."""
    elements: list[dict[str, Any]] = []
    if content.get("summary") or content.get("sections"):
        body = content_markdown(content, with_title=False)
        if body:
            elements.append(_md(body))
    acks = ack_items(content)[:_MAX_ACK_BUTTONS]
    if acks:
        label = "确认" if content.get("lang", "zh") == "zh" else "Acknowledge"
        elements.append({"tag": "action", "actions": [
            {"tag": "button", "type": "default", "text": {"tag": "plain_text", "content": f"{label}: {text[:30]}"},
             "value": {"ack_id": ack_id}} for ack_id, text in acks]})
    return elements


def render_card(content: Mapping[str, Any]) -> dict[str, Any]:
    """The card JSON for ``content``."""
    if isinstance(content.get("card"), Mapping):
        card = dict(content["card"])
        card["config"] = {"wide_screen_mode": True, **dict(card.get("config") or {}), "update_multi": True}
        return card
    elements: list[dict[str, Any]] = []
    text = content.get("markdown") or content.get("text")
    if text:
        elements.append(_md(str(text)))
    elements.extend(_neutral_elements(content))
    pairs = _fields(content.get("fields"))
    if pairs:
        elements.append({"tag": "div", "fields": [
            {"is_short": len(value) <= 40, "text": {"tag": "lark_md", "content": f"**{label}**\n{value}"}}
            for label, value in pairs]})
    items = [str(i) for i in content.get("items") or []]
    if items:
        elements.append(_md("\n".join(f"• {item}" for item in items)))
    links = [dict(link) for link in content.get("links") or [] if isinstance(link, Mapping) and link.get("url")]
    if content.get("url"):
        links.insert(0, {"text": content.get("url_text") or "Open", "url": content["url"]})
    if links:
        elements.append({"tag": "action", "actions": [
            {"tag": "button", "type": "primary" if i == 0 else "default",
             "text": {"tag": "plain_text", "content": str(link.get("text") or "Open")}, "url": str(link["url"])}
            for i, link in enumerate(links)]})
    if content.get("note"):
        elements.append({"tag": "note", "elements": [{"tag": "plain_text", "content": str(content["note"])}]})
    if not elements:
        elements.append(_md(" "))
    card: dict[str, Any] = {"config": {"wide_screen_mode": True, "update_multi": True}, "elements": elements}
    if content.get("title"):
        template = str(content.get("template") or "blue")
        card["header"] = {"title": {"tag": "plain_text", "content": str(content["title"])},
                          "template": template if template in _TEMPLATES else "blue"}
    return card
