"""How Jira answers are classified: one table from (status, reason, body text) to an ``ErrorResolution``.

The first matching row wins. ``Retry-After`` (seconds) and ``X-RateLimit-Reset`` (ISO 8601) give the
wait. A points-quota 429 whose reset lies further away than the connector may wait becomes a
``quota`` failure (``QuotaExhaustedError``: the run stops and the cursor stays where it was).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from collabhub.errors import Action, ErrorResolution, Who
from collabhub.http import parse_retry_after

__all__ = ["RULES", "Rule", "classify", "error_text"]


@dataclass(frozen=True)
class Rule:
    status: int
    action: Action
    who: Who
    message: str
    reason: str | None = None  # RateLimit-Reason header value (prefix match)
    body: str | None = None  # text the error body contains
    code: str | None = None


RULES: tuple[Rule, ...] = (
    Rule(429, Action.RATE_LIMITED, Who.TRANSIENT, "Jira per-issue write limit (20 writes/2 s, 100/30 s)",
         reason="jira-per-issue-on-write", code="429-per-issue"),
    Rule(429, Action.RATE_LIMITED, Who.TRANSIENT, "Jira points quota used up until the next hour",
         reason="jira-quota", code="429-quota"),
    Rule(429, Action.RATE_LIMITED, Who.TRANSIENT, "Jira burst rate limit", code="429"),
    Rule(503, Action.RETRY, Who.TRANSIENT, "Jira is unavailable (503)", code="503"),
    Rule(500, Action.FAIL, Who.CONFIG, "the search went past the Data Center result window; narrow the JQL "
         "or lower page_size", body="Search limit exceeded", code="result-window"),
    Rule(500, Action.RETRY, Who.TRANSIENT, "Jira server error (500)", code="500"),
    Rule(502, Action.RETRY, Who.TRANSIENT, "bad gateway in front of Jira (502)", code="502"),
    Rule(504, Action.RETRY, Who.TRANSIENT, "gateway timeout in front of Jira (504)", code="504"),
    Rule(409, Action.RETRY, Who.TRANSIENT, "Jira reported a conflicting concurrent change (409)", code="409"),
    Rule(401, Action.FAIL, Who.CONFIG, "Jira rejected the credentials: check email + api_token (Cloud), "
         "personal_access_token (Data Center) or oauth_token", code="401"),
    Rule(403, Action.FAIL, Who.CONFIG, "the Jira account lacks a permission this call needs "
         "(browse, comment, edit, transition or create)", code="403"),
    Rule(410, Action.FAIL, Who.CONFIG, "this Jira API was removed; on Cloud the connector must use "
         "/rest/api/3/search/jql: check that deployment is 'cloud'", code="410"),
    Rule(400, Action.FAIL, Who.CONFIG, "Jira rejected the request (check projects and jql)", code="400"),
    Rule(404, Action.FAIL, Who.REMOTE, "not found in Jira (deleted, moved, or not visible to the account)",
         code="404"),
)


def error_text(response: httpx.Response) -> str:
    """Jira's ``errorMessages`` and ``errors`` joined, or the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if not isinstance(body, dict):
        return response.text[:300]
    parts = [str(m) for m in body.get("errorMessages") or []]
    parts += [f"{k}: {v}" for k, v in (body.get("errors") or {}).items()]
    return "; ".join(parts) or response.text[:300]


def _wait(response: httpx.Response) -> float | None:
    wait = parse_retry_after(response.headers.get("retry-after"))
    if wait is not None:
        return wait
    reset = response.headers.get("x-ratelimit-reset")
    if reset:
        try:
            when = datetime.fromisoformat(reset.replace("Z", "+00:00"))
        except ValueError:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    return None


def classify(response: httpx.Response, *, max_wait: float = 120.0) -> ErrorResolution:
    """The verdict on one Jira response (see the module docstring)."""
    status = response.status_code
    if 200 <= status < 300:
        return ErrorResolution(Action.SUCCESS)
    reason = response.headers.get("ratelimit-reason", "")
    for rule in RULES:
        if rule.status != status:
            continue
        if rule.reason is not None and not reason.startswith(rule.reason):
            continue
        text = error_text(response)
        if rule.body is not None and rule.body not in text:
            continue
        wait = _wait(response)
        message = f"{rule.message}{f' [{reason}]' if reason else ''}: HTTP {status} {text}".strip()
        if rule.code == "429-quota" and wait is not None and wait > max_wait:
            return ErrorResolution(Action.FAIL, Who.REMOTE, message, wait, code="quota")
        return ErrorResolution(rule.action, rule.who, message, wait, rule.code)
    return ErrorResolution(Action.FAIL, Who.REMOTE, f"unexpected Jira answer: HTTP {status} {error_text(response)}",
                           code=str(status))
