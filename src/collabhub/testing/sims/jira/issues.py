"""Issue endpoints of the Jira simulator: get, create, edit, delete, comments, properties, transitions."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from collabhub.testing.sims.jira.data import ISSUE_TYPES, PRIORITIES, STATUSES, TRANSITIONS
from collabhub.testing.sims.jira.render import ALL_FIELDS, Renderer, adf_to_text, select_fields
from collabhub.testing.sims.jira.search import jira_error

if TYPE_CHECKING:
    from collabhub.testing.sims.jira.simulator import JiraSimulator

__all__ = ["IssueApi"]

NOT_FOUND = "Issue does not exist or you do not have permission to see it."
_PROPERTY_KEY = re.compile(r"^[A-Za-z0-9_.\-]{1,255}$")


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None


class IssueApi:
    """Handlers bound to one simulator. ``request.state.account`` is the authenticated caller."""

    def __init__(self, sim: JiraSimulator) -> None:
        self.sim = sim
        self.data = sim.data

    def _renderer(self, request: Request) -> Renderer:
        return Renderer(self.data, self.sim.base_url or str(request.base_url), request.path_params["version"])

    def _issue(self, request: Request) -> dict[str, Any] | None:
        return self.data.get(request.path_params["key"])

    def _writable(self, request: Request) -> dict[str, Any] | Response:
        """The path's issue, or the answer refusing a write to it: 404 when missing, 429 when write-limited."""
        issue = self._issue(request)
        if issue is None:
            return jira_error(404, NOT_FOUND)
        limited = self.sim.write_limited(issue["id"])
        return issue if limited is None else limited

    async def _comment_body(self, request: Request) -> tuple[dict[str, Any], str | None] | Response:
        """The request's JSON object and its comment text (ADF on v3, a string on v2), or the 400 refusing it."""
        body = await _json(request) or {}
        text, problem = self._text(request, body.get("body"), "comment")
        return problem if problem is not None else (body, text)

    def _text(self, request: Request, value: Any, field: str) -> tuple[str | None, JSONResponse | None]:
        """Read a rich-text field: an ADF document on v3, a string on v2."""
        if value is None:
            return None, None
        if request.path_params["version"] == "3":
            if not isinstance(value, dict):
                return None, jira_error(400, errors={field: "Operation value must be an Atlassian Document "
                                                            "(see the Atlassian Document Format)"})
            try:
                return adf_to_text(value), None
            except ValueError as exc:
                return None, jira_error(400, errors={field: str(exc)})
        return str(value), None

    def _user_ref(self, value: Any) -> str | None:
        if not isinstance(value, dict):
            return None
        if "accountId" in value:
            return value["accountId"] if value["accountId"] in self.data.users else None
        name = value.get("name")
        return next((a for a, u in self.data.users.items() if u["name"] == name), None)

    # -- read -------------------------------------------------------------------------------

    async def get(self, request: Request) -> Response:
        issue = self._issue(request)
        if issue is None:
            return jira_error(404, NOT_FOUND)
        fields = select_fields(request.query_params.get("fields"), ALL_FIELDS)
        props = [p for p in request.query_params.get("properties", "").split(",") if p]
        expand = set(request.query_params.get("expand", "").split(","))
        return JSONResponse(self._renderer(request).issue(issue, fields, properties=props, expand=expand))

    # -- create / edit / delete -------------------------------------------------------------

    def _fields(self, request: Request, raw: dict[str, Any], *,
                creating: bool) -> tuple[dict[str, Any], dict[str, str]]:
        out: dict[str, Any] = {}
        errors: dict[str, str] = {}
        if creating or "project" in raw:
            ref = raw.get("project") or {}
            key = ref.get("key") or next((k for k, p in self.data.projects.items() if p["id"] == ref.get("id")), None)
            if key not in self.data.projects:
                errors["project"] = "valid project is required"
            out["project"] = key
        if creating or "summary" in raw:
            summary = str(raw.get("summary") or "").strip()
            if not summary:
                errors["summary"] = "You must specify a summary of the issue."
            out["summary"] = summary
        if creating or "issuetype" in raw:
            ref = raw.get("issuetype") or {}
            name = ref.get("name") or next((n for n, i in ISSUE_TYPES.items() if i == ref.get("id")), None)
            if name not in ISSUE_TYPES:
                errors["issuetype"] = "Specify an issue type"
            out["issuetype"] = name
        if "description" in raw:
            text, problem = self._text(request, raw["description"], "description")
            if problem is not None:
                errors["description"] = "Operation value must be an Atlassian Document"
            out["description"] = text
        if "labels" in raw:
            labels = [str(x) for x in raw["labels"] or []]
            if any(" " in label for label in labels):
                errors["labels"] = "The label can't contain spaces."
            out["labels"] = sorted(set(labels))
        if "duedate" in raw:
            out["duedate"] = raw["duedate"]
        if "priority" in raw:
            name = (raw["priority"] or {}).get("name")
            if name not in PRIORITIES:
                errors["priority"] = f"Priority name '{name}' is not valid"
            out["priority"] = name
        for role in ("assignee",):
            if role in raw:
                out[role] = self._user_ref(raw[role]) if raw[role] else None
        if "parent" in raw:
            parent = self.data.get((raw["parent"] or {}).get("key") or (raw["parent"] or {}).get("id") or "")
            out["parent"] = parent["key"] if parent else None
        if "components" in raw:
            out["components"] = [c.get("name") for c in raw["components"] or [] if c.get("name")]
        if "security" in raw:
            out["security"] = bool(raw["security"])
        return out, errors

    async def create(self, request: Request) -> Response:
        body = await _json(request)
        if not isinstance(body, dict) or not isinstance(body.get("fields"), dict):
            return jira_error(400, "Can not deserialize the issue: a 'fields' object is required.")
        fields, errors = self._fields(request, body["fields"], creating=True)
        properties = {}
        for prop in body.get("properties") or []:
            if not _PROPERTY_KEY.match(str(prop.get("key", ""))):
                errors["properties"] = "Property key is invalid."
            properties[prop.get("key")] = prop.get("value")
        if errors:
            return jira_error(400, errors=errors)
        issue = self.data.create(fields, reporter=request.state.account, properties=properties)
        self.sim.emit("jira:issue_created", issue, request.state.account)
        base = self.sim.base_url or str(request.base_url).rstrip("/")
        return JSONResponse({"id": issue["id"], "key": issue["key"],
                             "self": f"{base}/rest/api/{request.path_params['version']}/issue/{issue['id']}"},
                            status_code=201)

    async def edit(self, request: Request) -> Response:
        issue = self._writable(request)
        if isinstance(issue, Response):
            return issue
        body = await _json(request)
        if not isinstance(body, dict):
            return jira_error(400, "Can not deserialize the request body.")
        changes, errors = self._fields(request, body.get("fields") or {}, creating=False)
        labels = list(changes.get("labels", issue["labels"]))
        for op in (body.get("update") or {}).get("labels", []):
            if "add" in op and op["add"] not in labels:
                labels.append(op["add"])
            if "remove" in op and op["remove"] in labels:
                labels.remove(op["remove"])
            if "set" in op:
                labels = list(op["set"])
        if any(" " in str(label) for label in labels):
            errors["labels"] = "The label can't contain spaces."
        if errors:
            return jira_error(400, errors=errors)
        changes["labels"] = sorted(set(labels))
        changes = {k: v for k, v in changes.items() if issue.get(k) != v}
        if changes:
            self.data.update(issue, changes, author=request.state.account)
            self.sim.emit("jira:issue_updated", issue, request.state.account, changed=sorted(changes))
        return Response(status_code=204)

    async def delete(self, request: Request) -> Response:
        issue = self._issue(request)
        if issue is None:
            return jira_error(404, NOT_FOUND)
        self.data.delete(issue)
        self.sim.emit("jira:issue_deleted", issue, request.state.account)
        return Response(status_code=204)

    # -- comments ---------------------------------------------------------------------------

    async def comments(self, request: Request) -> Response:
        issue = self._issue(request)
        if issue is None:
            return jira_error(404, NOT_FOUND)
        start = int(request.query_params.get("startAt", 0))
        size = min(int(request.query_params.get("maxResults", 100)), 5000)
        items = list(issue["comments"])
        if request.query_params.get("orderBy", "created").startswith("-"):
            items.reverse()
        page = items[start:start + size]
        renderer = self._renderer(request)
        return JSONResponse({"startAt": start, "maxResults": size, "total": len(items),
                             "comments": [renderer.comment(issue, c) for c in page]})

    async def add_comment(self, request: Request) -> Response:
        issue = self._writable(request)
        if isinstance(issue, Response):
            return issue
        parsed = await self._comment_body(request)
        if isinstance(parsed, Response):
            return parsed
        body, text = parsed
        if not text:
            return jira_error(400, errors={"comment": "Comment body can not be empty!"})
        props = {p.get("key"): p.get("value") for p in body.get("properties") or []}
        comment = self.data.add_comment(issue, text, request.state.account, props)
        self.sim.emit("comment_created", issue, request.state.account, comment=comment)
        return JSONResponse(self._renderer(request).comment(issue, comment), status_code=201)

    def _comment(self, issue: dict[str, Any], comment_id: str) -> dict[str, Any] | None:
        return next((c for c in issue["comments"] if c["id"] == comment_id), None)

    async def get_comment(self, request: Request) -> Response:
        issue = self._issue(request)
        comment = self._comment(issue, request.path_params["cid"]) if issue else None
        if issue is None or comment is None:
            return jira_error(404, f"Can not find a comment for the id: {request.path_params['cid']}.")
        return JSONResponse(self._renderer(request).comment(issue, comment))

    async def edit_comment(self, request: Request) -> Response:
        issue = self._issue(request)
        comment = self._comment(issue, request.path_params["cid"]) if issue else None
        if issue is None or comment is None:
            return jira_error(404, f"Can not find a comment for the id: {request.path_params['cid']}.")
        limited = self.sim.write_limited(issue["id"])
        if limited is not None:
            return limited
        parsed = await self._comment_body(request)
        if isinstance(parsed, Response):
            return parsed
        _, text = parsed
        if text != comment["body"]:
            self.data.edit_comment(issue, comment, text, request.state.account)
            self.sim.emit("comment_updated", issue, request.state.account, comment=comment)
        return JSONResponse(self._renderer(request).comment(issue, comment))

    # -- properties -------------------------------------------------------------------------

    async def get_property(self, request: Request) -> Response:
        issue = self._issue(request)
        if issue is None:
            return jira_error(404, NOT_FOUND)
        name = request.path_params["prop"]
        if name not in issue["properties"]:
            return jira_error(404, f"The property with key '{name}' does not exist.")
        return JSONResponse({"key": name, "value": issue["properties"][name]})

    async def set_property(self, request: Request) -> Response:
        issue = self._issue(request)
        if issue is None:
            return jira_error(404, NOT_FOUND)
        name = request.path_params["prop"]
        if not _PROPERTY_KEY.match(name):
            return jira_error(400, "The property key is invalid.")
        value = await _json(request)
        if value is None:
            return jira_error(400, "The property value must be valid JSON.")
        existed = name in issue["properties"]
        issue["properties"][name] = value
        return Response(status_code=200 if existed else 201)

    async def delete_property(self, request: Request) -> Response:
        issue = self._issue(request)
        if issue is None or request.path_params["prop"] not in issue["properties"]:
            return jira_error(404, f"The property with key '{request.path_params['prop']}' does not exist.")
        del issue["properties"][request.path_params["prop"]]
        return Response(status_code=204)

    # -- transitions ------------------------------------------------------------------------

    async def transitions(self, request: Request) -> Response:
        issue = self._issue(request)
        if issue is None:
            return jira_error(404, NOT_FOUND)
        renderer = self._renderer(request)
        available = [t for t in TRANSITIONS if t.source == issue["status"].lower()]
        return JSONResponse({"expand": "transitions", "transitions": [
            {"id": t.id, "name": t.name, "to": renderer.status(t.target), "hasScreen": False, "isGlobal": False,
             "isInitial": False, "isAvailable": True, "isConditional": False, "isLooped": False}
            for t in available]})

    async def transition(self, request: Request) -> Response:
        issue = self._writable(request)
        if isinstance(issue, Response):
            return issue
        body = await _json(request) or {}
        wanted = str((body.get("transition") or {}).get("id", ""))
        match = next((t for t in TRANSITIONS if t.id == wanted and t.source == issue["status"].lower()), None)
        if match is None:
            return jira_error(400, f"Transition id '{wanted}' is not valid for this issue.")
        assert match.target.lower() in STATUSES
        self.data.update(issue, {"status": match.target}, author=request.state.account)
        self.sim.emit("jira:issue_updated", issue, request.state.account, changed=["status"])
        return Response(status_code=204)
