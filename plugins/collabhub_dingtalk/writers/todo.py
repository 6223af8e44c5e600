"""Todos: created with a ``sourceId`` (one hub item, one todo, even when retried), then updated.

* create: ``POST /v1.0/todo/users/{unionId}/tasks?operatorId=`` with ``subject, description, dueTime,
  executorIds, participantIds, sourceId, detailUrl, priority``;
* find: ``GET /v1.0/todo/users/{unionId}/tasks/sources/{sourceId}`` (before every create, so a create
  retried after a lost answer finds the first one);
* update / complete: ``PUT /v1.0/todo/users/{unionId}/tasks/{taskId}?operatorId=`` with ``subject,
  description, dueTime, done, executorIds, participantIds``.

Target: ``{"union_id": <owner>}`` (default: the operator). Content: ``subject``/``title``,
``description``, ``due``, ``executors`` (unionIds or PersonRefs), ``participants``, ``done`` or
``status_category``, ``priority`` (10/20/30/40), ``url``; missing fields come from the Task entity.
"""

from __future__ import annotations

from typing import Any

from collabhub.connector import Delivery, DeliveryResult, Writer
from collabhub.errors import ConnectorError, DeliveryError
from collabhub.model import StatusCategory, echo_fingerprint
from collabhub_dingtalk import mapping
from collabhub_dingtalk.timeutil import ms
from collabhub_dingtalk.writers.common import as_delivery_error, entity_key, pick, stable_id, to_datetime, union_ids

__all__ = ["TodoWriter"]


def _done(delivery: Delivery) -> bool:
    if "done" in delivery.content:
        return bool(delivery.content["done"])
    category = pick(delivery, "status_category", entity_attr="status_category")
    return str(category) == StatusCategory.DONE.value


class TodoWriter(Writer):
    """Channel ``task`` (DingTalk todos)."""

    channel = "task"

    def _fields(self, delivery: Delivery) -> dict[str, Any]:
        connector: Any = self.connector
        subject = pick(delivery, "subject", "title", entity_attr="title")
        if not subject:
            raise DeliveryError("a todo needs a subject (content.subject or the task's title)", retryable=False)
        due = to_datetime(pick(delivery, "due", "due_time", entity_attr="due"))
        executors = union_ids(delivery.content.get("executors") or (
            [delivery.entity.assignee] if getattr(delivery.entity, "assignee", None) else []), connector.name)
        fields: dict[str, Any] = {
            "subject": str(subject)[:1024],
            "description": str(pick(delivery, "description", entity_attr="description") or "")[:4096],
            "executorIds": executors,
            "participantIds": union_ids(delivery.content.get("participants"), connector.name),
        }
        if due is not None:
            fields["dueTime"] = ms(due)
        return fields

    async def deliver(self, delivery: Delivery) -> DeliveryResult:
        connector: Any = self.connector
        owner = str(delivery.target.get("union_id") or connector.config.operator_union_id)
        operator = {"operatorId": connector.config.operator_union_id}
        base = f"/v1.0/todo/users/{owner}/tasks"
        fields = self._fields(delivery)
        done = _done(delivery)
        source_id = stable_id("collabhub-", entity_key(delivery), self.channel, owner)
        try:
            task_id = delivery.link.target_external_id if delivery.link else None
            if task_id is None:
                found = await connector.call("GET", connector.api(f"{base}/sources/{source_id}"), lookup=True)
                task_id = str(found["id"]) if found and found.get("id") else None
            if task_id is not None:
                updated = await connector.call("PUT", connector.api(f"{base}/{task_id}"), lookup=True,
                                               params=operator, json={**fields, "done": done})
                if updated is None:
                    task_id = None  # deleted remotely: make it again
            created: dict[str, Any] = {}
            if task_id is None:
                body = {**fields, "sourceId": source_id, "priority": int(delivery.content.get("priority") or 20)}
                if delivery.content.get("url"):
                    body["detailUrl"] = {"pcUrl": str(delivery.content["url"]), "appUrl": str(delivery.content["url"])}
                created = await connector.call_once("POST", connector.api(base), params=operator, json=body)
                task_id = str(created.get("id") or "")
                if not task_id:
                    raise DeliveryError(f"DingTalk answered the todo create without an id: {created}", retryable=True)
                if done:
                    await connector.call("PUT", connector.api(f"{base}/{task_id}"), params=operator,
                                         json={"done": True})
        except ConnectorError as exc:
            raise as_delivery_error(exc, "todo") from None
        expected = {"id": task_id, **fields, "done": done, "sourceId": source_id, "creatorId": owner}
        pulled = mapping.todo_task(connector.name, expected)
        url = (created.get("detailUrl") or {}).get("pcUrl") or delivery.content.get("url")
        return DeliveryResult(external_id=task_id, url=url, fingerprint=echo_fingerprint(pulled),
                              detail={"owner": owner, "sourceId": source_id})
