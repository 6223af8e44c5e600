"""Neutral delivery payloads (``docs/plugins/channels.md``) built from guarded views only.

Nothing here sees an entity: every function takes a :class:`~collabhub.rules.guard.SharedView`,
so what a receiver gets can never exceed what the guard allowed.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from collabhub.rules.guard import SharedView
from collabhub.rules.texts import field_name, text

__all__ = [
    "booking_content",
    "card_item",
    "comment_content",
    "event_content",
    "identifying_title",
    "item_title",
    "local_time",
    "task_content",
    "withdrawn_task_content",
]

_BODY_SKIP = frozenset({"title", "description", "body", "show_as"})


def local_time(value: Any, tz: tzinfo) -> str:
    """An ISO datetime/date string as short local wall time (``2024-05-01 09:30``); other values as-is."""
    if not isinstance(value, str):
        return "" if value is None else str(value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value
    if len(value) <= 10 or parsed.tzinfo is None:
        return value[:10]
    return parsed.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _person(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("display_name") or value.get("email") or value.get("external_id") or "")
    return "" if value is None else str(value)


def _render(name: str, value: Any, tz: tzinfo, lang: str) -> str:
    if name in ("due", "start", "end", "created", "updated", "completed"):
        return local_time(value, tz)
    if name in ("assignee", "reporter", "organizer", "lead", "leader", "booked_by"):
        return _person(value)
    if name == "attendees" and isinstance(value, list):
        return ", ".join(_person(a.get("person") if isinstance(a, dict) else a) for a in value)
    if name == "status_category" and isinstance(value, str):
        return text(lang, f"status.{value}") if value in ("todo", "in_progress", "done") else value
    if isinstance(value, list):
        return ", ".join(_person(v) if isinstance(v, dict) else str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items() if v is not None)
    return "" if value is None else str(value)


def identifying_title(view: SharedView) -> str | None:
    """The view's title (or name) when the guard let one through with a value, else ``None``."""
    if view.free_busy:
        return None
    value = view.get("title") or view.get("name")
    return str(value) if value else None


def item_title(view: SharedView, lang: str) -> str:
    """The line title of a view: its title or name when allowed, else a neutral placeholder.

    The placeholder says only what the guard allows: "busy" for free/busy, "details withheld"
    when no identifying field was allowed, a plain "shared item" when one was allowed but empty.
    """
    if view.free_busy:
        return text(lang, "item.busy")
    name = identifying_title(view)
    if name is not None:
        return name
    if "title" in view.fields or "name" in view.fields:
        return text(lang, "item.untitled")
    return text(lang, "item.withheld")


def field_lines(view: SharedView, tz: tzinfo, lang: str, *, skip: frozenset[str] = _BODY_SKIP) -> list[str]:
    """``- Label: value`` markdown lines for every allowed field with a value."""
    lines = []
    for name in sorted(view.fields):
        if name in skip:
            continue
        rendered = _render(name, view.fields[name], tz, lang)
        if rendered:
            lines.append("- " + text(lang, "field.label", name=field_name(lang, name), value=rendered))
    return lines


def card_item(view: SharedView, tz: tzinfo, lang: str, *, note: str | None = None,
              ack_id: str | None = None) -> dict[str, Any]:
    """One line of a digest card section: ``{text, url?, ack_id?}``."""
    parts = [item_title(view, lang)]
    if view.free_busy or view.get("start"):
        start, end = local_time(view.get("start"), tz), local_time(view.get("end"), tz)
        if start:
            parts.append(text(lang, "item.when", start=start, end=end[-5:] if end[:10] == start[:10] else end))
    if view.get("due"):
        parts.append(text(lang, "item.due", due=local_time(view.get("due"), tz)))
    if view.get("status_category"):
        parts.append(text(lang, "item.status", status=_render("status_category", view.get("status_category"),
                                                               tz, lang)))
    if note:
        parts.append(note)
    item: dict[str, Any] = {"text": " · ".join(parts)}
    if view.get("url"):
        item["url"] = view.get("url")
    if ack_id:
        item["ack_id"] = ack_id
    return item


def _body(view: SharedView, tz: tzinfo, lang: str, footer: str) -> str:
    chunks = []
    main = view.get("description") or view.get("body")
    if main:
        chunks.append(str(main))
    lines = field_lines(view, tz, lang)
    if lines:
        chunks.append("\n".join(lines))
    chunks.append(footer)
    return "\n\n".join(chunks)


def task_content(view: SharedView, tz: tzinfo, lang: str, *, footer: str) -> dict[str, Any]:
    """``task`` channel content: title, description, due, status_category, labels."""
    due = view.get("due") or (view.get("start") if view.kind != "task" else None)
    status = view.get("status_category") if view.get("status_category") in ("todo", "in_progress", "done") else "todo"
    labels = ["collabhub", *[str(x) for x in (view.get("labels") or [])]]
    content: dict[str, Any] = {"title": item_title(view, lang), "description": _body(view, tz, lang, footer),
                               "status_category": status, "labels": labels}
    if due:
        content["due"] = due
    return content


def withdrawn_task_content(lang: str) -> dict[str, Any]:
    """A mirrored task the receiver may no longer see: closed, with no entity data at all."""
    return {"title": text(lang, "withdrawn.title"), "description": text(lang, "withdrawn.body"),
            "status_category": "done", "labels": ["collabhub", "collabhub-withdrawn"]}


def event_content(view: SharedView, tz: tzinfo, tz_name: str, lang: str, *, attendees: list[str],
                  footer: str) -> dict[str, Any] | None:
    """``event`` channel content; ``None`` when the view has no start and end."""
    if not (view.get("start") and view.get("end")):
        return None
    content: dict[str, Any] = {"title": item_title(view, lang), "start": view.get("start"), "end": view.get("end"),
                               "timezone": view.get("timezone") or tz_name, "attendees": attendees}
    if view.free_busy:
        return content
    if view.get("location"):
        content["location"] = view.get("location")
    content["body"] = _body(view, tz, lang, footer)
    return content


def booking_content(view: SharedView, lang: str, *, room: str | None) -> dict[str, Any] | None:
    """``booking`` channel content; ``None`` without a room or a time span."""
    room = room or view.get("resource_id")
    if not (room and view.get("start") and view.get("end")):
        return None
    return {"room": room, "title": item_title(view, lang), "start": view.get("start"), "end": view.get("end")}


def comment_content(view: SharedView, tz: tzinfo, lang: str, *, footer: str) -> dict[str, Any]:
    """``comment`` channel content: one markdown status comment."""
    lines = [text(lang, "comment.header"), f"**{item_title(view, lang)}**", *field_lines(view, tz, lang), "", footer]
    return {"body": "\n".join(lines)}
