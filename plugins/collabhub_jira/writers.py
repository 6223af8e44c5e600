"""Writers: the hub status comment, labels, transitions by status name, and issues for action items.

Every writer is idempotent:

* ``comment``: one hub comment per issue, edited in place. It is found again through the Link
  (``delivery.link``), else the ``status_property`` issue property, else the marker text in the
  comment itself (covers a crash between creating the comment and recording it).
* ``labels``: add/remove/set through the ``update`` verbs; repeating them changes nothing.
* ``transition``: nothing to do when the issue is already in the target status; a target the
  workflow does not offer from the current status is a ``WorkflowError`` and nothing is changed.
* ``issue``: the create carries a marker label and an issue property holding the idempotency key;
  before creating (and after a timeout) the writer looks the issue up by that marker, so a retried
  create never makes a second issue.

A create is sent once (no transport retry): a timed-out POST may have been applied, so the writer
looks for its marker instead of blindly sending it again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx

from collabhub.connector import Delivery, DeliveryResult, Writer
from collabhub.errors import Action, ConnectorError, DeliveryError, ErrorResolution, WorkflowError
from collabhub.model import EntityKind, Task, echo_fingerprint
from collabhub_jira import jql
from collabhub_jira.adf import adf_to_text, text_to_adf
from collabhub_jira.errors import error_text

if TYPE_CHECKING:
    from collabhub_jira.connector import JiraConnector

__all__ = ["CommentWriter", "IssueWriter", "JiraWriter", "LabelsWriter", "TransitionWriter"]


def _delivery_error(exc: ConnectorError) -> DeliveryError:
    action = exc.resolution.action
    retryable = action in (Action.RETRY, Action.RATE_LIMITED)
    return DeliveryError(str(exc), retryable=retryable, retry_after=exc.resolution.retry_after)


class JiraWriter(Writer):
    """Shared plumbing: target issue, paced and classified calls, rich text, echo fingerprints."""

    connector: JiraConnector

    def issue_ref(self, delivery: Delivery) -> str:
        ref = delivery.target.get("issue")
        entity = delivery.entity
        if not ref and entity is not None and entity.kind is EntityKind.TASK \
                and entity.source.connector == self.connector.name:
            ref = entity.source.external_id
        if not ref:
            raise DeliveryError(f"{self.channel}: the delivery names no Jira issue (target.issue)", retryable=False)
        return str(ref)

    async def call(self, method: str, path: str, *, issue: str | None = None, allow: Sequence[int] = (),
                   once: bool = False, **kwargs: Any) -> httpx.Response:
        """One API call; statuses in ``allow`` come back to the caller instead of raising."""
        connector = self.connector

        def classify(response: httpx.Response) -> ErrorResolution:
            if response.status_code in allow:
                return ErrorResolution(Action.SKIP)
            return connector.classify(response)

        if issue is not None and connector.config.issue_write_limit and method != "GET":
            await connector.pacer.wait(issue)
        send = connector.request_once if once else connector.request
        try:
            return await send(method, connector.api(path), classify=classify, **kwargs)
        except ConnectorError as exc:
            raise _delivery_error(exc) from exc

    def rich(self, text: str | None) -> Any:
        """Rich text as this deployment wants it: ADF on Cloud (v3), a string on Data Center."""
        return text_to_adf(text) if self.connector.config.cloud else text

    async def fingerprint(self, issue: str) -> tuple[str | None, Task]:
        """Read the issue back and fingerprint what a later pull will see (echo suppression)."""
        response = await self.call("GET", f"issue/{issue}", params={"fields": ",".join(self.connector.mapper.fields())})
        task = self.connector.mapper.task(response.json())
        return echo_fingerprint(task), task


class CommentWriter(JiraWriter):
    """``content: {body: str}``: the one hub status comment on the target issue."""

    channel = "comment"

    def _body(self, delivery: Delivery) -> str:
        body = str(delivery.content.get("body") or "").rstrip()
        if not body:
            raise DeliveryError("comment: the delivery has an empty body", retryable=False)
        return f"{body}\n{self.connector.config.status_comment_marker}"

    async def _find_marked(self, issue: str) -> str | None:
        marker = self.connector.config.status_comment_marker
        start = 0
        while True:
            response = await self.call("GET", f"issue/{issue}/comment", params={"startAt": start, "maxResults": 100})
            page = response.json()
            comments = page.get("comments") or []
            for comment in comments:
                if marker in (adf_to_text(comment.get("body")) or ""):
                    return str(comment["id"])
            start += len(comments)
            if not comments or start >= int(page.get("total", 0)):
                return None

    async def _remember(self, issue: str, comment_id: str) -> None:
        await self.call("PUT", f"issue/{issue}/properties/{self.connector.config.status_property}", issue=issue,
                        json={"commentId": comment_id})

    async def _update(self, issue: str, comment_id: str, body: str) -> bool:
        response = await self.call("PUT", f"issue/{issue}/comment/{comment_id}", issue=issue, allow=(404,),
                                   json={"body": self.rich(body)})
        return response.status_code != 404

    def _result(self, issue: str, comment_id: str, created: bool) -> DeliveryResult:
        url = f"{self.connector.config.base_url}/browse/{issue}?focusedCommentId={comment_id}"
        return DeliveryResult(external_id=comment_id, url=url, detail={"issue": issue, "created": created})

    async def deliver(self, delivery: Delivery) -> DeliveryResult:
        issue = self.issue_ref(delivery)
        body = self._body(delivery)
        known = delivery.link.target_external_id if delivery.link else None
        if known is None:
            prop = await self.call("GET", f"issue/{issue}/properties/{self.connector.config.status_property}",
                                   allow=(404,))
            if prop.status_code != 404:
                known = str((prop.json().get("value") or {}).get("commentId") or "") or None
        if known and await self._update(issue, known, body):
            return self._result(issue, known, False)
        found = await self._find_marked(issue)
        if found and await self._update(issue, found, body):
            await self._remember(issue, found)
            return self._result(issue, found, False)
        try:
            response = await self.call("POST", f"issue/{issue}/comment", issue=issue, once=True,
                                       json={"body": self.rich(body)})
            comment_id = str(response.json()["id"])
        except DeliveryError as exc:
            comment_id = (await self._find_marked(issue) or "") if exc.retryable else ""
            if not comment_id:
                raise
        await self._remember(issue, comment_id)
        return self._result(issue, comment_id, True)


class LabelsWriter(JiraWriter):
    """``content: {add: [...], remove: [...]}`` or ``{set: [...]}``: labels on the target issue."""

    channel = "labels"

    async def deliver(self, delivery: Delivery) -> DeliveryResult:
        issue = self.issue_ref(delivery)
        content = delivery.content
        ops: list[dict[str, Any]] = []
        if "set" in content:
            ops.append({"set": [str(x) for x in content["set"]]})
        ops += [{"add": str(x)} for x in content.get("add") or []]
        ops += [{"remove": str(x)} for x in content.get("remove") or []]
        bad = [v for op in ops for v in (op.get("set") or [op.get("add") or op.get("remove")]) if " " in str(v)]
        if bad:
            raise DeliveryError(f"labels: Jira labels cannot contain spaces: {bad}", retryable=False)
        if ops:
            await self.call("PUT", f"issue/{issue}", issue=issue, json={"update": {"labels": ops}})
        return DeliveryResult(external_id=issue, url=f"{self.connector.config.base_url}/browse/{issue}",
                              detail={"labels": ops})


class TransitionWriter(JiraWriter):
    """``content: {status: "Done"}`` (target status) or ``{transition: "Approve"}`` (transition name)."""

    channel = "transition"

    async def deliver(self, delivery: Delivery) -> DeliveryResult:
        issue = self.issue_ref(delivery)
        wanted_status = str(delivery.content.get("status") or "").strip()
        wanted_name = str(delivery.content.get("transition") or "").strip()
        if not (wanted_status or wanted_name):
            raise DeliveryError("transition: the delivery names no target status", retryable=False)
        current = await self.call("GET", f"issue/{issue}", params={"fields": "status"})
        status = ((current.json().get("fields") or {}).get("status") or {}).get("name", "")
        url = f"{self.connector.config.base_url}/browse/{issue}"
        if wanted_status and status.lower() == wanted_status.lower():
            fingerprint, _ = await self.fingerprint(issue)
            return DeliveryResult(external_id=issue, url=url, fingerprint=fingerprint, detail={"unchanged": True})
        listing = await self.call("GET", f"issue/{issue}/transitions")
        transitions = listing.json().get("transitions") or []
        match = next((t for t in transitions if (wanted_status and (t.get("to") or {}).get("name", "").lower()
                                                  == wanted_status.lower())
                      or (wanted_name and t.get("name", "").lower() == wanted_name.lower())), None)
        if match is None:
            offered = ", ".join(f"{t.get('name')} -> {(t.get('to') or {}).get('name')}" for t in transitions) or "none"
            raise WorkflowError(
                f"Jira issue {issue} cannot move from '{status}' to '{wanted_status or wanted_name}': the workflow "
                f"offers only: {offered}",
                hint="change the rule's target status, or add the transition to the Jira workflow")
        response = await self.call("POST", f"issue/{issue}/transitions", issue=issue, allow=(400,),
                                   json={"transition": {"id": str(match["id"])}})
        if response.status_code == 400:
            raise WorkflowError(f"Jira refused transition '{match.get('name')}' on {issue}: {error_text(response)}")
        fingerprint, _ = await self.fingerprint(issue)
        return DeliveryResult(external_id=issue, url=url, fingerprint=fingerprint,
                              detail={"transition": match.get("name"), "from": status})


class IssueWriter(JiraWriter):
    """Create (or update in place) an issue for an action item.

    ``target: {project: "APL", issuetype: "Task"}``; ``content: {title, description, due, labels,
    priority, assignee}`` where ``assignee`` is a Cloud accountId or a Data Center user name.
    """

    channel = "issue"

    def marker(self, key: str) -> str:
        return self.connector.config.marker_label_prefix + hashlib.sha256(key.encode()).hexdigest()[:16]

    def _fields(self, delivery: Delivery, *, creating: bool) -> dict[str, Any]:
        content: Mapping[str, Any] = delivery.content
        title = str(content.get("title") or content.get("summary") or "").strip()
        if creating and not title:
            raise DeliveryError("issue: the delivery has no title", retryable=False)
        fields: dict[str, Any] = {}
        if title:
            fields["summary"] = title[:255]
        if "description" in content:
            fields["description"] = self.rich(content.get("description"))
        if "due" in content:
            due = content.get("due")
            fields["duedate"] = str(due)[:10] if due else None
        if content.get("priority"):
            fields["priority"] = {"name": str(content["priority"])}
        if content.get("assignee"):
            who = "accountId" if self.connector.config.cloud else "name"
            fields["assignee"] = {who: str(content["assignee"])}
        labels = [str(x) for x in content.get("labels") or []]
        if creating:
            project = delivery.target.get("project")
            if not project:
                raise DeliveryError("issue: the delivery names no Jira project (target.project)", retryable=False)
            fields["project"] = {"key": str(project)}
            fields["issuetype"] = {"name": str(delivery.target.get("issuetype") or "Task")}
            labels.append(self.marker(delivery.idempotency_key))
        if labels or creating:
            fields["labels"] = sorted(set(labels))
        return fields

    async def find(self, key: str) -> str | None:
        """The issue a previous attempt created for this idempotency key, if the search sees it."""
        prop = self.connector.config.delivery_property
        query = f"labels = {jql.quote(self.marker(key))}"
        if self.connector.config.cloud:
            body = {"jql": query, "fields": ["key"], "properties": [prop], "maxResults": 10}
            response = await self.call("POST", "search/jql", json=body)
            issues = response.json().get("issues") or []
            owned = [i for i in issues if ((i.get("properties") or {}).get(prop) or {}).get("key") == key]
        else:
            response = await self.call("POST", "search", json={"jql": query, "fields": ["id"], "maxResults": 10})
            owned = response.json().get("issues") or []
        return str(owned[0].get("key") or owned[0]["id"]) if owned else None

    async def _result(self, issue: str, created: bool) -> DeliveryResult:
        fingerprint, task = await self.fingerprint(issue)
        return DeliveryResult(external_id=task.source.external_id, url=task.source.url, fingerprint=fingerprint,
                              detail={"key": task.extra.get("key"), "created": created})

    async def deliver(self, delivery: Delivery) -> DeliveryResult:
        existing = delivery.link.target_external_id if delivery.link else await self.find(delivery.idempotency_key)
        if existing:
            fields = self._fields(delivery, creating=False)
            fields.pop("labels", None)
            if fields:
                response = await self.call("PUT", f"issue/{existing}", issue=existing, allow=(404,),
                                           json={"fields": fields})
                if response.status_code == 404 and delivery.link is not None:
                    raise DeliveryError(f"issue: Jira issue {existing} written earlier is gone", retryable=False)
            return await self._result(existing, False)
        body = {"fields": self._fields(delivery, creating=True),
                "properties": [{"key": self.connector.config.delivery_property,
                                "value": {"key": delivery.idempotency_key}}]}
        try:
            response = await self.call("POST", "issue", once=True, json=body)
            created = str(response.json()["key"])
        except DeliveryError as exc:
            created = (await self.find(delivery.idempotency_key) or "") if exc.retryable else ""
            if not created:
                raise
        return await self._result(created, True)
