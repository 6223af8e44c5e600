"""HTTP callbacks (official vectors, tampering, replays) and Stream mode frames, both feeding one handler."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx

from collabhub.connector import ConnectorContext
from collabhub.testing.sims.dingtalk import APPROVAL_ROOM, DingTalkSimulator
from collabhub_dingtalk.connector import DingTalkConnector
from collabhub_dingtalk.crypto import CallbackCrypto
from collabhub_dingtalk.stream_mode import build_stream_client, frame

from .conftest import RecordingSink, make_connector
from .test_crypto import DA, DB


def _vector_connector(vector: dict[str, str], clock_ms: int, owner: str | None = None) -> DingTalkConnector:
    config = DingTalkConnector.Config.model_validate({
        "app_key": "appkey", "app_secret": "s", "operator_union_id": "op",
        "callback": {"token": vector["token"], "aes_key": vector["aes_key"], "owner_key": owner or vector["owner"]}})
    frozen = datetime.fromtimestamp(clock_ms / 1000, UTC)
    return DingTalkConnector("dt", config, ConnectorContext(clock=lambda: frozen))


async def _post(connector: DingTalkConnector, sink: RecordingSink, query: dict[str, str], body: bytes,
                ) -> httpx.Response:
    app = connector.webhook_app(sink)
    assert app is not None
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub") as client:
        return await client.post("/hooks/dingtalk", params=query, content=body,
                                 headers={"content-type": "application/json"})


def _da_request(**changes: str) -> tuple[dict[str, str], bytes]:
    values = {**DA, **changes}
    query = {"msg_signature": values["signature"], "timestamp": values["timestamp"], "nonce": values["nonce"]}
    return query, json.dumps({"encrypt": values["encrypt"]}).encode()


async def test_official_check_url_vector_is_accepted_with_an_encrypted_success() -> None:
    connector = _vector_connector(DA, int(DA["timestamp"]))
    sink = RecordingSink()
    response = await _post(connector, sink, *_da_request())
    assert response.status_code == 200
    reply = response.json()
    crypto = CallbackCrypto(DA["token"], DA["aes_key"], DA["owner"])
    assert crypto.open(reply["msg_signature"], reply["timeStamp"], reply["nonce"], reply["encrypt"]) == "success"
    assert sink.calls == [] and sink.seen == set()


async def test_tampered_or_foreign_callbacks_are_rejected_recording_nothing() -> None:
    sink = RecordingSink()
    connector = _vector_connector(DA, int(DA["timestamp"]))
    tampered_body = DA["encrypt"][:10] + ("A" if DA["encrypt"][10] != "A" else "B") + DA["encrypt"][11:]
    cases = [
        _da_request(encrypt=tampered_body),
        _da_request(signature="0" * 40),
        _da_request(nonce="WL4PK6yB"),
        _da_request(timestamp="1608001896815"),
    ]
    for query, body in cases:
        assert (await _post(connector, sink, query, body)).status_code == 401
    no_signature = {k: v for k, v in _da_request()[0].items() if k != "msg_signature"}
    assert (await _post(connector, sink, no_signature, _da_request()[1])).status_code == 400
    foreign = _vector_connector(DA, int(DA["timestamp"]), owner="dingSOMEONEELSE")
    response = await _post(foreign, sink, *_da_request())
    assert response.status_code == 400 and "owner key" in response.json()["error"]
    assert sink.calls == [] and sink.seen == set()


async def test_an_old_timestamp_is_rejected_unless_the_clock_says_otherwise() -> None:
    sink = RecordingSink()
    real_clock = DingTalkConnector("dt", _vector_connector(DA, 0).config, ConnectorContext())
    response = await _post(real_clock, sink, *_da_request())
    assert response.status_code == 401 and "away from now" in response.json()["error"]
    assert sink.calls == []


async def test_second_based_vector_passes_verification_but_is_no_event() -> None:
    # D-B is DingTalk's sample *reply* ("success"): signature and decryption hold, it is not an event.
    connector = _vector_connector(DB, int(DB["timestamp"]) * 1000)
    sink = RecordingSink()
    query = {"signature": DB["signature"], "timeStamp": DB["timestamp"], "nonce": DB["nonce"]}
    response = await _post(connector, sink, query, json.dumps({"encrypt": DB["encrypt"]}).encode())
    assert response.status_code == 400 and "not JSON" in response.json()["error"]
    assert sink.calls == []


async def test_simulated_events_become_refreshes_once(sim: DingTalkSimulator) -> None:
    connector = make_connector(sim)
    sink = RecordingSink()
    event_id = sorted(sim.state.events)[0]
    owner = sim.state.events[event_id]["organizer"]["id"]
    approval = next(i for i, a in sim.state.approvals.items() if a["processCode"] == APPROVAL_ROOM)
    payloads: list[dict[str, Any]] = [
        {"EventType": "calendar_event_change", "eventId": "ev-1", "calendarEventId": event_id,
         "unionIdList": [owner], "changeType": "update"},
        {"EventType": "calendar_event_change", "eventId": "ev-1", "calendarEventId": event_id,
         "unionIdList": [owner], "changeType": "update"},  # a re-push of the same event
        {"EventType": "bpms_instance_change", "eventId": "ev-2", "processInstanceId": approval,
         "processCode": APPROVAL_ROOM, "type": "finish", "result": "agree"},
        {"EventType": "user_modify_org", "eventId": "ev-3", "UserId": ["dt01"], "CorpId": sim.corp_id},
        {"EventType": "user_leave_org", "eventId": "ev-4", "UserId": ["dt02"]},
        {"EventType": "todo_task_delete", "eventId": "ev-5", "taskId": "t9"},
        {"EventType": "chat_update_title", "eventId": "ev-6", "ChatId": "c1"},
    ]
    for payload in payloads:
        query, body = sim.callback(payload)
        response = await _post(connector, sink, query, body)
        assert response.status_code == 200
    assert sink.calls == [
        ("refresh", ("dt", "meeting", [f"event:{owner}/{event_id}"])),
        ("refresh", ("dt", "booking", [f"approval_booking:{APPROVAL_ROOM}/{approval}"])),
        ("refresh", ("dt", "person", ["user:dt01"])),
        ("resync", ("dt", "users")),
        ("deleted", ("dt", "task", ["t9"])),
        ("event", ("dt", "chat_update_title")),
    ]


async def test_callback_for_another_app_is_rejected(sim: DingTalkSimulator) -> None:
    sink = RecordingSink()
    query, body = sim.callback({"EventType": "user_add_org", "eventId": "x"}, owner_key="dingOTHERAPP")
    response = await _post(make_connector(sim), sink, query, body)
    assert response.status_code == 400 and sink.calls == []


class FakeWebSocket:
    """Collects the ACKs the stream client sends."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, text: str) -> None:
        self.sent.append(json.loads(text))


async def test_stream_mode_frames_feed_the_same_handling(sim: DingTalkSimulator) -> None:
    connector = make_connector(sim, events="stream")
    sink = RecordingSink()
    client = build_stream_client(connector, sink)
    socket = FakeWebSocket()
    client.websocket = socket
    event_id = sorted(sim.state.events)[0]
    change = frame("calendar_event_change", "evt-100",
                   {"calendarEventId": event_id, "calendarId": "primary", "unionIdList": ["un1"],
                    "changeType": "update"}, born_ms=1764000000000)
    await client.route_message(change)
    await client.route_message(change)  # redelivered by the gateway
    await client.route_message(frame("todo_task_update", "evt-101", {"taskId": "t1", "unionId": "un2"}))
    await client.route_message({"specVersion": "1.0", "type": "SYSTEM",
                                "headers": {"topic": "ping", "messageId": "sys-1", "contentType": "application/json"},
                                "data": json.dumps({"opaque": "o"})})
    assert sink.calls == [("refresh", ("dt", "meeting", [f"event:un1/{event_id}"])),
                          ("refresh", ("dt", "task", ["todo:un2/t1"]))]
    assert [a["code"] for a in socket.sent] == [200, 200, 200, 200]
    assert [a["headers"]["messageId"] for a in socket.sent] == ["msg-evt-100", "msg-evt-100", "msg-evt-101", "sys-1"]
    assert connector.webhook_app(sink) is None  # Stream mode has no HTTP endpoint


async def test_stream_mode_runs_in_the_background_and_stops_on_close(sim: DingTalkSimulator) -> None:
    import asyncio

    connector = make_connector(sim, events="stream")
    await connector.maintain(RecordingSink())
    for _ in range(100):  # the package's client asks the gateway for a connection
        if sim.count("/v1.0/gateway/connections/open"):
            break
        await asyncio.sleep(0.02)
    assert sim.count("/v1.0/gateway/connections/open", method="POST") >= 1
    task = connector._stream_task
    assert task is not None and not task.done()
    await connector.aclose()
    assert task.done()
