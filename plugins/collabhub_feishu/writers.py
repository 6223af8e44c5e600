"""Feishu writers: interactive cards to chats, custom-bot webhooks, and tasks.

* ``card``: ``POST /im/v1/messages?receive_id_type=chat_id`` with ``uuid`` (Feishu sends one message
  per uuid within an hour); a delivery that already has a link (e.g. a digest) is updated in place
  with ``PATCH /im/v1/messages/:message_id``. Sends keep to ``chat_rate_per_second`` per chat.
* ``bot``: a group's custom bot, signed (``timestamp`` + ``sign``) when it has a secret. Custom bots
  have no idempotency key and cannot edit what they sent: a retried send may repeat.
* ``task``: ``POST /task/v2/tasks`` with ``client_token`` (idempotent), ``PATCH`` with
  ``update_fields`` for updates, ``completed_at`` to complete (ms) or reopen (``"0"``).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

import httpx

from collabhub.connector import Delivery, DeliveryResult, Writer
from collabhub.errors import Action, ConnectorError, DeliveryError, RateLimitedError, Who
from collabhub.http.retry import send
from collabhub.model import StatusCategory, echo_fingerprint
from collabhub_feishu import errors
from collabhub_feishu.cards import render_card, text_of
from collabhub_feishu.crypto import bot_sign
from collabhub_feishu.mapping import task_entity

if TYPE_CHECKING:
    from collabhub_feishu.connector import FeishuConnector

__all__ = ["WRITERS", "BotWriter", "CardWriter", "TaskWriter", "stable_uuid"]


def stable_uuid(key: str) -> str:
    """A UUID-shaped token derived from an idempotency key (fits Feishu's ``uuid``/``client_token``)."""
    return str(uuid.UUID(hex=hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]))


def delivery_error(exc: ConnectorError) -> DeliveryError:
    """A push failure from a remote error: retry what passes on its own, park what needs a person."""
    resolution = exc.resolution
    retryable = isinstance(exc, RateLimitedError) or resolution.who is Who.TRANSIENT or \
        resolution.action in (Action.RETRY, Action.RATE_LIMITED)
    return DeliveryError(exc.message, retryable=retryable, retry_after=resolution.retry_after)


class _FeishuWriter(Writer):
    connector: FeishuConnector

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return await self.connector.call(method, path, **kwargs)
        except ConnectorError as exc:
            raise delivery_error(exc) from exc


class CardWriter(_FeishuWriter):
    """An interactive card in a group chat (or to a user); updated in place when re-delivered."""

    channel = "card"

    async def deliver(self, delivery: Delivery) -> DeliveryResult:
        target = delivery.target
        receive_type = str(target.get("receive_id_type") or "chat_id")
        receive_id = target.get("chat_id") or target.get("receive_id")
        if not receive_id:
            raise DeliveryError("a card delivery needs target.chat_id (or receive_id)", retryable=False)
        content = json.dumps(render_card(delivery.content), ensure_ascii=False)
        limiter = self.connector.chat_limiter(str(receive_id))
        if delivery.link is not None and delivery.link.target_external_id:
            message_id = delivery.link.target_external_id
            async with limiter.slot():
                body = await self._call("PATCH", f"/open-apis/im/v1/messages/{message_id}", json={"content": content},
                                        classify=errors.skip_codes(230011))
            if errors.body_code(body) == 0:
                return DeliveryResult(external_id=message_id, url=delivery.link.target_url,
                                      detail={"updated": True, "chat_id": receive_id})
            # the card was recalled: post it again, under a uuid of its own
            key = f"{delivery.idempotency_key}:repost:{message_id}"
        else:
            key = delivery.idempotency_key
        async with limiter.slot():
            body = await self._call("POST", "/open-apis/im/v1/messages", params={"receive_id_type": receive_type},
                                    json={"receive_id": receive_id, "msg_type": "interactive", "content": content,
                                          "uuid": stable_uuid(key)})
        data = body.get("data") or {}
        if not data.get("message_id"):
            raise DeliveryError("Feishu accepted the card but returned no message_id", retryable=True)
        return DeliveryResult(external_id=str(data["message_id"]),
                              detail={"chat_id": data.get("chat_id", receive_id), "updated": False})


class BotWriter(_FeishuWriter):
    """A message through a group's custom bot webhook, signed when the bot has a secret."""

    channel = "bot"

    async def deliver(self, delivery: Delivery) -> DeliveryResult:
        name = str(delivery.target.get("bot") or "")
        bot = self.connector.config.bots.get(name)
        if bot is None:
            raise DeliveryError(f"no custom bot named {name!r} in the connector's bots setting", retryable=False)
        url = bot.url if bot.url.startswith(("http://", "https://")) else \
            f"{self.connector.config.api_base()}/open-apis/bot/v2/hook/{bot.url}"
        content = delivery.content
        payload: dict[str, Any]
        if content.get("title") or content.get("card") or content.get("fields"):
            payload = {"msg_type": "interactive", "card": render_card(content)}
        else:
            payload = {"msg_type": "text", "content": {"text": text_of(content)}}
        if bot.secret is not None:
            stamp = int(self.connector.now().timestamp())
            payload = {"timestamp": str(stamp), "sign": bot_sign(stamp, bot.secret.get_secret_value()), **payload}
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        client = self.connector.plain_client

        def build() -> httpx.Request:
            return client.build_request("POST", url, content=body)

        http = self.connector.config.http
        try:
            async with self.connector.chat_limiter(f"bot:{name}").slot():
                await send(client, build, classify=errors.classify, limiter=self.connector.limiter,
                           max_retries=http.max_retries, max_wait=http.max_wait, connector=self.connector.name,
                           counter=self.connector._count)
        except ConnectorError as exc:
            raise delivery_error(exc) from exc
        digest = hashlib.sha256(delivery.idempotency_key.encode()).hexdigest()[:16]
        return DeliveryResult(external_id=f"bot:{name}:{digest}", detail={"bot": name})


def _millis(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def _due(value: Any) -> dict[str, Any] | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        return {"timestamp": _millis(datetime.combine(value, time(), UTC)), "is_all_day": True}
    else:
        text = str(value)
        if len(text) == 10:
            return {"timestamp": _millis(datetime.combine(date.fromisoformat(text), time(), UTC)), "is_all_day": True}
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise DeliveryError(f"task due {value!r} has no time zone", retryable=False)
    return {"timestamp": _millis(moment), "is_all_day": False}


def _wants_done(content: Mapping[str, Any]) -> bool | None:
    if "completed" in content:
        return bool(content["completed"])
    category = content.get("status_category")
    if category is not None:
        return str(category) == StatusCategory.DONE.value
    return None


class TaskWriter(_FeishuWriter):
    """A Feishu task: created once per idempotency key, then updated, completed or reopened."""

    channel = "task"

    def _fields(self, content: Mapping[str, Any]) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        title = content.get("title", content.get("summary"))
        if title is not None:
            fields["summary"] = str(title)
        if "description" in content:
            fields["description"] = content["description"] or ""
        if "due" in content:
            fields["due"] = _due(content["due"])
        return fields

    async def _patch(self, guid: str, task: Mapping[str, Any], fields: list[str]) -> dict[str, Any]:
        body = await self._call("PATCH", f"/open-apis/task/v2/tasks/{guid}", params={"user_id_type": "open_id"},
                                json={"task": task, "update_fields": fields}, classify=errors.skip_codes(1470404))
        if errors.body_code(body) != 0:
            raise DeliveryError(f"Feishu task {guid} no longer exists (deleted in Feishu); the link is stale",
                                retryable=False)
        return dict((body.get("data") or {}).get("task") or {})

    async def deliver(self, delivery: Delivery) -> DeliveryResult:
        content, target = delivery.content, delivery.target
        fields = self._fields(content)
        wants_done = _wants_done(content)
        if delivery.link is not None and delivery.link.target_external_id:
            guid = delivery.link.target_external_id
            settable = {k: v for k, v in fields.items() if v is not None}
            if fields:
                task = await self._patch(guid, settable, sorted(fields))
            else:
                body = await self._call("GET", f"/open-apis/task/v2/tasks/{guid}", params={"user_id_type": "open_id"})
                task = dict((body.get("data") or {}).get("task") or {})
        else:
            if "summary" not in fields:
                raise DeliveryError("a task delivery needs content.title", retryable=False)
            assignees = list(target.get("assignees") or ([target["assignee"]] if target.get("assignee") else []))
            create = {k: v for k, v in fields.items() if v is not None}
            create["members"] = [{"id": a, "type": "user", "role": "assignee"} for a in assignees]
            if target.get("tasklist_guid"):
                create["tasklists"] = [{"tasklist_guid": target["tasklist_guid"]}]
            create["client_token"] = stable_uuid(delivery.idempotency_key)
            body = await self._call("POST", "/open-apis/task/v2/tasks", params={"user_id_type": "open_id"}, json=create)
            task = dict((body.get("data") or {}).get("task") or {})
            guid = str(task.get("guid") or "")
            if not guid:
                raise DeliveryError("Feishu created the task but returned no guid", retryable=True)
        done = str(task.get("completed_at") or "0") != "0"
        if wants_done is not None and wants_done != done:
            stamp = _millis(self.connector.now()) if wants_done else "0"
            task = await self._patch(guid, {"completed_at": stamp}, ["completed_at"])
        department = self.connector.config.tasklist_departments.get(str(target.get("tasklist_guid") or ""))
        entity = task_entity(self.connector.name, task, department=department)
        return DeliveryResult(external_id=guid, url=task.get("url") or None, fingerprint=echo_fingerprint(entity),
                              detail={"completed": wants_done if wants_done is not None else done})


WRITERS = (CardWriter, BotWriter, TaskWriter)
