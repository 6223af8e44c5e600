"""DingTalk answers -> ``ErrorResolution``: one table for the legacy ``oapi`` codes, one for the new API.

DingTalk reports errors in three shapes, all handled by :func:`classify`:

* legacy ``oapi.dingtalk.com``: HTTP 200 with ``{"errcode": <int>, "errmsg": ...}`` (0 = success);
* new ``api.dingtalk.com``: HTTP 4xx/5xx with ``{"code": "<string>", "message": ..., "requestid": ...}``;
* the IP ban (10,000 calls per 20 s per egress IP): ``{"status": 1111, "wait": <n>, ...}`` (or HTML).

Anything else falls back to the shared HTTP-status classification (429 + Retry-After, 5xx, 401...).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from collabhub.errors import Action, ErrorResolution, Who
from collabhub.http.retry import default_classify

__all__ = ["LEGACY", "NEW_API", "Classifier", "classify", "error_body", "not_found_is_skip"]

Classifier = Callable[[httpx.Response], ErrorResolution]

QPS_WAIT = 1.0  # "sleep 1 s and retry" (how-to-process-api-throttling-on-the-dingtalk-server)
QPM_WAIT = 60.0
ROBOT_THROTTLE_WAIT = 600.0  # a robot over 20 messages/min is throttled for 10 minutes

_QUOTA = ("the organisation's monthly DingTalk API call quota is used up (free plans: 5,000 calls/month); "
          "this run stops and keeps its cursor, and resumes from there once the quota resets on the 1st "
          "or the plan is upgraded")


def _r(action: Action, who: Who, message: str, retry_after: float | None = None, code: str | None = None,
       ) -> ErrorResolution:
    return ErrorResolution(action, who, message, retry_after, code)


# Legacy oapi errcode -> what to do. Sources: server-api-error-codes-1, how-to-process-api-throttling,
# call-frequency-limit, custom-robots-send-group-messages.
LEGACY: dict[int, ErrorResolution] = {
    -1: _r(Action.RETRY, Who.TRANSIENT, "DingTalk is busy (errcode -1)", None, "-1"),
    88: _r(Action.FAIL, Who.REMOTE, "DingTalk auth exception (errcode 88)", None, "88"),
    90002: _r(Action.RATE_LIMITED, Who.TRANSIENT, "per-API QPS limit for all apps (errcode 90002)", QPS_WAIT, "90002"),
    90005: _r(Action.RATE_LIMITED, Who.TRANSIENT, "per-API calls-per-minute limit (errcode 90005)", QPM_WAIT, "90005"),
    90006: _r(Action.RATE_LIMITED, Who.TRANSIENT, "app calls-per-minute limit (errcode 90006)", QPM_WAIT, "90006"),
    90018: _r(Action.RATE_LIMITED, Who.TRANSIENT, "app QPS limit for this API (errcode 90018)", QPS_WAIT, "90018"),
    90020: _r(Action.FAIL, Who.CONFIG, _QUOTA + " (errcode 90020)", None, "quota"),
    40014: _r(Action.REFRESH_TOKEN, Who.TRANSIENT, "access_token invalid (errcode 40014)", None, "40014"),
    42001: _r(Action.REFRESH_TOKEN, Who.TRANSIENT, "access_token expired (errcode 42001)", None, "42001"),
    40001: _r(Action.FAIL, Who.CONFIG, "appkey/appsecret rejected (errcode 40001): check app_key and app_secret",
              None, "401"),
    40089: _r(Action.FAIL, Who.CONFIG, "invalid appkey or appsecret (errcode 40089)", None, "401"),
    60011: _r(Action.FAIL, Who.CONFIG, "the app lacks a permission for this API (errcode 60011): grant it in the "
              "DingTalk developer console", None, "403"),
    60020: _r(Action.FAIL, Who.CONFIG, "this server's IP is not in the app's allow-list (errcode 60020)", None, "403"),
    60121: _r(Action.SKIP, Who.NOBODY, "not found (errcode 60121)", None, "404"),
    60003: _r(Action.SKIP, Who.NOBODY, "department not found (errcode 60003)", None, "404"),
    410100: _r(Action.RATE_LIMITED, Who.TRANSIENT, "robot over 20 messages per minute: throttled for 10 minutes "
               "(errcode 410100)", ROBOT_THROTTLE_WAIT, "410100"),
    310000: _r(Action.FAIL, Who.CONFIG, "robot security check failed (keyword, timestamp, sign or IP; errcode 310000)",
               None, "310000"),
    400101: _r(Action.FAIL, Who.CONFIG, "robot access_token does not exist (errcode 400101)", None, "400101"),
    400102: _r(Action.FAIL, Who.CONFIG, "robot is disabled (errcode 400102)", None, "400102"),
}

# New-API "code" -> what to do. Codes compare case-insensitively.
NEW_API: dict[str, ErrorResolution] = {k.lower(): v for k, v in {
    "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi": _r(
        Action.RATE_LIMITED, Who.TRANSIENT, "app QPS limit for this API", QPS_WAIT, "90018"),
    "Forbidden.AccessDenied.QpmLimitForAppkeyAndApi": _r(
        Action.RATE_LIMITED, Who.TRANSIENT, "app calls-per-minute limit for this API", QPM_WAIT, "90006"),
    "Forbidden.AccessDenied.QpsLimitForApi": _r(
        Action.RATE_LIMITED, Who.TRANSIENT, "per-API QPS limit for all apps", QPS_WAIT, "90002"),
    "Forbidden.AccessDenied.ApiCountLimitForOrg": _r(Action.FAIL, Who.CONFIG, _QUOTA, None, "quota"),
    "InvalidAuthentication": _r(Action.REFRESH_TOKEN, Who.TRANSIENT, "access token rejected", None, "401"),
    "invalidClientIdOrSecret": _r(
        Action.FAIL, Who.CONFIG, "app_key/app_secret rejected by the token endpoint", None, "401"),
    "Forbidden.AccessDenied.AccessTokenPermissionDenied": _r(
        Action.FAIL, Who.CONFIG, "the app lacks a permission for this API: grant it in the DingTalk developer "
        "console", None, "403"),
    "Forbidden.AccessDenied.IpNotInWhiteList": _r(
        Action.FAIL, Who.CONFIG, "this server's IP is not in the app's allow-list", None, "403"),
    "ServiceUnavailable": _r(Action.RETRY, Who.TRANSIENT, "DingTalk service unavailable", None, "503"),
    "SystemBusy": _r(Action.RETRY, Who.TRANSIENT, "DingTalk is busy", None, "503"),
}.items()}


def error_body(response: httpx.Response) -> Mapping[str, Any] | None:
    """The JSON object of a response, or None when the body is not a JSON object."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, Mapping) else None


def _with_detail(resolution: ErrorResolution, detail: str) -> ErrorResolution:
    return ErrorResolution(resolution.action, resolution.who, f"{resolution.message}: {detail}" if detail else
                           resolution.message, resolution.retry_after, resolution.code)


def _ip_ban(body: Mapping[str, Any]) -> ErrorResolution:
    wait = body.get("wait")
    seconds = float(wait) if isinstance(wait, int | float) and wait >= 0 else 5.0
    return _r(Action.RATE_LIMITED, Who.TRANSIENT,
              "DingTalk banned this egress IP for calling too often (over 10,000 calls per 20 s)", seconds, "1111")


def classify(response: httpx.Response) -> ErrorResolution:
    """Classify any DingTalk response (see the module docstring)."""
    body = error_body(response)
    if body is not None and body.get("status") == 1111:
        return _ip_ban(body)
    if response.status_code == 200 and body is not None:
        errcode = body.get("errcode")
        if errcode in (None, 0, "0"):
            return ErrorResolution(Action.SUCCESS)
        try:
            code = int(errcode)
        except (TypeError, ValueError):
            code = None
        detail = str(body.get("errmsg") or "")
        if code == 88 and body.get("sub_code"):
            sub = str(body.get("sub_code"))
            inner = LEGACY.get(int(sub)) if sub.lstrip("-").isdigit() else None
            if inner is not None:
                return _with_detail(inner, detail)
        known = LEGACY.get(code) if code is not None else None
        if known is not None:
            return _with_detail(known, detail)
        return _r(Action.FAIL, Who.REMOTE, f"DingTalk error {errcode}: {detail}", None, str(errcode))
    if 200 <= response.status_code < 300:
        return ErrorResolution(Action.SUCCESS)
    if response.headers.get("content-type", "").startswith("text/html") and response.status_code in (403, 503):
        return _ip_ban({})
    if body is not None and isinstance(body.get("code"), str):
        known = NEW_API.get(body["code"].lower())
        if known is not None:
            return _with_detail(known, str(body.get("message") or ""))
        if response.status_code < 500 and response.status_code not in (401, 408, 429):
            return _r(Action.FAIL, Who.REMOTE,
                      f"DingTalk HTTP {response.status_code} {body['code']}: {body.get('message') or ''}", None,
                      str(response.status_code))
    return default_classify(response)


def not_found_is_skip(inner: Classifier = classify) -> Classifier:
    """A classifier for look-ups: "not found" answers come back to the caller instead of raising."""

    def wrapped(response: httpx.Response) -> ErrorResolution:
        if response.status_code == 404:
            return ErrorResolution(Action.SKIP, Who.NOBODY, "not found", code="404")
        body = error_body(response) or {}
        code = str(body.get("code") or "").lower()
        if response.status_code == 400 and ("notfound" in code or "notexist" in code or "not.exist" in code):
            return ErrorResolution(Action.SKIP, Who.NOBODY, "not found", code="404")
        return inner(response)

    return wrapped
