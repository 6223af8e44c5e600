"""Graph URL paths, with mailbox addresses kept readable (``/users/adele@contoso.com``)."""

from __future__ import annotations

from urllib.parse import quote

__all__ = ["event_path", "user_path"]


def user_path(mailbox: str) -> str:
    return "/users/" + quote(mailbox, safe="@")


def event_path(mailbox: str, event_id: str) -> str:
    return f"{user_path(mailbox)}/events/{quote(event_id, safe='')}"
