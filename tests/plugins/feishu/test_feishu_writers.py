"""Writers against the simulator: cards (uuid, in-place updates, 5/s per chat), custom bots, tasks."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from collabhub.connector import ConnectorContext, Delivery
from collabhub.errors import DeliveryError
from collabhub.model import EntityKind, Link, echo_fingerprint
from collabhub.testing.sims.feishu import FeishuSimulator

from .conftest import make_connector


def link_to(message_or_guid: str, channel: str) -> Link:
    return Link(entity_connector="jira", entity_kind=EntityKind.TASK, entity_external_id="10001",
                target_connector="feishu-test", channel=channel, receiver="eng",
                target_external_id=message_or_guid)


def digest(sim: FeishuSimulator, title: str, *, link: Link | None = None, key: str = "digest:eng:2026-W48") -> Delivery:
    return Delivery(idempotency_key=key, channel="card", target={"chat_id": sim.chat_for("eng")},
                    content={"title": title, "items": ["APL-3 预算评审 — in progress", "ENG-7 Release plan — done"],
                             "url": "https://jira.example.com/browse/APL-3"}, link=link)


async def test_card_retry_after_a_lost_answer_makes_one_message(sim: FeishuSimulator) -> None:
    async with make_connector(sim) as feishu:
        writer = feishu.writers()["card"]
        first = await writer.deliver(digest(sim, "本周跨部门进展"))
        again = await writer.deliver(digest(sim, "本周跨部门进展"))
    assert first.external_id == again.external_id
    assert len(sim.messages_in(sim.chat_for("eng"))) == 1


async def test_digest_card_is_updated_in_place(sim: FeishuSimulator) -> None:
    chat = sim.chat_for("eng")
    async with make_connector(sim) as feishu:
        writer = feishu.writers()["card"]
        posted = await writer.deliver(digest(sim, "本周跨部门进展 (3)"))
        updated = await writer.deliver(digest(sim, "本周跨部门进展 (4)", link=link_to(posted.external_id, "card"),
                                              key="digest:eng:2026-W48:v2"))
    messages = sim.messages_in(chat)
    assert len(messages) == 1, "one message, not two"
    assert updated.external_id == posted.external_id and updated.detail["updated"]
    card = json.loads(messages[0]["body"]["content"])
    assert messages[0]["updated"] and card["header"]["title"]["content"] == "本周跨部门进展 (4)"
    assert card["config"]["update_multi"] is True


async def test_recalled_card_is_posted_again(sim: FeishuSimulator) -> None:
    async with make_connector(sim) as feishu:
        writer = feishu.writers()["card"]
        posted = await writer.deliver(digest(sim, "v1"))
        sim.state.messages[posted.external_id]["deleted"] = True
        reposted = await writer.deliver(digest(sim, "v2", link=link_to(posted.external_id, "card")))
    assert reposted.external_id != posted.external_id
    assert len(sim.messages_in(sim.chat_for("eng"))) == 2


async def test_chat_without_the_bot_is_a_config_problem(sim: FeishuSimulator) -> None:
    lonely = next(c for c, chat in sim.state.chats.items() if not chat["bot_member"])
    async with make_connector(sim) as feishu:
        with pytest.raises(DeliveryError, match="add the bot") as caught:
            await feishu.writers()["card"].deliver(Delivery("k", "card", {"chat_id": lonely}, {"title": "hi"}))
    assert not caught.value.retryable


async def test_sends_keep_to_five_per_second_per_chat(sim: FeishuSimulator) -> None:
    async with make_connector(sim) as feishu:
        writer = feishu.writers()["card"]
        for i in range(8):
            await writer.deliver(Delivery(f"burst-{i}", "card", {"chat_id": sim.chat_for("ops")}, {"text": f"#{i}"}))
    assert len(sim.messages_in(sim.chat_for("ops"))) == 8
    assert [c for c in sim.calls if c.path == "/open-apis/im/v1/messages" and c.status != 200] == []


async def test_custom_bot_message_is_signed(sim: FeishuSimulator) -> None:
    context = ConnectorContext(clock=lambda: datetime.now(UTC))
    async with make_connector(sim, context) as feishu:
        result = await feishu.writers()["bot"].deliver(Delivery(
            "bot-1", "bot", {"bot": "coordination"}, {"title": "会议室冲突", "text": "3F-C02 has two bookings"}))
    (sent,) = sim.bot_messages()
    assert sent["msg_type"] == "interactive" and sent["sign"] and sent["timestamp"].isdigit()
    assert result.external_id.startswith("bot:coordination:")


async def test_custom_bot_with_a_wrong_secret_is_parked(sim: FeishuSimulator) -> None:
    settings = sim.connector_settings()
    bots = {"coordination": {**settings["bots"]["coordination"], "secret": "not-the-secret"}}
    async with make_connector(sim, bots=bots) as feishu:
        with pytest.raises(DeliveryError, match="19021") as caught:
            await feishu.writers()["bot"].deliver(Delivery("bot-2", "bot", {"bot": "coordination"}, {"text": "x"}))
    assert not caught.value.retryable
    assert sim.bot_messages() == []


async def test_task_create_is_idempotent_then_updated_completed_and_reopened(sim: FeishuSimulator) -> None:
    tasklist = sim.tasklist_for("eng")
    before = len(sim.state.tasklist_tasks[tasklist])
    target = {"tasklist_guid": tasklist, "assignee": next(iter(sim.state.users))}
    content = {"title": "Prepare monthly coordination minutes", "description": "from the 11-27 meeting",
               "due": "2026-12-04"}
    async with make_connector(sim) as feishu:
        writer = feishu.writers()["task"]
        created = await writer.deliver(Delivery("task:mtg1:ai1", "task", target, content))
        retried = await writer.deliver(Delivery("task:mtg1:ai1", "task", target, content))
        assert created.external_id == retried.external_id
        assert len(sim.state.tasklist_tasks[tasklist]) == before + 1
        link = link_to(created.external_id, "task")
        renamed = await writer.deliver(Delivery("task:mtg1:ai1:u1", "task", target,
                                                {**content, "title": "Publish coordination minutes"}, link=link))
        done = await writer.deliver(Delivery("task:mtg1:ai1:u2", "task", target, {"status_category": "done"},
                                             link=link))
        assert sim.state.tasks[created.external_id]["completed_at"] != "0"
        reopened = await writer.deliver(Delivery("task:mtg1:ai1:u3", "task", target, {"completed": False}, link=link))
        pulled = [e async for p in feishu.stream("tasks").fetch([created.external_id]) for r in p.records
                  for e in feishu.stream("tasks").normalize(r)]
    task = sim.state.tasks[created.external_id]
    assert task["summary"] == "Publish coordination minutes" and task["completed_at"] == "0"
    assert task["members"][0]["role"] == "assignee"
    assert renamed.external_id == done.external_id == reopened.external_id == created.external_id
    assert done.detail["completed"] is True
    assert reopened.fingerprint == echo_fingerprint(pulled[0])  # a later pull is recognised as our echo


async def test_task_deleted_in_feishu_is_parked(sim: FeishuSimulator) -> None:
    async with make_connector(sim) as feishu:
        with pytest.raises(DeliveryError, match="no longer exists") as caught:
            await feishu.writers()["task"].deliver(Delivery("k", "task", {}, {"title": "x"},
                                                            link=link_to("gone-guid", "task")))
    assert not caught.value.retryable
