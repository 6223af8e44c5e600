"""The ``comment`` channel: one hub status comment per issue, edited in place."""

from __future__ import annotations

from collabhub.connector import Delivery, DeliveryResult
from collabhub.errors import DeliveryError
from collabhub.http import json_body
from collabhub_jira.adf import adf_to_text
from collabhub_jira.writers.base import JiraWriter

__all__ = ["CommentWriter"]


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
            page = json_body(response, connector=self.connector.name)
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
                value = json_body(prop, connector=self.connector.name).get("value") or {}
                known = str(value.get("commentId") or "") or None
        if known and await self._update(issue, known, body):
            return self._result(issue, known, False)
        found = await self._find_marked(issue)
        if found and await self._update(issue, found, body):
            await self._remember(issue, found)
            return self._result(issue, found, False)
        try:
            response = await self.call("POST", f"issue/{issue}/comment", issue=issue, once=True,
                                       json={"body": self.rich(body)})
            comment_id = str(json_body(response, connector=self.connector.name)["id"])
        except DeliveryError as exc:
            comment_id = (await self._find_marked(issue) or "") if exc.retryable else ""
            if not comment_id:
                raise
        await self._remember(issue, comment_id)
        return self._result(issue, comment_id, True)
