"""The Graph classification table: statuses and error codes -> what to do and who must act."""

from __future__ import annotations

import httpx
import pytest

from collabhub.errors import Action, Who
from collabhub_m365.errors import MAILBOX, NOT_FOUND, RESYNC, classify, classify_parts

REQUEST = httpx.Request("GET", "https://graph.microsoft.com/v1.0/users/a@contoso.com/calendarView/delta")


def graph(status: int, code: str = "", message: str = "", headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"error": {"code": code, "message": message,
                      "innerError": {"date": "2026-11-10T08:00:00", "request-id": "r", "client-request-id": "c"}}}
    return httpx.Response(status, json=body, headers=headers or {}, request=REQUEST)


def test_success() -> None:
    assert classify(httpx.Response(200, json={"value": []}, request=REQUEST)).ok


def test_throttled_mailbox_concurrency_waits_retry_after() -> None:
    verdict = classify(graph(429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.",
                             {"Retry-After": "3"}))
    assert verdict.action is Action.RATE_LIMITED and verdict.who is Who.TRANSIENT
    assert verdict.retry_after == 3
    assert "MailboxConcurrency" in verdict.message


def test_503_retries_after_retry_after() -> None:
    verdict = classify(graph(503, "ServiceNotAvailable", headers={"Retry-After": "7"}))
    assert verdict.action is Action.RETRY and verdict.retry_after == 7


@pytest.mark.parametrize(("status", "code"), [(410, ""), (410, "syncStateNotFound"), (400, "syncStateNotFound"),
                                              (400, "SyncStateNotFound"), (400, "syncStateInvalid"),
                                              (404, "resyncRequired")])
def test_expired_delta_state_means_resync(status: int, code: str) -> None:
    verdict = classify(graph(status, code))
    assert verdict.action is Action.SKIP and verdict.code == RESYNC


def test_unknown_mailbox_is_a_config_problem() -> None:
    verdict = classify(graph(404, "ErrorInvalidUser", "The requested user 'x@contoso.com' is invalid."))
    assert verdict.action is Action.FAIL and verdict.who is Who.CONFIG and verdict.code == MAILBOX
    assert "mailboxes" in verdict.message


def test_missing_item_is_skipped() -> None:
    verdict = classify(graph(404, "ErrorItemNotFound", "The specified object was not found in the store."))
    assert verdict.action is Action.SKIP and verdict.code == NOT_FOUND


def test_expired_token_refreshes_and_access_denied_names_permissions() -> None:
    assert classify(graph(401, "InvalidAuthenticationToken")).action is Action.REFRESH_TOKEN
    denied = classify(graph(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."))
    assert denied.action is Action.FAIL and denied.who is Who.CONFIG
    assert "Calendars.ReadWrite" in denied.message and "Place.Read.All" in denied.message


def test_batch_inner_answers_use_the_same_table() -> None:
    verdict = classify_parts(429, {"Retry-After": "2"}, {"error": {"code": "ApplicationThrottled", "message": "x"}})
    assert verdict.action is Action.RATE_LIMITED and verdict.retry_after == 2
    assert classify_parts(424, {}, None).action is Action.FAIL


def test_non_json_error_body_is_still_classified() -> None:
    verdict = classify(httpx.Response(502, text="<html>Bad gateway</html>", request=REQUEST))
    assert verdict.action is Action.RETRY
