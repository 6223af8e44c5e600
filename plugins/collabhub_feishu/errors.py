"""Feishu response classification: ONE table from vendor code to what to do and who must act.

Feishu reports most errors inside the JSON body as ``{"code": N, "msg": "..."}``, often with
HTTP 200 (older APIs) and sometimes with 4xx/5xx (newer ones); the body code decides, the HTTP
status only breaks ties for codes the table does not know. Custom-bot webhooks answer either
``{"code", "msg"}`` or the legacy ``{"StatusCode", "StatusMessage"}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from collabhub.errors import Action, ErrorResolution, Who
from collabhub.http.retry import default_classify, parse_retry_after

__all__ = [
    "CODES",
    "RATE_LIMIT_CODES",
    "SYNC_TOKEN_INVALID_CODES",
    "TOKEN_INVALID_CODES",
    "body_code",
    "classify",
    "missing_scopes",
    "skip_codes",
]

R, RL, RT, F, S = Action.RETRY, Action.RATE_LIMITED, Action.REFRESH_TOKEN, Action.FAIL, Action.SKIP
T, C, X = Who.TRANSIENT, Who.CONFIG, Who.REMOTE

# code: (action, who, what it means and what to do)
CODES: dict[int, tuple[Action, Who, str]] = {
    # -- platform-wide ---------------------------------------------------------------------
    99991400: (RL, T, "Feishu rate limit reached (99991400); waiting for x-ogw-ratelimit-reset"),
    99991661: (RT, C, "no tenant_access_token on the request (99991661)"),
    99991663: (RT, C, "tenant_access_token invalid or expired (99991663); fetching a new one"),
    99991664: (RT, C, "app_access_token invalid (99991664); fetching a new one"),
    99991671: (RT, C, "access token invalid (99991671); fetching a new one"),
    99991668: (F, C, "a user_access_token was rejected (99991668): collabhub uses the tenant token only"),
    99991672: (F, C, "the app lacks a permission scope (99991672)"),
    99991679: (F, C, "the user has not granted a scope the app needs (99991679)"),
    99991401: (F, C, "the caller's IP is not on the app's allow list (99991401): add the hub's egress IP"),
    99991402: (F, C, "the request is missing a required parameter (99991402)"),
    # -- tenant_access_token endpoint -----------------------------------------------------
    10003: (F, C, "app_id is invalid (10003): check app_id in the connector settings"),
    10014: (F, C, "app_secret is invalid (10014): check app_secret in the connector settings"),
    10012: (F, C, "the app is not installed in this tenant or is disabled (10012)"),
    # -- contact v3 -----------------------------------------------------------------------
    40004: (F, C, "the department is outside the app's contact range (40004): widen it in the admin console"),
    41050: (F, C, "the user is outside the app's contact range (41050): widen it in the admin console"),
    40001: (F, X, "contact: invalid parameter (40001)"),
    # -- calendar v4 ----------------------------------------------------------------------
    190002: (F, X, "calendar: invalid parameters (190002)"),
    190003: (R, T, "calendar: internal error (190003)"),
    190004: (F, C, "calendar: the calendar id does not exist or is not visible to the app (190004)"),
    190005: (S, X, "calendar: the event does not exist (190005)"),
    190006: (F, C, "calendar: the app has no access to this calendar (190006): share it with the bot"),
    190010: (R, T, "calendar: service busy (190010)"),
    # -- vc rooms -------------------------------------------------------------------------
    121001: (R, T, "vc: internal error (121001)"),
    121004: (S, X, "vc: the room or level does not exist (121004)"),
    121005: (F, C, "vc: no permission for this room data (121005)"),
    # -- task v2 --------------------------------------------------------------------------
    1470400: (F, X, "task: invalid request (1470400)"),
    1470403: (F, C, "task: the app cannot access this task or tasklist (1470403): add the app as a member"),
    1470404: (S, X, "task: the task or tasklist does not exist (1470404)"),
    1470500: (R, T, "task: internal error (1470500)"),
    # -- approval v4 ----------------------------------------------------------------------
    1390001: (F, X, "approval: invalid parameter (1390001)"),
    1390002: (F, C, "approval: the approval_code does not exist (1390002): fix the approvals setting"),
    1390003: (S, X, "approval: the instance does not exist (1390003)"),
    1390007: (S, X, "approval: already subscribed (1390007)"),
    1395001: (R, T, "approval: service busy (1395001)"),
    # -- im v1 ----------------------------------------------------------------------------
    230001: (F, X, "im: invalid message (230001): check the card content"),
    230002: (F, C, "im: the bot is not in this chat (230002): add the bot to the group"),
    230006: (F, C, "im: the app has no bot capability (230006): enable it in the developer console"),
    230011: (S, X, "im: the message was recalled (230011)"),
    230013: (F, C, "im: the bot cannot message this user (230013): check the app's availability range"),
    230020: (RL, T, "im: this chat's send rate limit was hit (230020)"),
    230099: (F, X, "im: the card could not be rendered (230099)"),
    # -- custom bot webhook -----------------------------------------------------------------
    19021: (F, C, "custom bot: signature or timestamp rejected (19021): check the bot secret and the clock"),
    19022: (F, C, "custom bot: IP not allowed (19022): check the bot's IP allow list"),
    19024: (F, C, "custom bot: the message lacks the required keyword (19024)"),
    9499: (F, X, "custom bot: bad request (9499)"),
    11232: (RL, T, "custom bot: rate limited (11232); the limit is 100/min and 5/s"),
}

TOKEN_INVALID_CODES = frozenset(c for c, (a, _, _) in CODES.items() if a is Action.REFRESH_TOKEN)
RATE_LIMIT_CODES = frozenset(c for c, (a, _, _) in CODES.items() if a is Action.RATE_LIMITED)
# An expired or foreign sync_token: Feishu answers "invalid parameters"; the events stream then
# reloads that calendar in full instead of failing.
SYNC_TOKEN_INVALID_CODES = frozenset({190002})

_DEFAULT_RATE_LIMIT_WAIT = 1.0
_SCOPE_IN_TEXT = re.compile(r"\b([a-z_]+:[a-z_.]+(?::[a-z_.]+)?)\b")


def _json(response: httpx.Response) -> Mapping[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, Mapping) else None


def body_code(body: Mapping[str, Any] | None) -> int | None:
    """The vendor code of a body (``code`` or the bot webhook's legacy ``StatusCode``)."""
    if body is None:
        return None
    raw = body.get("code", body.get("StatusCode"))
    try:
        return int(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None


def missing_scopes(body: Mapping[str, Any]) -> list[str]:
    """The scopes a 99991672 answer names (``error.permission_violations`` or the message text)."""
    error = body.get("error") if isinstance(body.get("error"), Mapping) else {}
    scopes = [str(v.get("subject")) for v in error.get("permission_violations") or []
              if isinstance(v, Mapping) and v.get("subject")]
    if not scopes:
        scopes = _SCOPE_IN_TEXT.findall(str(body.get("msg", "")))
    return sorted(set(scopes))


def _wait(response: httpx.Response) -> float:
    for header in ("x-ogw-ratelimit-reset", "retry-after"):
        wait = parse_retry_after(response.headers.get(header))
        if wait is not None:
            return wait
    return _DEFAULT_RATE_LIMIT_WAIT


def classify(response: httpx.Response) -> ErrorResolution:
    """Classify one Feishu response by its body code first, its HTTP status second."""
    body = _json(response)
    code = body_code(body)
    if code is None:
        return default_classify(response)
    if code == 0 and response.status_code < 400:
        return ErrorResolution(Action.SUCCESS)
    assert body is not None
    msg = str(body.get("msg") or body.get("StatusMessage") or "")
    log_id = (body.get("error") or {}).get("log_id") if isinstance(body.get("error"), Mapping) else None
    detail = f": {msg}" if msg else ""
    trace = f" [log_id {log_id}]" if log_id else ""
    known = CODES.get(code)
    if known is None:
        if response.status_code >= 500:
            return ErrorResolution(Action.RETRY, Who.TRANSIENT, f"Feishu error {code}{detail}{trace}",
                                   parse_retry_after(response.headers.get("retry-after")), str(code))
        return ErrorResolution(Action.FAIL, Who.REMOTE, f"Feishu error {code}{detail}{trace}", code=str(code))
    action, who, meaning = known
    message = f"{meaning}{detail}{trace}"
    if code == 99991672:
        scopes = missing_scopes(body)
        named = ", ".join(scopes) if scopes else "see the message"
        message = (f"the Feishu app lacks the permission scope(s) {named} (99991672): grant them in the developer "
                   f"console and publish a new app version{trace}")
    if action is Action.RATE_LIMITED:
        return ErrorResolution(action, who, message, _wait(response), str(code))
    if action is Action.REFRESH_TOKEN:
        return ErrorResolution(action, who, message, code="401")
    if action is Action.FAIL and who is Who.CONFIG:
        return ErrorResolution(action, who, message, code="403")
    return ErrorResolution(action, who, message, code=str(code))


def skip_codes(*codes: int) -> Callable[[httpx.Response], ErrorResolution]:
    """A classifier that hands these vendor codes back to the caller instead of raising."""

    def classify_or_skip(response: httpx.Response) -> ErrorResolution:
        resolution = classify(response)
        if not resolution.ok and body_code(_json(response)) in codes:
            return ErrorResolution(Action.SKIP, resolution.who, resolution.message, code=resolution.code)
        return resolution

    return classify_or_skip
