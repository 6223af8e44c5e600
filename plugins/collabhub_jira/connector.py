"""The Jira connector: Cloud (REST v3, enhanced search) and Data Center (REST v2, ``startAt`` search).

Bulk reads and writes use httpx through ``Connector.request`` (one retry policy, one rate limiter,
one API-call counter); ``check()`` uses the ``jira`` library in a worker thread. Both honour the
``http`` settings (proxy, CA bundle, timeouts, ``rate_limit``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from collabhub.connector import CheckResult, Connector, ConnectorContext, WebhookSink
from collabhub.errors import CollabhubError, ErrorResolution
from collabhub.http.retry import send
from collabhub_jira import errors, jql
from collabhub_jira.auth import http_auth, method
from collabhub_jira.config import JiraConfig
from collabhub_jira.library import JiraLibrary
from collabhub_jira.mapping import IssueMapper
from collabhub_jira.pacing import IssueWritePacer
from collabhub_jira.streams import IssuesStream
from collabhub_jira.webhooks import JiraWebhookApp
from collabhub_jira.writers import CommentWriter, LabelsWriter, TaskWriter, TransitionWriter

if TYPE_CHECKING:
    from starlette.types import ASGIApp

__all__ = ["JiraConnector"]

log = logging.getLogger(__name__)

PERMISSIONS = "BROWSE_PROJECTS,ADD_COMMENTS,EDIT_ISSUES,TRANSITION_ISSUES,CREATE_ISSUES"


class JiraConnector(Connector):
    """Jira issues in, status comments, labels, transitions and action-item issues out."""

    type = "jira"
    title = "Jira (Cloud and Data Center)"
    Config: ClassVar[type[JiraConfig]] = JiraConfig
    stream_classes = (IssuesStream,)
    writer_classes = (CommentWriter, LabelsWriter, TransitionWriter, TaskWriter)
    config: JiraConfig

    def __init__(self, name: str, config: JiraConfig, context: ConnectorContext | None = None) -> None:
        super().__init__(name, config, context)
        self.mapper = IssueMapper(name, config.base_url, epic_link_field=config.epic_link_field,
                                  milestone_types=config.milestone_issue_types, milestone_label=config.milestone_label,
                                  marker_label_prefix=config.marker_label_prefix)
        self.pacer = IssueWritePacer()
        self.library = JiraLibrary(config, on_response=self._count_library_call, connector=name)

    # -- HTTP ------------------------------------------------------------------------------

    def base_url(self) -> str:
        return self.config.base_url

    def auth(self) -> httpx.Auth:
        return http_auth(self.config)

    def api(self, path: str) -> str:
        """``/rest/api/3/<path>`` on Cloud, ``/rest/api/2/<path>`` on Data Center."""
        return f"/rest/api/{self.config.api_version}/{path.lstrip('/')}"

    def classify(self, response: httpx.Response) -> ErrorResolution:
        if response.headers.get("x-ratelimit-nearlimit", "").lower() == "true" and self.config.near_limit_pause:
            self.limiter.pause(self.config.near_limit_pause)
        return errors.classify(response, max_wait=self.config.http.max_wait)

    async def request_once(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send without transport retries: for creates, where a timed-out attempt may have been applied."""
        client = self.client
        classify = kwargs.pop("classify", None) or self.classify
        return await send(client, lambda: client.build_request(method, url, **kwargs), classify=classify,
                          limiter=self.limiter, max_retries=0, max_wait=self.config.http.max_wait,
                          connector=self.name, counter=self._count)

    def _count_library_call(self) -> None:
        self.api_calls += 1

    # -- check -----------------------------------------------------------------------------

    async def check(self) -> CheckResult:
        """Server type, credentials, permissions, projects in scope, and one search with the scope's JQL."""
        details: list[str] = []
        try:
            info = await self.library.call("server_info")
            deployment = "cloud" if info.get("deploymentType") == "Cloud" else "datacenter"
            if deployment != self.config.deployment:
                return CheckResult.failed(f"{self.config.base_url} is Jira {deployment}, but deployment is "
                                          f"'{self.config.deployment}': set deployment: {deployment}")
            details.append(f"Jira {deployment} {info.get('version', '')}".strip())
            me = await self.library.call("myself")
            details.append(f"signed in as {me.get('displayName') or me.get('name')} ({method(self.config)})")
            granted = (await self.library.call("my_permissions", permissions=PERMISSIONS)).get("permissions", {})
            missing = [p for p in PERMISSIONS.split(",") if not (granted.get(p) or {}).get("havePermission")]
            if "BROWSE_PROJECTS" in missing:
                return CheckResult.failed(*details, "the account cannot browse projects (BROWSE_PROJECTS)")
            if missing:
                details.append(f"writers limited: missing {', '.join(missing)}")
            for key in self.config.projects:
                await self.library.call("project", key)
            if self.config.projects:
                details.append(f"projects visible: {', '.join(self.config.projects)}")
            probe = {"jql": jql.window(jql.scope(self.config.projects, self.config.jql), self.config.floor_ms),
                     "fields": ["id"], "maxResults": 1}
            await self.request("POST", self.api("search/jql" if self.config.cloud else "search"), json=probe)
            details.append("search with the configured scope works")
        except CollabhubError as exc:
            return CheckResult.failed(*details, str(exc))
        return CheckResult.passed(*details)

    # -- webhooks ----------------------------------------------------------------------------

    def webhook_app(self, sink: WebhookSink) -> ASGIApp | None:
        """The signed admin-webhook receiver, when ``webhook_secret`` is set."""
        if self.config.webhook_secret is None:
            return None
        return JiraWebhookApp(self, sink)

    async def aclose(self) -> None:
        self.library.close()
        await super().aclose()
