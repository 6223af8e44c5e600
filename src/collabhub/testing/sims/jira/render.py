"""Turn simulator issues into Jira's JSON: field selection, v2 strings vs v3 ADF documents, users."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from collabhub.testing.sims.jira.data import ISSUE_TYPES, PRIORITIES, SECURITY_LEVEL, STATUSES, JiraData

__all__ = ["ALL_FIELDS", "Renderer", "adf_to_text", "text_to_adf"]

ALL_FIELDS = ("summary", "description", "status", "assignee", "reporter", "project", "labels", "priority",
              "duedate", "parent", "components", "security", "created", "updated", "resolutiondate",
              "issuetype", "resolution", "comment")
EPIC_LINK_FIELD = "customfield_10008"


def component_id(name: str) -> str:
    """A stable id for a component name."""
    return str(10000 + sum(ord(ch) for ch in name) % 90000)


def text_to_adf(text: str | None) -> dict[str, Any] | None:
    """Plain text as an Atlassian Document Format document: one paragraph per line."""
    if text is None:
        return None
    content = []
    for line in text.split("\n"):
        content.append({"type": "paragraph", "content": [{"type": "text", "text": line}] if line else []})
    return {"type": "doc", "version": 1, "content": content}


def adf_to_text(node: Any) -> str | None:
    """The text of an ADF document (paragraphs joined by newlines); strings pass through."""
    if node is None or isinstance(node, str):
        return node
    if not isinstance(node, dict):
        raise ValueError("an ADF document must be an object")

    def walk(n: dict[str, Any]) -> str:
        if n.get("type") == "text":
            return str(n.get("text", ""))
        if n.get("type") == "hardBreak":
            return "\n"
        return "".join(walk(c) for c in n.get("content", []) if isinstance(c, dict))

    if node.get("type") != "doc":
        raise ValueError("an ADF document must have type 'doc'")
    return "\n".join(walk(block) for block in node.get("content", []))


class Renderer:
    """Renders issues for one request: base URL, API version, and the caller's visibility."""

    def __init__(self, data: JiraData, base_url: str, version: str) -> None:
        self.data = data
        self.base = base_url.rstrip("/")
        self.version = version
        self.api = f"{self.base}/rest/api/{version}"

    def text(self, value: str | None) -> Any:
        return text_to_adf(value) if self.version == "3" else value

    def user(self, account_id: str | None) -> dict[str, Any] | None:
        if not account_id:
            return None
        user = self.data.users.get(account_id)
        if user is None:
            return None
        if self.data.deployment == "cloud":
            out = {"self": f"{self.api}/user?accountId={account_id}", "accountId": account_id,
                   "displayName": user["displayName"], "active": user["active"], "timeZone": user["timeZone"],
                   "accountType": "atlassian"}
            if user["email_visible"]:
                out["emailAddress"] = user["emailAddress"]
            return out
        return {"self": f"{self.api}/user?username={user['name']}", "name": user["name"], "key": user["key"],
                "emailAddress": user["emailAddress"], "displayName": user["displayName"], "active": user["active"],
                "timeZone": user["timeZone"]}

    def status(self, name: str) -> dict[str, Any]:
        s = STATUSES[name.lower()]
        return {"self": f"{self.api}/status/{s.id}", "description": "", "name": s.name, "id": s.id,
                "statusCategory": {"self": f"{self.api}/statuscategory/{s.category_id}", "id": s.category_id,
                                   "key": s.category_key, "colorName": s.color, "name": s.category_name}}

    def issuetype(self, name: str) -> dict[str, Any]:
        return {"self": f"{self.api}/issuetype/{ISSUE_TYPES.get(name, '10001')}", "id": ISSUE_TYPES.get(name, "10001"),
                "name": name, "subtask": name == "Sub-task", "hierarchyLevel": 1 if name == "Epic" else 0}

    def _parent(self, key: str | None) -> dict[str, Any] | None:
        parent = self.data.get(key) if key else None
        if parent is None:
            return None
        return {"id": parent["id"], "key": parent["key"], "self": f"{self.api}/issue/{parent['id']}",
                "fields": {"summary": parent["summary"], "status": self.status(parent["status"]),
                           "issuetype": self.issuetype(parent["issuetype"])}}

    def comment(self, issue: dict[str, Any], comment: dict[str, Any]) -> dict[str, Any]:
        return {"self": f"{self.api}/issue/{issue['id']}/comment/{comment['id']}", "id": comment["id"],
                "author": self.user(comment["author"]), "updateAuthor": self.user(comment["author"]),
                "body": self.text(comment["body"]) if isinstance(comment["body"], str) or comment["body"] is None
                else comment["body"],
                "created": self.data.ms_to_jira(comment["created"]),
                "updated": self.data.ms_to_jira(comment["updated"]),
                "jsdPublic": True}

    def _field(self, issue: dict[str, Any], name: str) -> Any:
        if name == EPIC_LINK_FIELD and self.data.deployment != "cloud":
            parent = self.data.get(issue["parent"]) if issue["parent"] else None
            return parent["key"] if parent and parent["issuetype"] == "Epic" else None
        getter: Callable[[dict[str, Any]], Any] | None = getattr(self, f"_f_{name}", None)
        return getter(issue) if getter else None

    def _f_summary(self, issue: dict[str, Any]) -> Any:
        return issue["summary"]

    def _f_description(self, issue: dict[str, Any]) -> Any:
        return self.text(issue["description"])

    def _f_status(self, issue: dict[str, Any]) -> Any:
        return self.status(issue["status"])

    def _f_assignee(self, issue: dict[str, Any]) -> Any:
        return self.user(issue["assignee"])

    def _f_reporter(self, issue: dict[str, Any]) -> Any:
        return self.user(issue["reporter"])

    def _f_project(self, issue: dict[str, Any]) -> Any:
        project = self.data.projects[issue["project"]]
        return {"self": f"{self.api}/project/{project['id']}", "id": project["id"], "key": project["key"],
                "name": project["name"], "projectTypeKey": "software"}

    def _f_labels(self, issue: dict[str, Any]) -> Any:
        return list(issue["labels"])

    def _f_priority(self, issue: dict[str, Any]) -> Any:
        if not issue["priority"]:
            return None
        pid = PRIORITIES.get(issue["priority"], "3")
        return {"self": f"{self.api}/priority/{pid}", "name": issue["priority"], "id": pid}

    def _f_duedate(self, issue: dict[str, Any]) -> Any:
        return issue["duedate"]

    def _f_parent(self, issue: dict[str, Any]) -> Any:
        return self._parent(issue["parent"])

    def _f_components(self, issue: dict[str, Any]) -> Any:
        return [{"self": f"{self.api}/component/{component_id(c)}", "id": component_id(c), "name": c}
                for c in issue["components"]]

    def _f_security(self, issue: dict[str, Any]) -> Any:
        if not issue["security"]:
            return None
        return {"self": f"{self.api}/securitylevel/{SECURITY_LEVEL['id']}", **SECURITY_LEVEL}

    def _f_created(self, issue: dict[str, Any]) -> Any:
        return self.data.ms_to_jira(issue["created"])

    def _f_updated(self, issue: dict[str, Any]) -> Any:
        return self.data.ms_to_jira(issue["updated"])

    def _f_resolutiondate(self, issue: dict[str, Any]) -> Any:
        return self.data.ms_to_jira(issue["resolutiondate"])

    def _f_resolution(self, issue: dict[str, Any]) -> Any:
        if not issue["resolutiondate"]:
            return None
        return {"self": f"{self.api}/resolution/10000", "id": "10000", "name": "Done"}

    def _f_issuetype(self, issue: dict[str, Any]) -> Any:
        return self.issuetype(issue["issuetype"])

    def _f_comment(self, issue: dict[str, Any]) -> Any:
        recent = issue["comments"][-20:]
        return {"comments": [self.comment(issue, c) for c in recent], "maxResults": len(recent),
                "total": len(issue["comments"]), "startAt": max(0, len(issue["comments"]) - 20)}

    def issue(self, issue: dict[str, Any], fields: list[str], *, properties: list[str] = (),
              expand: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
        out: dict[str, Any] = {"expand": "renderedFields,names,schema,operations,editmeta,changelog",
                               "id": issue["id"], "self": f"{self.api}/issue/{issue['id']}"}
        wanted = [f for f in fields if f not in ("id", "key")]
        if "key" in fields or wanted or properties or self.data.deployment != "cloud":
            out["key"] = issue["key"]
        if wanted:
            out["fields"] = {name: self._field(issue, name) for name in wanted}
        if properties:
            out["properties"] = {k: issue["properties"][k] for k in properties if k in issue["properties"]}
        if "changelog" in expand:
            histories = list(reversed(issue["history"]))[:20]
            out["changelog"] = {"startAt": 0, "maxResults": len(histories), "total": len(issue["history"]),
                                "histories": [self.history(h) for h in histories]}
        return out

    def history(self, entry: dict[str, Any], *, epoch: bool = False) -> dict[str, Any]:
        return {"id": entry["id"], "author": self.user(entry["author"]),
                "created": entry["created"] if epoch else self.data.ms_to_jira(entry["created"]),
                "items": entry["items"]}


def select_fields(raw: Any, default: tuple[str, ...]) -> list[str]:
    """Jira's ``fields`` parameter: a comma list or an array; ``*all``/``*navigable``; ``-name`` removes."""
    if raw is None or raw == "" or raw == []:
        return list(default)
    items = raw if isinstance(raw, list) else str(raw).split(",")
    out: list[str] = []
    for item in (str(i).strip() for i in items):
        if item in ("*all", "*navigable"):
            out.extend(f for f in ALL_FIELDS if item == "*all" or f != "comment")
        elif item.startswith("-"):
            out = [f for f in out if f != item[1:]]
        elif item:
            out.append(item)
    return list(dict.fromkeys(out))
