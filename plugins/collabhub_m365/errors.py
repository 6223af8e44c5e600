"""How Graph answers are classified: ONE table from (status, error code) to what to do.

Graph errors look like ``{"error": {"code": "ErrorItemNotFound", "message": "…"}}``. The first
row whose status and code match wins (``None`` matches anything; codes compare case-blind).
The same table classifies top-level responses and the inner responses of a ``$batch``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from collabhub.errors import Action, DeliveryError, ErrorResolution, Who
from collabhub.http.retry import parse_retry_after

__all__ = ["RESYNC", "RoomDeclined", "classify", "classify_parts", "error_code"]

RESYNC = "resync"  # the delta token is gone: re-read this mailbox from scratch
MAILBOX = "mailbox"  # the mailbox does not exist or has no Exchange Online calendar
NOT_FOUND = "not_found"  # the item is gone

_SYNC_STATE = ("syncStateNotFound", "syncStateInvalid", "resyncRequired")

# (status, error code, action, who must act, message, resolution code)
TABLE: tuple[tuple[int | None, str | tuple[str, ...] | None, Action, Who, str, str | None], ...] = (
    (410, None, Action.SKIP, Who.NOBODY, "delta token expired (410 Gone): full resync of this mailbox", RESYNC),
    (None, _SYNC_STATE, Action.SKIP, Who.NOBODY, "delta sync state not found: full resync of this mailbox", RESYNC),
    (429, None, Action.RATE_LIMITED, Who.TRANSIENT, "Graph throttled the request (429)", "429"),
    (503, None, Action.RETRY, Who.TRANSIENT, "Graph is temporarily unavailable (503)", "503"),
    (502, None, Action.RETRY, Who.TRANSIENT, "bad gateway from Graph (502)", "502"),
    (504, None, Action.RETRY, Who.TRANSIENT, "Graph gateway timeout (504)", "504"),
    (500, None, Action.RETRY, Who.TRANSIENT, "Graph internal error (500)", "500"),
    (409, ("ErrorIrresolvableConflict", "ErrorConflict"), Action.RETRY, Who.TRANSIENT,
     "the item changed concurrently (409); retrying", "409"),
    (401, None, Action.REFRESH_TOKEN, Who.CONFIG,
     "Graph rejected the access token; if a fresh token is rejected too, check tenant_id and the app registration",
     "401"),
    (403, ("ErrorAccessDenied", "Authorization_RequestDenied", "AccessDenied"), Action.FAIL,
     Who.CONFIG, "Graph denied access: grant the app Calendars.ReadWrite, Place.Read.All, User.Read.All and "
     "GroupMember.Read.All (application permissions, admin consent) and check any application access policy",
     "403"),
    (403, None, Action.FAIL, Who.CONFIG, "Graph denied the request (403): an application permission is missing",
     "403"),
    (404, ("ErrorInvalidUser", "MailboxNotEnabledForRESTAPI", "ErrorNonExistentMailbox", "Request_ResourceNotFound"),
     Action.FAIL, Who.CONFIG,
     "the mailbox does not exist or has no Exchange Online calendar: fix `mailboxes`/`group`", MAILBOX),
    (404, None, Action.SKIP, Who.NOBODY, "the item no longer exists", NOT_FOUND),
    (400, None, Action.FAIL, Who.REMOTE, "Graph refused the request as malformed (400)", "400"),
    (None, None, Action.FAIL, Who.REMOTE, "unexpected answer from Graph", None),
)


def error_code(body: Any) -> tuple[str, str]:
    """``(code, message)`` of a Graph error body (empty strings when it is not one)."""
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping):
            return str(error.get("code") or ""), str(error.get("message") or "")
    return "", ""


def _matches(code: str, wanted: str | tuple[str, ...] | None) -> bool:
    if wanted is None:
        return True
    options = (wanted,) if isinstance(wanted, str) else wanted
    return code.lower() in {o.lower() for o in options}


def classify_parts(status: int, headers: Mapping[str, str], body: Any) -> ErrorResolution:
    """Classify a status, its headers and its (parsed) JSON body."""
    if 200 <= status < 300:
        return ErrorResolution(Action.SUCCESS)
    code, message = error_code(body)
    lowered = {k.lower(): v for k, v in headers.items()}
    retry_after = parse_retry_after(lowered.get("retry-after"))
    for row_status, row_code, action, who, text, res_code in TABLE:
        if row_status is not None and row_status != status:
            continue
        if not _matches(code, row_code):
            continue
        detail = f" [{code}: {message[:200]}]" if code or message else ""
        wait = retry_after if action in (Action.RATE_LIMITED, Action.RETRY) else None
        return ErrorResolution(action, who, f"{text} (HTTP {status}){detail}", wait, res_code or str(status))
    raise AssertionError("the last table row matches everything")  # pragma: no cover


def classify(response: httpx.Response) -> ErrorResolution:
    """Classify an httpx response from Graph."""
    if 200 <= response.status_code < 300:
        return ErrorResolution(Action.SUCCESS)
    try:
        body = json.loads(response.content) if response.content else None
    except ValueError:
        body = None
    return classify_parts(response.status_code, response.headers, body)


class RoomDeclined(DeliveryError):
    """The room answered the booking with a decline; the reason says why (busy, policy, location)."""

    def __init__(self, room: str, reason: str, *, event_id: str | None = None) -> None:
        super().__init__(f"room {room} declined the booking: {reason}", retryable=False,
                         hint="pick another room or time, or ask the room's delegate")
        self.room = room
        self.reason = reason
        self.event_id = event_id
