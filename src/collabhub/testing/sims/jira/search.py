"""Search endpoints of the Jira simulator: enhanced search, Data Center search, bulk fetches.

* Cloud ``/rest/api/{2,3}/search/jql``: bounded JQL only, ``nextPageToken``/``isLast``, no total;
  page size capped at 5000 for id/key-only requests and at ``page_cap_fields`` otherwise.
* Cloud ``/rest/api/{2,3}/search``: 410 Gone, with Jira's message.
* Data Center ``/rest/api/2/search``: ``startAt``/``maxResults``/``total``, ``maxResults`` capped at
  1000, and "Search limit exceeded" past the result window (10,000 by default).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from collabhub.testing.sims.jira.jql import JqlError, Query, parse
from collabhub.testing.sims.jira.render import ALL_FIELDS, Renderer, select_fields

if TYPE_CHECKING:
    from collabhub.testing.sims.jira.simulator import JiraSimulator

__all__ = ["SearchApi", "jira_error"]

GONE = ("The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
        "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046")
UNBOUNDED = "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
_FAST_ORDERS = ([], [("updated", True)], [("updated", True), ("key", True)], [("updated", True), ("issuekey", True)])


def jira_error(status: int, *messages: str, errors: dict[str, str] | None = None,
               headers: dict[str, str] | None = None) -> JSONResponse:
    """Jira's error body: ``{"errorMessages": [...], "errors": {...}}``."""
    return JSONResponse({"errorMessages": list(messages), "errors": errors or {}}, status_code=status,
                        headers=headers)


def _encode(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(token: str) -> dict[str, Any]:
    try:
        return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except ValueError as exc:
        raise JqlError("The provided next page token is invalid or expired.") from exc


def _sort_key(name: str, issue: dict[str, Any]) -> Any:
    if name in ("key", "issuekey"):
        return (issue["project"], issue["num"])
    if name == "id":
        return int(issue["id"])
    value = issue.get(name)
    return (value is None, value)


async def _params(request: Request) -> dict[str, Any]:
    """GET query parameters or a POST JSON body, as one dict."""
    if request.method == "POST":
        try:
            body = await request.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}
    params: dict[str, Any] = dict(request.query_params)
    for name in ("reconcileIssues", "properties"):
        if name in params:
            params[name] = [p for p in str(params[name]).split(",") if p]
    return params


class SearchApi:
    """Handlers bound to one simulator."""

    def __init__(self, sim: JiraSimulator) -> None:
        self.sim = sim
        self.data = sim.data

    def _query(self, jql: str) -> Query:
        return parse(jql, self.sim.resolver)

    def _ordered(self, query: Query, after: list[Any] | None) -> Any:
        """Matching issues in the query's order, after the keyset position ``after``."""
        data = self.data
        if query.ids is not None:
            found = [data.indexed[i] for i in (data.by_key.get(x.upper(), x) for x in query.ids) if i in data.indexed]
            matches = [i for i in found if query.predicate(i)]
            return iter(self._sorted(matches, query.order or [("updated", True), ("key", True)], after))
        if query.order in _FAST_ORDERS:
            start = tuple(after) if after else None
            return (i for i in data.scan(start, query.updated_from) if query.predicate(i)
                    and (query.updated_to is None or i["updated"] <= query.updated_to))
        matches = [i for i in data.indexed.values() if query.predicate(i)]
        return iter(self._sorted(matches, query.order, after))

    @staticmethod
    def _sorted(items: list[dict[str, Any]], order: list[tuple[str, bool]], after: list[Any] | None
                ) -> list[dict[str, Any]]:
        for name, asc in reversed(order):
            items.sort(key=lambda i, n=name: _sort_key(n, i), reverse=not asc)
        if after:
            ids = [i["id"] for i in items]
            position = ids.index(after[3]) + 1 if after[3] in ids else 0
            items = items[position:]
        return items

    # -- Cloud ------------------------------------------------------------------------------

    async def gone(self, request: Request) -> Response:
        if self.data.deployment != "cloud":
            return await self.dc_search(request)
        return jira_error(410, GONE)

    async def enhanced(self, request: Request) -> Response:
        if self.data.deployment != "cloud":
            return jira_error(404, "null for uri: " + str(request.url))
        params = await _params(request)
        version = request.path_params["version"]
        jql = str(params.get("jql") or "")
        fields = select_fields(params.get("fields"), ("id",))
        properties = list(params.get("properties") or [])[:5]
        expand = {e.strip() for e in str(params.get("expand") or "").split(",") if e.strip()}
        try:
            query = self._query(jql)
            if not query.bounded:
                return jira_error(400, UNBOUNDED)
            reconcile = [str(x) for x in params.get("reconcileIssues") or []]
            if len(reconcile) > 50:
                return jira_error(400, "The maximum number of issues that can be reconciled is 50.")
            if reconcile:
                self.data.flush_index(reconcile)
            token = params.get("nextPageToken")
            state = _decode(str(token)) if token else {}
            digest = hashlib.sha1(jql.encode()).hexdigest()[:12]
            if state and state.get("q") != digest:
                raise JqlError("The provided next page token is invalid or expired.")
        except JqlError as exc:
            return jira_error(400, str(exc))
        requested = int(params.get("maxResults") or 50)
        ids_only = all(f in ("id", "key") for f in fields) and not properties and not expand
        cap = self.sim.page_cap_ids if ids_only else self.sim.page_cap_fields
        size = max(1, min(requested, cap, 5000))
        renderer = Renderer(self.data, self.sim.base_url or str(request.base_url), version)
        with self.data.lock:
            matches = self._ordered(query, state.get("a"))
            page: list[dict[str, Any]] = []
            more = False
            for issue in matches:
                if len(page) == size:
                    more = True
                    break
                page.append(issue)
            issues = [renderer.issue(i, fields, properties=properties, expand=expand) for i in page]
        body: dict[str, Any] = {"issues": issues, "isLast": not more}
        if more:
            last = page[-1]
            body["nextPageToken"] = _encode({"q": digest, "a": [last["updated"], last["project"], last["num"],
                                                                 last["id"]]})
        if "names" in expand:
            body["names"] = {f: f.capitalize() for f in fields}
        return JSONResponse(body)

    async def approximate_count(self, request: Request) -> Response:
        params = await _params(request)
        try:
            query = self._query(str(params.get("jql") or ""))
            if not query.bounded:
                return jira_error(400, UNBOUNDED)
        except JqlError as exc:
            return jira_error(400, str(exc))
        with self.data.lock:
            count = sum(1 for _ in self._ordered(query, None))
        return JSONResponse({"count": count})

    async def bulkfetch(self, request: Request) -> Response:
        params = await _params(request)
        wanted = [str(x) for x in params.get("issueIdsOrKeys") or []]
        if not wanted or len(wanted) > 100:
            return jira_error(400, "issueIdsOrKeys must contain between 1 and 100 issue ids or keys.")
        fields = select_fields(params.get("fields"), tuple(f for f in ALL_FIELDS if f != "comment"))
        expand = set(params.get("expand") or [])
        renderer = Renderer(self.data, self.sim.base_url or str(request.base_url), request.path_params["version"])
        with self.data.lock:
            found = {i["id"]: i for i in (self.data.get(x) for x in wanted) if i is not None}
            issues = [renderer.issue(found[k], fields, properties=list(params.get("properties") or [])[:5],
                                     expand=expand) for k in sorted(found, key=int)]
        return JSONResponse({"expand": "schema,names", "issues": issues, "issueErrors": []})

    async def changelog_bulkfetch(self, request: Request) -> Response:
        params = await _params(request)
        wanted = [str(x) for x in params.get("issueIdsOrKeys") or []]
        if len(wanted) > 1000:
            return jira_error(400, "You may only load changelogs for a maximum of 1,000 issues by ID or key at a time.")
        field_ids = set(params.get("fieldIds") or [])
        if len(field_ids) > 10:
            return jira_error(400, "You may only filter changelogs by a maximum of 10 field IDs at a time.")
        size = max(1, min(int(params.get("maxResults") or 1000), 10000))
        offset = int(_decode(params["nextPageToken"]).get("o", 0)) if params.get("nextPageToken") else 0
        renderer = Renderer(self.data, self.sim.base_url or str(request.base_url), "3")
        entries: list[tuple[str, dict[str, Any]]] = []
        with self.data.lock:
            for ident in wanted:
                issue = self.data.get(ident)
                if issue is None:
                    continue
                for history in issue["history"]:
                    items = [i for i in history["items"] if not field_ids or i["fieldId"] in field_ids]
                    if items:
                        entries.append((issue["id"], {**renderer.history(history, epoch=True), "items": items}))
        page = entries[offset:offset + size]
        grouped: dict[str, list[dict[str, Any]]] = {}
        for issue_id, history in page:
            grouped.setdefault(issue_id, []).append(history)
        body: dict[str, Any] = {"issueChangeLogs": [{"issueId": k, "changeHistories": v} for k, v in grouped.items()]}
        if offset + len(page) < len(entries):
            body["nextPageToken"] = _encode({"o": offset + len(page)})
        return JSONResponse(body)

    # -- Data Center ------------------------------------------------------------------------

    async def dc_search(self, request: Request) -> Response:
        params = await _params(request)
        jql = str(params.get("jql") or "")
        fields = select_fields(params.get("fields"), tuple(f for f in ALL_FIELDS if f != "comment"))
        expand = {e.strip() for e in str(params.get("expand") or "").split(",") if e.strip()}
        start_at = max(0, int(params.get("startAt") or 0))
        size = max(0, min(int(params.get("maxResults") if params.get("maxResults") is not None else 50),
                          self.sim.dc_max_results))
        try:
            query = self._query(jql)
        except JqlError as exc:
            return jira_error(400, str(exc))
        if start_at + size > self.sim.dc_result_window:
            return jira_error(500, f"Search limit exceeded. We couldn't complete your search because it requests "
                                   f"{start_at + size:,} results which exceeded the search platform limit of "
                                   f"{self.sim.dc_result_window:,}. Try refining your query or contact your Jira "
                                   "administrator. Repeating the same search may not work.")
        renderer = Renderer(self.data, self.sim.base_url or str(request.base_url), "2")
        with self.data.lock:
            matches = list(self._ordered(query, None))
            page = matches[start_at:start_at + size]
            issues = [renderer.issue(i, fields, expand=expand) for i in page]
        return JSONResponse({"expand": "schema,names", "startAt": start_at, "maxResults": size,
                             "total": len(matches), "issues": issues})
