"""The Feishu classification table: codes inside bodies (HTTP 200 included) decide what to do."""

from __future__ import annotations

import httpx
import pytest

from collabhub.errors import Action, Who
from collabhub_feishu.errors import CODES, classify, missing_scopes, skip_codes

REQUEST = httpx.Request("GET", "https://open.feishu.cn/open-apis/calendar/v4/calendars")


def answer(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers, request=REQUEST)


def test_success_only_with_code_zero() -> None:
    assert classify(answer(200, {"code": 0, "msg": "success", "data": {}})).action is Action.SUCCESS


@pytest.mark.parametrize("status", [200, 400, 429])
def test_rate_limit_in_any_status_waits_for_the_reset_header(status: int) -> None:
    verdict = classify(answer(status, {"code": 99991400, "msg": "request trigger frequency limit"},
                              {"x-ogw-ratelimit-limit": "50", "x-ogw-ratelimit-reset": "7"}))
    assert verdict.action is Action.RATE_LIMITED
    assert verdict.who is Who.TRANSIENT
    assert verdict.retry_after == 7


def test_rate_limit_without_header_still_waits_a_little() -> None:
    verdict = classify(answer(200, {"code": 99991400, "msg": "limit"}))
    assert verdict.action is Action.RATE_LIMITED and verdict.retry_after == 1.0


@pytest.mark.parametrize("code", [99991661, 99991663, 99991664, 99991671])
def test_token_errors_ask_for_a_refresh(code: int) -> None:
    verdict = classify(answer(400, {"code": code, "msg": "Invalid access token for authorization."}))
    assert verdict.action is Action.REFRESH_TOKEN
    assert str(code) in verdict.message


def test_missing_scope_is_a_config_error_naming_the_scope() -> None:
    body = {"code": 99991672, "msg": "Access denied. One of the following scopes is required: "
                                     "[calendar:calendar:readonly].",
            "error": {"log_id": "20261127ABC", "permission_violations": [
                {"type": "action_scope_required", "subject": "calendar:calendar:readonly"}]}}
    verdict = classify(answer(400, body))
    assert verdict.action is Action.FAIL and verdict.who is Who.CONFIG
    assert "calendar:calendar:readonly" in verdict.message
    assert "20261127ABC" in verdict.message


def test_scope_names_come_from_the_message_when_violations_are_absent() -> None:
    body = {"code": 99991672, "msg": "Access denied. One of the following scopes is required: "
                                     "[contact:contact.base:readonly, contact:user.base:readonly]."}
    assert missing_scopes(body) == ["contact:contact.base:readonly", "contact:user.base:readonly"]


def test_unknown_code_in_a_5xx_is_retried_and_in_a_200_fails() -> None:
    assert classify(answer(503, {"code": 1500, "msg": "internal error"})).action is Action.RETRY
    verdict = classify(answer(200, {"code": 4242, "msg": "strange"}))
    assert verdict.action is Action.FAIL and "4242" in verdict.message and "strange" in verdict.message


def test_non_json_answers_fall_back_to_http_status() -> None:
    gateway = httpx.Response(502, text="<html>bad gateway</html>", request=REQUEST)
    assert classify(gateway).action is Action.RETRY
    limited = httpx.Response(429, headers={"Retry-After": "2"}, json={}, request=REQUEST)
    assert classify(limited).action is Action.RATE_LIMITED and classify(limited).retry_after == 2


def test_custom_bot_legacy_and_current_bodies() -> None:
    assert classify(answer(200, {"StatusCode": 0, "StatusMessage": "success"})).action is Action.SUCCESS
    signed_wrong = classify(answer(200, {"code": 19021, "msg": "sign match fail"}))
    assert signed_wrong.action is Action.FAIL and signed_wrong.who is Who.CONFIG
    assert classify(answer(200, {"code": 11232, "msg": "frequency limited"})).action is Action.RATE_LIMITED


def test_chat_send_limit_is_a_rate_limit() -> None:
    assert classify(answer(400, {"code": 230020, "msg": "rate limit"})).action is Action.RATE_LIMITED


def test_skip_codes_hands_chosen_codes_back() -> None:
    gone = answer(404, {"code": 1470404, "msg": "task not found"})
    assert skip_codes(1470404)(gone).action is Action.SKIP
    other = answer(400, {"code": 1470400, "msg": "bad"})
    assert skip_codes(1470404)(other).action is Action.FAIL


def test_every_table_row_has_a_message_saying_what_to_do() -> None:
    for code, (action, who, message) in CODES.items():
        assert str(code) in message, code
        assert isinstance(action, Action) and isinstance(who, Who)
