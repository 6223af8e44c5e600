"""The ``task`` channel: a mirrored task or action item as a Jira issue, created once, then kept in step.

``target``: ``project`` (key), ``issuetype`` (default Task), ``assignee`` ``{email?, external_id?}``.
``content``: ``title``, ``description``, ``due``, ``status_category``, ``labels`` (and, Jira-only,
``priority``). The assignee's email is looked up once (``user/search``); an account whose email is
hidden cannot be found that way, and the issue is then left unassigned rather than failing.

Idempotency: the create carries a marker label (``<marker_label_prefix><hash of the key>``) and an
issue property holding the idempotency key. Before creating (and after a create timed out) the
writer searches for the marker, so a retried create never makes a second issue.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from collabhub.connector import Delivery, DeliveryResult
from collabhub.errors import DeliveryError
from collabhub.http import json_body
from collabhub_jira import jql
from collabhub_jira.writers.base import JiraWriter
from collabhub_jira.writers.workflow import move_to_category

__all__ = ["TaskWriter"]


class TaskWriter(JiraWriter):
    """Create (or update in place) the Jira issue that mirrors a hub item."""

    channel = "task"

    def marker(self, key: str) -> str:
        return self.connector.config.marker_label_prefix + hashlib.sha256(key.encode()).hexdigest()[:16]

    async def assignee(self, target: Mapping[str, Any]) -> dict[str, str] | None:
        """The Jira user for ``target.assignee`` (``accountId`` on Cloud, ``name`` on Data Center)."""
        who = target.get("assignee") or {}
        cloud = self.connector.config.cloud
        field = "accountId" if cloud else "name"
        if who.get("external_id"):
            return {field: str(who["external_id"])}
        email = str(who.get("email") or "").strip().lower()
        if not email:
            return None
        cache: dict[str, str | None] = self.connector.context.state.setdefault("jira_users_by_email", {})
        if email not in cache:
            params = {"query": email} if cloud else {"username": email}
            response = await self.call("GET", "user/search", params=params)
            users = json_body(response, connector=self.connector.name) or []
            exact = [u for u in users if str(u.get("emailAddress", "")).lower() == email]
            found = exact[0] if exact else (users[0] if len(users) == 1 else None)
            cache[email] = str(found.get(field)) if found and found.get(field) else None
        value = cache[email]
        return {field: value} if value else None

    def _fields(self, delivery: Delivery, *, creating: bool) -> dict[str, Any]:
        content: Mapping[str, Any] = delivery.content
        title = str(content.get("title") or content.get("summary") or "").strip()
        if creating and not title:
            raise DeliveryError("task: the delivery has no title", retryable=False)
        fields: dict[str, Any] = {}
        if title:
            fields["summary"] = title.replace("\n", " ")[:255]
        if "description" in content:
            fields["description"] = self.rich(content.get("description"))
        if "due" in content:
            due = content.get("due")
            fields["duedate"] = str(due)[:10] if due else None
        if content.get("priority"):
            fields["priority"] = {"name": str(content["priority"])}
        labels = [str(x).replace(" ", "-") for x in content.get("labels") or []]
        if creating:
            project = delivery.target.get("project")
            if not project:
                raise DeliveryError("task: the delivery names no Jira project (target.project)", retryable=False)
            fields["project"] = {"key": str(project)}
            fields["issuetype"] = {"name": str(delivery.target.get("issuetype") or "Task")}
            labels.append(self.marker(delivery.idempotency_key))
            fields["labels"] = sorted(set(labels))
        elif labels:
            fields["labels"] = sorted(set(labels))
        return fields

    async def find(self, key: str) -> str | None:
        """The issue a previous attempt created for this idempotency key, if the search sees it."""
        prop = self.connector.config.delivery_property
        query = f"labels = {jql.quote(self.marker(key))}"
        if self.connector.config.cloud:
            body = {"jql": query, "fields": ["key"], "properties": [prop], "maxResults": 10}
            response = await self.call("POST", "search/jql", json=body)
            issues = json_body(response, connector=self.connector.name).get("issues") or []
            owned = [i for i in issues if ((i.get("properties") or {}).get(prop) or {}).get("key") == key]
        else:
            body = {"jql": query, "fields": ["key"], "maxResults": 10}
            response = await self.call("POST", "search", json=body)
            owned = json_body(response, connector=self.connector.name).get("issues") or []
        return str(owned[0].get("key") or owned[0]["id"]) if owned else None

    async def _update(self, delivery: Delivery, issue: str) -> None:
        fields = self._fields(delivery, creating=False)
        labels = fields.pop("labels", None)
        body: dict[str, Any] = {"fields": fields}
        if labels:
            body["update"] = {"labels": [{"add": label} for label in labels]}
        if fields or labels:
            response = await self.call("PUT", f"issue/{issue}", issue=issue, allow=(404,), json=body)
            if response.status_code == 404:
                raise DeliveryError(f"task: Jira issue {issue} written earlier is gone (deleted or moved)",
                                    retryable=False)

    async def _create(self, delivery: Delivery) -> str:
        fields = self._fields(delivery, creating=True)
        assignee = await self.assignee(delivery.target)
        if assignee:
            fields["assignee"] = assignee
        body = {"fields": fields, "properties": [{"key": self.connector.config.delivery_property,
                                                  "value": {"key": delivery.idempotency_key}}]}
        try:
            response = await self.call("POST", "issue", once=True, json=body)
            return str(json_body(response, connector=self.connector.name)["key"])
        except DeliveryError as exc:
            created = (await self.find(delivery.idempotency_key)) if exc.retryable else None
            if not created:
                raise
            return created

    async def deliver(self, delivery: Delivery) -> DeliveryResult:
        existing = delivery.link.target_external_id if delivery.link else await self.find(delivery.idempotency_key)
        if existing:
            await self._update(delivery, existing)
            issue, created = existing, False
        else:
            issue, created = await self._create(delivery), True
        moves: list[str] = []
        category = delivery.content.get("status_category")
        if category:
            moves = await move_to_category(self, issue, str(category))
        fingerprint, task = await self.fingerprint(issue)
        return DeliveryResult(external_id=task.source.external_id, url=task.source.url, fingerprint=fingerprint,
                              detail={"key": task.extra.get("key"), "created": created, "transitions": moves})
