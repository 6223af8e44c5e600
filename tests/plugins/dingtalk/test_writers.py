"""Writers against the simulator: one todo per hub item, robots at 20 a minute, idempotent events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from collabhub.connector import ConnectorContext, Delivery
from collabhub.errors import DeliveryError
from collabhub.model import EntityKind, Link, echo_fingerprint
from collabhub.testing.sims.dingtalk import DingTalkSimulator
from collabhub_dingtalk import mapping
from collabhub_dingtalk.connector import DingTalkConnector
from collabhub_dingtalk.plugin import simulator_settings

from .conftest import Clock, make_connector, sample_deliveries


class LoseFirstCreateAnswer(httpx.AsyncBaseTransport):
    """Forwards requests; the first todo create reaches DingTalk but its answer is lost (a timeout)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.lost = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and request.url.path.endswith("/tasks") and not self.lost:
            await response.aread()
            self.lost += 1
            raise httpx.ReadTimeout("answer lost", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def _link(delivery: Delivery, external_id: str) -> Link:
    return Link(entity_connector="hub", entity_kind=EntityKind.TASK, entity_external_id="x", target_connector="dt",
                channel=delivery.channel, target_external_id=external_id)


async def test_a_todo_create_retried_after_a_lost_answer_makes_one_todo(sim: DingTalkSimulator) -> None:
    delivery = sample_deliveries(sim)["task"]
    transport = LoseFirstCreateAnswer()
    settings = {**simulator_settings(sim), "http": {"max_wait": 0.01}}
    connector = DingTalkConnector("dt", DingTalkConnector.Config.model_validate(settings),
                                  ConnectorContext(transport=transport))
    async with connector:
        writer = connector.writers()["task"]
        with pytest.raises(DeliveryError) as first:
            await writer.deliver(delivery)
        assert first.value.retryable  # the outbox keeps it and tries again
        result = await writer.deliver(delivery)
        again = await writer.deliver(delivery)
    assert transport.lost == 1
    assert sim.todo_creates == 1
    made = [t for t in sim.state.todos.values() if t["sourceId"] == result.detail["sourceId"]]
    assert [t["id"] for t in made] == [result.external_id] == [again.external_id]


async def test_todo_updates_in_place_and_its_echo_is_recognised(sim: DingTalkSimulator) -> None:
    delivery = sample_deliveries(sim)["task"]
    async with make_connector(sim) as connector:
        writer = connector.writers()["task"]
        created = await writer.deliver(delivery)
        done = Delivery(delivery.idempotency_key + "-2", "task", delivery.target,
                        {**delivery.content, "done": True}, link=_link(delivery, created.external_id))
        updated = await writer.deliver(done)
        pages = [p async for p in connector.stream("todos").fetch([f"todo:{created.external_id}"])]
    assert updated.external_id == created.external_id and sim.todo_creates == 1
    assert sim.state.todos[created.external_id]["done"] is True
    pulled = mapping.todo_task("dt", pages[0].records[0])
    assert echo_fingerprint(pulled) == updated.fingerprint


async def test_robot_messages_beyond_20_a_minute_are_queued_not_dropped(clocked_sim: DingTalkSimulator,
                                                                        clock: Clock) -> None:
    sim = clocked_sim
    deliveries = [Delivery(f"robot-{i}", "card", {"robot": "coordination"},
                           {"title": f"提醒 {i}", "text": f"第 {i} 条"}) for i in range(25)]
    queued: list[tuple[Delivery, float]] = []
    async with make_connector(sim, clock=clock) as connector:
        writer = connector.writers()["card"]
        for delivery in deliveries:
            try:
                await writer.deliver(delivery)
            except DeliveryError as exc:
                assert exc.retryable and exc.retry_after is not None and 0 < exc.retry_after <= 60
                queued.append((delivery, exc.retry_after))
            clock.advance(0.5)
        assert len(queued) == 5 and len(sim.robot().messages) == 20
        clock.advance(max(wait for _, wait in queued))
        for delivery, _ in queued:  # the outbox retries after the wait
            await writer.deliver(delivery)
    robot = sim.robot()
    assert len(robot.messages) == 25 and robot.rejected == 0
    assert len({m["msgUuid"] for m in robot.messages}) == 25
    assert [m["markdown"]["title"] for m in robot.messages] == [f"提醒 {i}" for i in range(25)]


async def test_robot_resend_is_deduplicated_by_msg_uuid(clocked_sim: DingTalkSimulator, clock: Clock) -> None:
    delivery = Delivery("robot-card", "card", {"robot": "coordination"},
                        {"title": "会议室冲突", "text": "请确认", "buttons": [{"title": "打开", "url": "https://hub/x"}]})
    async with make_connector(clocked_sim, clock=clock) as connector:
        writer = connector.writers()["card"]
        first = await writer.deliver(delivery)
        second = await writer.deliver(delivery)
    messages = clocked_sim.robot().messages
    assert first.external_id == second.external_id and len(messages) == 1
    assert messages[0]["msgtype"] == "actionCard" and messages[0]["actionCard"]["btns"][0]["actionURL"] == "https://hub/x"


async def test_robot_throttled_by_dingtalk_stays_queued(clocked_sim: DingTalkSimulator, clock: Clock) -> None:
    async with make_connector(clocked_sim, clock=clock, name="other-process") as other:
        for i in range(20):
            await other.writers()["card"].deliver(Delivery(f"o{i}", "card", {}, {"text": "x"}))
    async with make_connector(clocked_sim, clock=clock) as connector:
        with pytest.raises(DeliveryError) as raised:
            await connector.writers()["card"].deliver(Delivery("mine", "card", {}, {"text": "y"}))
    assert raised.value.retryable and raised.value.retry_after == 600


async def test_robot_with_a_wrong_secret_fails_for_the_admin(clocked_sim: DingTalkSimulator, clock: Clock) -> None:
    token = next(iter(clocked_sim.robots))
    async with make_connector(clocked_sim, clock=clock,
                              robots={"coordination": {"access_token": token, "secret": "SECwrong"}}) as connector:
        with pytest.raises(DeliveryError, match="310000") as raised:
            await connector.writers()["card"].deliver(Delivery("k", "card", {}, {"text": "y"}))
    assert not raised.value.retryable and clocked_sim.robot().messages == []


async def test_event_create_is_idempotent_and_books_rooms(sim: DingTalkSimulator) -> None:
    start = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)
    room = sorted(sim.state.rooms)[0]
    delivery = Delivery("evt-1", "event", {"union_id": sim.company.people[0].dingtalk_union_id},
                        {"summary": "资源协调会", "start": start.isoformat(),
                         "end": (start + timedelta(hours=1)).isoformat(), "location": "3F", "rooms": [room],
                         "attendees": [sim.company.people[2].dingtalk_union_id]})
    before = len(sim.state.events)
    async with make_connector(sim) as connector:
        writer = connector.writers()["event"]
        first = await writer.deliver(delivery)
        retried = await writer.deliver(delivery)
        moved = Delivery("evt-1b", "event", delivery.target, {**delivery.content, "summary": "资源协调会（改）"},
                         link=_link(delivery, first.external_id))
        updated = await writer.deliver(moved)
        owner = sim.company.people[0].dingtalk_union_id
        pages = [p async for p in connector.stream("calendars").fetch([f"event:{owner}/{first.external_id}"])]
        clash = Delivery("evt-2", "event", delivery.target, {**delivery.content, "summary": "撞车"})
        with pytest.raises(DeliveryError, match="not available") as busy:
            await writer.deliver(clash)
    assert first.external_id == retried.external_id == updated.external_id
    assert len(sim.state.events) == before + 2  # the clash made its event, but no room
    event = sim.state.events[first.external_id]
    assert event["summary"] == "资源协调会（改）" and [r["roomId"] for r in event["meetingRooms"]] == [room]
    meeting = mapping.event_entities("dt", owner, pages[0].records[0]["event"])[0]
    assert echo_fingerprint(meeting) == updated.fingerprint
    assert not busy.value.retryable


async def test_room_writer_adds_a_room_once(sim: DingTalkSimulator) -> None:
    delivery = sample_deliveries(sim)["booking"]
    async with make_connector(sim) as connector:
        writer = connector.writers()["booking"]
        first = await writer.deliver(delivery)
        again = await writer.deliver(delivery)
    event = sim.state.events[delivery.target["event_id"]]
    assert first.external_id == again.external_id
    assert [r["roomId"] for r in event["meetingRooms"]] == delivery.content["rooms"]


async def test_event_deleted_remotely_is_made_again(sim: DingTalkSimulator) -> None:
    delivery = sample_deliveries(sim)["event"]
    async with make_connector(sim) as connector:
        writer = connector.writers()["event"]
        first = await writer.deliver(delivery)
        sim.state.events.pop(first.external_id)
        again = Delivery("suite-event-1-v2", "event", delivery.target, delivery.content,
                         link=_link(delivery, first.external_id))
        second = await writer.deliver(again)
    assert second.external_id != first.external_id and second.external_id in sim.state.events
