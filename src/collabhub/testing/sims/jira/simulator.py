"""The Jira Cloud / Data Center simulator: routes, auth, rate-limit answers, webhooks, test helpers.

::

    sim = JiraSimulator(generate_company(tasks=10_000))              # Cloud
    dc = JiraSimulator(company, deployment="datacenter")             # Data Center
    with sim:
        sim.faults.rate_limit(3, retry_after=1)   # 429 + Retry-After, RateLimit-Reason, X-RateLimit-*
        sim.update_issue("ENG-1", summary="new")  # moves ENG-1 to the end of the updated order
        sim.add_webhook(url, secret)              # signed admin webhook
        sim.deliver_webhooks()                    # post queued events, X-Hub-Signature: sha256=...
"""

from __future__ import annotations

import asyncio
import base64
import re
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from collabhub.testing.company import Company, generate_company
from collabhub.testing.sims.jira.data import STATUSES, JiraData
from collabhub.testing.sims.jira.issues import IssueApi
from collabhub.testing.sims.jira.jql import FieldResolver
from collabhub.testing.sims.jira.render import ALL_FIELDS, EPIC_LINK_FIELD, Renderer
from collabhub.testing.sims.jira.search import SearchApi, jira_error
from collabhub.testing.sims.jira.webhooks import Event, WebhookRegistration
from collabhub.testing.simulator import Simulator

__all__ = ["BOT_ACCOUNT_ID", "JiraSimulator"]

BOT_ACCOUNT_ID = "5b10botcollabhub000000"
V = "/rest/api/{version:int}"


def _date_ms(data: JiraData, value: str | None) -> int | None:
    if not value:
        return None
    day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=data.tz)
    return int(day.timestamp() * 1000)


def _field_getters(data: JiraData) -> dict[str, Callable[[dict[str, Any]], Any]]:
    def user(role: str) -> Callable[[dict[str, Any]], Any]:
        def get(issue: dict[str, Any]) -> Any:
            account = issue[role]
            if not account:
                return None
            u = data.users[account]
            return (account, u["name"], u["emailAddress"], u["displayName"])
        return get

    def status_category(issue: dict[str, Any]) -> Any:
        s = STATUSES[issue["status"].lower()]
        return (s.category_key, s.category_name, str(s.category_id))

    return {
        "project": lambda i: (i["project"], data.projects[i["project"]]["id"], data.projects[i["project"]]["name"]),
        "key": lambda i: i["key"], "issuekey": lambda i: i["key"], "id": lambda i: (i["id"], i["key"]),
        "updated": lambda i: i["updated"], "created": lambda i: i["created"],
        "resolved": lambda i: i["resolutiondate"], "resolutiondate": lambda i: i["resolutiondate"],
        "duedate": lambda i: _date_ms(data, i["duedate"]), "due": lambda i: _date_ms(data, i["duedate"]),
        "status": lambda i: (i["status"], STATUSES[i["status"].lower()].id),
        "statuscategory": status_category, "labels": lambda i: i["labels"],
        "assignee": user("assignee"), "reporter": user("reporter"), "priority": lambda i: i["priority"],
        "issuetype": lambda i: i["issuetype"], "type": lambda i: i["issuetype"],
        "summary": lambda i: i["summary"], "text": lambda i: (i["summary"], i["description"] or ""),
        "description": lambda i: i["description"], "component": lambda i: i["components"],
        "parent": lambda i: i["parent"], "level": lambda i: "Confidential" if i["security"] else None,
    }


class JiraSimulator(Simulator):
    """A Jira site over loopback, seeded with the company's ``system == "jira"`` tasks."""

    name = "jira"

    def __init__(
        self,
        company: Company | None = None,
        *,
        deployment: str = "cloud",
        email: str = "collabhub-bot@example.com",
        api_token: str = "sim-api-token",
        personal_access_token: str = "sim-personal-access-token",
        oauth_token: str | None = "sim-oauth-token",
        page_cap_fields: int = 100,
        page_cap_ids: int = 5000,
        dc_max_results: int = 1000,
        dc_result_window: int = 10_000,
        per_issue_write_limit: bool = True,
        rate_limit_reason: str = "jira-burst-based",
    ) -> None:
        if deployment not in ("cloud", "datacenter"):
            raise ValueError("deployment must be 'cloud' or 'datacenter'")
        self.company = company or generate_company()
        self.data = JiraData(self.company, deployment=deployment)
        self.data.users[BOT_ACCOUNT_ID] = {
            "accountId": BOT_ACCOUNT_ID, "name": "collabhub-bot", "key": "JIRAUSER99999",
            "displayName": "collabhub bot", "emailAddress": email, "email_visible": True,
            "timeZone": "Asia/Shanghai", "active": True}
        self.email = email
        self.api_token = api_token
        self.personal_access_token = personal_access_token
        self.oauth_token = oauth_token
        self.page_cap_fields = page_cap_fields
        self.page_cap_ids = page_cap_ids
        self.dc_max_results = dc_max_results
        self.dc_result_window = dc_result_window
        self.per_issue_write_limit = per_issue_write_limit
        self.rate_limit_reason = rate_limit_reason
        self.resolver = FieldResolver(_field_getters(self.data), tz=self.data.tz, now_ms=self.data.now_ms)
        self.webhooks: list[WebhookRegistration] = []
        self.events: list[Event] = []
        self.delivered: list[tuple[Event, httpx.Response]] = []
        self._writes: dict[str, deque[float]] = defaultdict(deque)
        self._late: list[tuple[re.Pattern[str], str, float]] = []
        self._late_lock = threading.Lock()
        self.search_api = SearchApi(self)
        self.issue_api = IssueApi(self)
        super().__init__()

    @property
    def deployment(self) -> str:
        return self.data.deployment

    def connector_settings(self, **overrides: Any) -> dict[str, Any]:
        """Settings of a ``jira`` connector (as the YAML would hold them) that reach this started simulator."""
        settings: dict[str, Any] = {"base_url": self.base_url, "deployment": self.deployment}
        if self.deployment == "cloud":
            settings.update(email=self.email, api_token=self.api_token)
        else:
            settings.update(personal_access_token=self.personal_access_token)
        settings.update(overrides)
        return settings

    # -- routing and auth -------------------------------------------------------------------

    def routes(self) -> Sequence[BaseRoute]:
        s, i = self.search_api, self.issue_api
        table: list[tuple[str, Callable[[Request], Any], list[str]]] = [
            (f"{V}/serverInfo", self.server_info, ["GET"]),
            (f"{V}/myself", self.myself, ["GET"]),
            (f"{V}/user/search", self.user_search, ["GET"]),
            (f"{V}/mypermissions", self.my_permissions, ["GET"]),
            (f"{V}/field", self.fields, ["GET"]),
            (f"{V}/project/{{key}}", self.project, ["GET"]),
            (f"{V}/search/jql", s.enhanced, ["GET", "POST"]),
            (f"{V}/search/approximate-count", s.approximate_count, ["POST"]),
            (f"{V}/search", s.gone, ["GET", "POST"]),
            (f"{V}/issue/bulkfetch", s.bulkfetch, ["POST"]),
            (f"{V}/changelog/bulkfetch", s.changelog_bulkfetch, ["POST"]),
            (f"{V}/issue", i.create, ["POST"]),
            (f"{V}/issue/{{key}}", i.get, ["GET"]),
            (f"{V}/issue/{{key}}", i.edit, ["PUT"]),
            (f"{V}/issue/{{key}}", i.delete, ["DELETE"]),
            (f"{V}/issue/{{key}}/comment", i.comments, ["GET"]),
            (f"{V}/issue/{{key}}/comment", i.add_comment, ["POST"]),
            (f"{V}/issue/{{key}}/comment/{{cid}}", i.get_comment, ["GET"]),
            (f"{V}/issue/{{key}}/comment/{{cid}}", i.edit_comment, ["PUT"]),
            (f"{V}/issue/{{key}}/properties/{{prop}}", i.get_property, ["GET"]),
            (f"{V}/issue/{{key}}/properties/{{prop}}", i.set_property, ["PUT"]),
            (f"{V}/issue/{{key}}/properties/{{prop}}", i.delete_property, ["DELETE"]),
            (f"{V}/issue/{{key}}/transitions", i.transitions, ["GET"]),
            (f"{V}/issue/{{key}}/transitions", i.transition, ["POST"]),
            ("/rest/webhooks/1.0/webhook", self.register_webhook, ["POST"]),
        ]
        return [Route(path, self._guard(handler), methods=methods) for path, handler, methods in table]

    def _account(self, request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "basic" and self.deployment == "cloud":
            try:
                user, _, token = base64.b64decode(value).decode().partition(":")
            except ValueError:
                return None
            return BOT_ACCOUNT_ID if (user, token) == (self.email, self.api_token) else None
        if scheme.lower() == "bearer":
            allowed = {self.oauth_token} if self.deployment == "cloud" else {self.personal_access_token,
                                                                              self.oauth_token}
            return BOT_ACCOUNT_ID if value and value in allowed else None
        return None

    def _guard(self, handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            version = request.path_params.get("version")
            if version is not None:
                request.path_params["version"] = str(version)
                if str(version) not in ("2", "3") or (self.deployment != "cloud" and str(version) != "2"):
                    return jira_error(404, f"null for uri: {request.url}")
            account = self._account(request)
            if account is None and not request.url.path.endswith("/serverInfo"):  # serverInfo is public
                return jira_error(401, "You are not authenticated. Authentication required to perform this "
                                       "operation.", headers={"WWW-Authenticate": 'Basic realm="protected-area"'})
            request.state.account = account
            response = await handler(request)
            await self._maybe_late(request)
            return response
        return endpoint

    async def _maybe_late(self, request: Request) -> None:
        """Sleep after handling when a test asked for a late answer (the write happened; the reply is slow)."""
        with self._late_lock:
            match = next((n for n, (pattern, method, _) in enumerate(self._late)
                          if method == request.method and pattern.search(request.url.path)), None)
            if match is None:
                return
            seconds = self._late.pop(match)[2]
        await asyncio.sleep(seconds)

    def respond_late(self, path: str, *, method: str = "POST", seconds: float = 5.0, times: int = 1) -> None:
        """Handle the next ``times`` matching requests, then wait ``seconds`` before answering."""
        with self._late_lock:
            self._late.extend((re.compile(path), method, seconds) for _ in range(times))

    # -- vendor-format faults ---------------------------------------------------------------

    def rate_limit_response(self, request_path: str, retry_after: float) -> Response:
        reset = (datetime.now(UTC) + timedelta(seconds=retry_after)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        wait = str(int(retry_after) if retry_after >= 1 else retry_after)
        return JSONResponse({"errorMessages": ["Rate limit exceeded."], "errors": {}}, status_code=429, headers={
            "Retry-After": wait, "X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset, "X-RateLimit-NearLimit": "true", "RateLimit-Reason": self.rate_limit_reason})

    def server_error_response(self, request_path: str, status: int) -> Response:
        return JSONResponse({"errorMessages": ["Service Unavailable"], "errors": {}}, status_code=status,
                            headers={"Retry-After": "0"})

    def write_limited(self, issue_id: str) -> Response | None:
        """Jira's per-issue write limit: 20 writes per 2 s and 100 per 30 s."""
        if not self.per_issue_write_limit:
            return None
        now = time.monotonic()
        log = self._writes[issue_id]
        while log and now - log[0] > 30:
            log.popleft()
        recent = sum(1 for t in log if now - t <= 2)
        if recent >= 20 or len(log) >= 100:
            wait = 2 if recent >= 20 else 30
            return JSONResponse({"errorMessages": ["Too many writes to this issue."], "errors": {}}, status_code=429,
                                headers={"Retry-After": str(wait), "RateLimit-Reason": "jira-per-issue-on-write"})
        log.append(now)
        return None

    # -- small endpoints --------------------------------------------------------------------

    async def server_info(self, request: Request) -> Response:
        cloud = self.deployment == "cloud"
        return JSONResponse({"baseUrl": self.base_url, "version": "1001.0.0-SNAPSHOT" if cloud else "9.12.15",
                             "versionNumbers": [1001, 0, 0] if cloud else [9, 12, 15],
                             "deploymentType": "Cloud" if cloud else "Server", "buildNumber": 100289,
                             "serverTitle": "Simulated Jira"})

    async def myself(self, request: Request) -> Response:
        renderer = Renderer(self.data, self.base_url, request.path_params["version"])
        return JSONResponse(renderer.user(request.state.account) or {})

    async def user_search(self, request: Request) -> Response:
        """Cloud ``?query=`` (email or display name), Data Center ``?username=`` (login, email, name)."""
        query = (request.query_params.get("query") or request.query_params.get("username") or "").strip().lower()
        if not query:
            return jira_error(400, "The query parameter is required.")
        renderer = Renderer(self.data, self.base_url, request.path_params["version"])
        found = [a for a, u in self.data.users.items()
                 if query in (u["emailAddress"].lower(), u["name"].lower()) or query in u["displayName"].lower()]
        return JSONResponse([renderer.user(a) for a in found[:50]])

    async def my_permissions(self, request: Request) -> Response:
        wanted = [p for p in request.query_params.get("permissions", "").split(",") if p]
        if not wanted and self.deployment == "cloud":
            return jira_error(400, "The permissions query parameter is required.")
        return JSONResponse({"permissions": {p: {"id": str(n), "key": p, "name": p.replace("_", " ").title(),
                                                 "type": "PROJECT", "havePermission": True}
                                             for n, p in enumerate(wanted)}})

    async def fields(self, request: Request) -> Response:
        out = [{"id": f, "key": f, "name": f.capitalize(), "custom": False, "navigable": True, "searchable": True,
                "clauseNames": [f]} for f in ALL_FIELDS]
        if self.deployment != "cloud":
            out.append({"id": EPIC_LINK_FIELD, "key": EPIC_LINK_FIELD, "name": "Epic Link", "custom": True,
                        "clauseNames": ["cf[10008]", "Epic Link"],
                        "schema": {"type": "any", "custom": "com.pyxis.greenhopper.jira:gh-epic-link",
                                   "customId": 10008}})
        return JSONResponse(out)

    async def project(self, request: Request) -> Response:
        project = self.data.projects.get(request.path_params["key"].upper())
        if project is None:
            return jira_error(404, f"No project could be found with key '{request.path_params['key']}'.")
        return JSONResponse({"id": project["id"], "key": project["key"], "name": project["name"],
                             "projectTypeKey": "software"})

    async def register_webhook(self, request: Request) -> Response:
        body = await request.json()
        reg = WebhookRegistration(url=body["url"], secret=body.get("secret"),
                                  events=tuple(body.get("events") or WebhookRegistration.events),
                                  name=body.get("name", "collabhub"), id=len(self.webhooks) + 1)
        self.webhooks.append(reg)
        return JSONResponse({"self": f"{self.base_url}/rest/webhooks/1.0/webhook/{reg.id}", "name": reg.name,
                             "url": reg.url, "events": list(reg.events), "enabled": True}, status_code=201)

    # -- webhook events ---------------------------------------------------------------------

    def emit(self, name: str, issue: dict[str, Any], account: str | None, *, changed: Sequence[str] = (),
             comment: dict[str, Any] | None = None) -> None:
        """Queue the webhook event Jira would send for a change."""
        renderer = Renderer(self.data, self.base_url, "2")
        payload: dict[str, Any] = {"timestamp": self.data.now_ms(), "webhookEvent": name,
                                   "user": renderer.user(account),
                                   "issue": renderer.issue(issue, [f for f in ALL_FIELDS if f != "comment"])}
        if name.startswith("jira:issue_"):
            payload["issue_event_type_name"] = {"jira:issue_created": "issue_created",
                                                "jira:issue_deleted": "issue_deleted"}.get(name, "issue_generic")
        if changed:
            payload["changelog"] = {"id": str(int(time.time() * 1000)),
                                    "items": [{"field": f, "fieldtype": "jira", "fieldId": f} for f in changed]}
        if comment is not None:
            payload["comment"] = renderer.comment(issue, comment)
        self.events.append(Event(name, payload))

    def add_webhook(self, url: str, secret: str | None, events: Sequence[str] | None = None) -> WebhookRegistration:
        reg = WebhookRegistration(url=url, secret=secret, id=len(self.webhooks) + 1,
                                  **({"events": tuple(events)} if events else {}))
        self.webhooks.append(reg)
        return reg

    def deliver_webhooks(self, *, duplicate: bool = False, secret_override: str | None = None
                         ) -> list[httpx.Response]:
        """Post queued events to every registered webhook (twice with ``duplicate``, as a retry would)."""
        events, self.events = self.events, []
        out = []
        for event in events:
            for reg in self.webhooks:
                if event.name not in reg.events:
                    continue
                for attempt in range(2 if duplicate else 1):
                    headers = event.headers(secret_override or reg.secret, retry=attempt)
                    response = self.deliver(reg.url, event.body(), headers)
                    self.delivered.append((event, response))
                    out.append(response)
        return out

    # -- test helpers (change data as a user would in the Jira UI) ---------------------------

    def issue(self, key: str) -> dict[str, Any]:
        found = self.data.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def update_issue(self, key: str, *, at_ms: int | None = None, **changes: Any) -> dict[str, Any]:
        """Edit an issue as a user would (moves its ``updated``), and queue the webhook event."""
        issue = self.issue(key)
        self.data.update(issue, changes, author=next(iter(self.data.users)), at_ms=at_ms)
        self.emit("jira:issue_updated", issue, next(iter(self.data.users)), changed=sorted(changes))
        return issue

    def create_issue(self, project: str, summary: str, **fields: Any) -> dict[str, Any]:
        issue = self.data.create({"project": project, "summary": summary, **fields},
                                 reporter=next(iter(self.data.users)), properties={})
        self.emit("jira:issue_created", issue, next(iter(self.data.users)))
        return issue

    def delete_issue(self, key: str) -> None:
        issue = self.issue(key)
        self.data.delete(issue)
        self.emit("jira:issue_deleted", issue, next(iter(self.data.users)))

    def issue_count(self) -> int:
        return len(self.data.issues)
