"""The event subscription endpoint: challenge, decryption, signature, time window, token, dedup."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from collabhub.connector import ConnectorContext
from collabhub.model import EntityKind
from collabhub.testing.sims.feishu import FeishuSimulator
from collabhub_feishu.connector import FeishuConnector
from collabhub_feishu.webhooks import H_SIGNATURE

from .conftest import FakeSink

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture
def vendor() -> FeishuSimulator:
    """An unstarted simulator: it only builds pushes here."""
    return FeishuSimulator()


def hub(vendor: FeishuSimulator, sink: FakeSink, *, now: datetime = NOW, **settings: object) -> httpx.AsyncClient:
    config = FeishuConnector.Config.model_validate({
        "app_id": vendor.app_id, "app_secret": vendor.app_secret, "encrypt_key": vendor.encrypt_key,
        "verification_token": vendor.verification_token, **settings})
    connector = FeishuConnector("feishu-hub", config, ConnectorContext(clock=lambda: now))
    app = connector.webhook_app(sink)
    assert app is not None
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://hub.example")


def push(vendor: FeishuSimulator, event_type: str, event: dict, *, event_id: str = "ev-1", **options: object):
    return vendor.build_push(vendor.envelope(event_type, event, event_id=event_id),
                             timestamp=int(NOW.timestamp()), **options)


async def test_url_verification_is_answered_without_touching_the_hub(vendor: FeishuSimulator, sink: FakeSink) -> None:
    body, headers = vendor.build_push({"challenge": "ajls384kdjx98XX", "token": vendor.verification_token,
                                       "type": "url_verification"}, sign=False)
    async with hub(vendor, sink) as client:
        answer = await client.post("/", content=body, headers=headers)
    assert answer.status_code == 200 and answer.json() == {"challenge": "ajls384kdjx98XX"}
    assert sink.calls == []


async def test_url_verification_with_a_wrong_token_is_refused(vendor: FeishuSimulator, sink: FakeSink) -> None:
    body, headers = vendor.build_push({"challenge": "c", "token": "forged", "type": "url_verification"}, sign=False)
    async with hub(vendor, sink) as client:
        assert (await client.post("/", content=body, headers=headers)).status_code == 401


async def test_encrypted_event_round_trip_asks_for_a_re_pull(vendor: FeishuSimulator, sink: FakeSink) -> None:
    body, headers = push(vendor, "task.task.updated_v1", {"task_id": "7d3c9b2e-guid", "obj_type": 1})
    assert b"task.task.updated_v1" not in body  # encrypted on the wire
    async with hub(vendor, sink) as client:
        answer = await client.post("/", content=body, headers=headers)
    assert answer.status_code == 200 and answer.json() == {"msg": "success"}
    assert sink.named("first_seen") == [("feishu:feishu-hub", "ev-1")]
    assert sink.named("request_refresh") == [("feishu-hub", EntityKind.TASK, ["7d3c9b2e-guid"])]


async def test_replayed_event_is_acknowledged_and_processed_once(vendor: FeishuSimulator, sink: FakeSink) -> None:
    body, headers = push(vendor, "contact.user.deleted_v3", {"object": {"open_id": "ou_gone"}})
    async with hub(vendor, sink) as client:
        first = await client.post("/", content=body, headers=headers)
        again = await client.post("/", content=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json().get("duplicate") is True
    assert sink.named("mark_deleted") == [("feishu-hub", EntityKind.PERSON, ["ou_gone"])]


async def test_tampered_signature_is_rejected_and_nothing_recorded(vendor: FeishuSimulator, sink: FakeSink) -> None:
    body, headers = push(vendor, "task.task.updated_v1", {"task_id": "x"})
    headers[H_SIGNATURE] = "0" * 64
    async with hub(vendor, sink) as client:
        answer = await client.post("/", content=body, headers=headers)
    assert answer.status_code == 401
    assert sink.calls == []


async def test_tampered_body_is_rejected_and_nothing_recorded(vendor: FeishuSimulator, sink: FakeSink) -> None:
    body, headers = push(vendor, "task.task.updated_v1", {"task_id": "x"})
    tampered = json.dumps({"encrypt": json.loads(body)["encrypt"][:-8] + "AAAAAAA="}).encode()
    async with hub(vendor, sink) as client:
        answer = await client.post("/", content=tampered, headers=headers)
    assert answer.status_code == 401  # the signature covers the raw body
    assert sink.calls == []


async def test_replay_outside_the_time_window_is_rejected(vendor: FeishuSimulator, sink: FakeSink) -> None:
    body, headers = vendor.build_push(vendor.envelope("task.task.updated_v1", {"task_id": "x"}, event_id="old"),
                                      timestamp=int(NOW.timestamp()) - 3600)
    async with hub(vendor, sink) as client:
        answer = await client.post("/", content=body, headers=headers)
    assert answer.status_code == 401 and "old" in answer.json()["msg"]
    assert sink.calls == []


async def test_wrong_verification_token_is_rejected(vendor: FeishuSimulator, sink: FakeSink) -> None:
    body, headers = vendor.build_push(vendor.envelope("task.task.updated_v1", {"task_id": "x"}, token="forged"),
                                      timestamp=int(NOW.timestamp()))
    async with hub(vendor, sink) as client:
        assert (await client.post("/", content=body, headers=headers)).status_code == 401
    assert sink.calls == []


async def test_unsigned_or_plaintext_pushes_are_rejected(vendor: FeishuSimulator, sink: FakeSink) -> None:
    unsigned, headers = push(vendor, "task.task.updated_v1", {"task_id": "x"}, sign=False)
    plain, plain_headers = push(vendor, "task.task.updated_v1", {"task_id": "x"}, encrypt=False)
    async with hub(vendor, sink) as client:
        assert (await client.post("/", content=unsigned, headers=headers)).status_code == 401
        assert (await client.post("/", content=plain, headers=plain_headers)).status_code == 400
    assert sink.calls == []


async def test_official_vector_passes_signature_and_decryption(sink: FakeSink) -> None:
    """F2 + F-A from the reference: signed and encrypted correctly, but it is 'hello world', not an event."""
    vendor = FeishuSimulator(encrypt_key="test key")
    body = b'{"encrypt":"P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk="}'
    headers = {"X-Lark-Request-Timestamp": "1599360473", "X-Lark-Request-Nonce": "nonce1",
               "X-Lark-Signature": "ee8135faf2b7472beb66183fd3bde52c40839d19923d173fb3c273d8bb72e2d9"}
    async with hub(vendor, sink, now=datetime.fromtimestamp(1599360473, UTC)) as client:
        answer = await client.post("/", content=body, headers=headers)
        stale = await client.post("/", content=body, headers={**headers, "X-Lark-Request-Timestamp": "1599360474"})
    assert answer.status_code == 400 and answer.json()["msg"] == "the decrypted push is not JSON"
    assert stale.status_code == 401  # one second off: the signature no longer matches
    assert sink.calls == []


async def test_calendar_change_resyncs_that_calendar_only(vendor: FeishuSimulator, sink: FakeSink) -> None:
    body, headers = push(vendor, "calendar.calendar.event.changed_v4",
                         {"calendar_id": "feishu.cn_x@group.calendar.feishu.cn", "user_id_list": []})
    async with hub(vendor, sink) as client:
        assert (await client.post("/", content=body, headers=headers)).status_code == 200
    assert sink.named("request_resync") == [("feishu-hub", "events", "calendar.calendar.event.changed_v4",
                                             "feishu.cn_x@group.calendar.feishu.cn")]


async def test_v1_approval_event_asks_for_the_instance(vendor: FeishuSimulator, sink: FakeSink) -> None:
    payload = {"uuid": "41b5f371157e3d5341b38b20396e77a3", "token": vendor.verification_token,
               "ts": "1502199207.7171419", "type": "event_callback",
               "event": {"type": "approval_instance", "approval_code": "7C468A54", "instance_code": "81D31358",
                         "status": "APPROVED", "operate_time": "1666079207003"}}
    body, headers = vendor.build_push(payload, timestamp=int(NOW.timestamp()))
    async with hub(vendor, sink) as client:
        assert (await client.post("/", content=body, headers=headers)).status_code == 200
    assert sink.named("request_refresh") == [("feishu-hub", EntityKind.TASK, ["approval:81D31358"])]


async def test_card_actions_are_kept_for_the_rules(vendor: FeishuSimulator, sink: FakeSink) -> None:
    body, headers = push(vendor, "card.action.trigger", {"action": {"value": {"ack": "yes"}}})
    async with hub(vendor, sink) as client:
        assert (await client.post("/", content=body, headers=headers)).status_code == 200
    assert sink.named("record_event") == [("feishu-hub", "card.action.trigger")]


def test_no_endpoint_without_token_or_key(vendor: FeishuSimulator, sink: FakeSink) -> None:
    config = FeishuConnector.Config.model_validate({"app_id": "a", "app_secret": "b"})
    assert FeishuConnector("x", config).webhook_app(sink) is None
