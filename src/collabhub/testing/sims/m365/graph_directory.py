"""Directory routes: users, groups and members, places (rooms, room lists), subscriptions."""

from __future__ import annotations

import base64
import json
from typing import Any

from collabhub.testing.sims.m365.router import GraphRequest, GraphResponse, Router, graph_error
from collabhub.testing.sims.m365.state import SimState
from collabhub.testing.sims.m365.subscriptions import SubscriptionBook

__all__ = ["register_directory_routes"]


def _skip_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))["o"])
    except (ValueError, KeyError, TypeError):
        return -1


def _select(item: dict[str, Any], select: str | None) -> dict[str, Any]:
    if not select:
        return item
    wanted = {s.strip() for s in select.split(",")} | {"id", "@odata.type"}
    return {k: v for k, v in item.items() if k in wanted}


def _paged(req: GraphRequest, items: list[dict[str, Any]], context: str, *, default_top: int = 100,
           use_skip: bool = False) -> GraphResponse:
    top = int(req.query.get("$top") or default_top)
    start = int(req.query.get("$skip") or 0) if use_skip else _offset(req.query.get("$skiptoken"))
    if start < 0:
        return graph_error(400, "Request_BadRequest", "The $skiptoken is malformed.")
    page = [_select(i, req.query.get("$select")) for i in items[start:start + top]]
    body: dict[str, Any] = {"@odata.context": f"{req.base}/$metadata#{context}", "value": page}
    if start + top < len(items):
        keep = {k: v for k, v in req.query.items() if k not in ("$skip", "$skiptoken")}
        query = "&".join(f"{k}={v}" for k, v in keep.items())
        token = f"$skip={start + top}" if use_skip else f"$skiptoken={_skip_token(start + top)}"
        body["@odata.nextLink"] = f"{req.base}{req.path}?{query + '&' if query else ''}{token}"
    if req.query.get("$count") == "true":
        body["@odata.count"] = len(items)
    return GraphResponse(200, body)


class DirectoryRoutes:
    def __init__(self, state: SimState) -> None:
        self.state = state
        self.users_by_id = {}

    def _users(self) -> dict[str, dict[str, Any]]:
        if len(self.users_by_id) != len(self.state.directory.users):
            self.users_by_id = {u["id"]: u for u in self.state.directory.users}
        return self.users_by_id

    def user(self, req: GraphRequest, user: str) -> GraphResponse:
        mailbox = self.state.directory.resolve(user)
        if mailbox is None:
            return graph_error(404, "Request_ResourceNotFound",
                               f"Resource '{user}' does not exist or one of its queried reference-property objects "
                               "are not present.")
        item = self._users().get(mailbox.id) or {"id": mailbox.id, "displayName": mailbox.display_name,
                                                 "mail": mailbox.address, "userPrincipalName": mailbox.address}
        return GraphResponse(200, {"@odata.context": f"{req.base}/$metadata#users/$entity",
                                   **_select(item, req.query.get("$select"))})

    def group(self, req: GraphRequest, group: str) -> GraphResponse:
        item = self.state.directory.groups.get(group)
        if item is None:
            return graph_error(404, "Request_ResourceNotFound", f"Resource '{group}' does not exist.")
        return GraphResponse(200, {"@odata.context": f"{req.base}/$metadata#groups/$entity",
                                   **_select(item, req.query.get("$select"))})

    def members(self, req: GraphRequest, group: str) -> GraphResponse:
        if group not in self.state.directory.groups:
            return graph_error(404, "Request_ResourceNotFound", f"Resource '{group}' does not exist.")
        users = self._users()
        items = [{"@odata.type": "#microsoft.graph.user", **users[m]}
                 for m in self.state.directory.group_members.get(group, []) if m in users]
        return _paged(req, items, "directoryObjects")

    # -- places ----------------------------------------------------------------------------

    def rooms(self, req: GraphRequest) -> GraphResponse:
        items = [{"@odata.type": "#microsoft.graph.room", **r} for r in self.state.directory.rooms]
        return _paged(req, items, "places/microsoft.graph.room", use_skip=True)

    def room_lists(self, req: GraphRequest) -> GraphResponse:
        items = [{"@odata.type": "#microsoft.graph.roomList", **r} for r in self.state.directory.room_lists]
        return _paged(req, items, "places/microsoft.graph.roomList", use_skip=True)

    def rooms_in_list(self, req: GraphRequest, room_list: str) -> GraphResponse:
        emails = self.state.directory.room_list_members.get(room_list.lower())
        if emails is None:
            return graph_error(404, "ErrorItemNotFound", f"Room list '{room_list}' was not found.")
        items = [{"@odata.type": "#microsoft.graph.room", **r} for r in self.state.directory.rooms
                 if r["emailAddress"].lower() in emails]
        return _paged(req, items, "places('" + room_list + "')/microsoft.graph.roomlist/rooms", use_skip=True)

    # -- subscriptions ---------------------------------------------------------------------

    @property
    def subs(self) -> SubscriptionBook:
        return self.state.subscriptions

    async def create_subscription(self, req: GraphRequest) -> GraphResponse:
        body = req.body if isinstance(req.body, dict) else {}
        missing = [k for k in ("changeType", "notificationUrl", "resource", "expirationDateTime") if not body.get(k)]
        if missing:
            return graph_error(400, "InvalidRequest", f"Missing required properties: {', '.join(missing)}.")
        if len(body.get("clientState") or "") > 128:
            return graph_error(400, "InvalidRequest", "clientState may be at most 128 characters.")
        if self.subs.mailbox_of(body["resource"]) is None:
            return graph_error(404, "ResourceNotFound", f"Resource '{body['resource']}' was not found.")
        expiry, error = self.subs.clamp_expiry(body["expirationDateTime"])
        if error or expiry is None:
            return graph_error(400, "InvalidRequest", error or "bad expirationDateTime")
        for url in filter(None, (body["notificationUrl"], body.get("lifecycleNotificationUrl"))):
            problem = await self.subs.validate(url)
            if problem:
                return graph_error(400, "ValidationError", problem)
        app_id = req.headers.get("x-sim-app-id", "")
        item = self.subs.add(body, expiry, app_id)
        return GraphResponse(201, {"@odata.context": f"{req.base}/$metadata#subscriptions/$entity", **item})

    def list_subscriptions(self, req: GraphRequest) -> GraphResponse:
        items = [self.subs.public(s) for s in self.subs.items.values()]
        return _paged(req, items, "subscriptions")

    def get_subscription(self, req: GraphRequest, sub_id: str) -> GraphResponse:
        item = self.subs.items.get(sub_id)
        if item is None:
            return graph_error(404, "ResourceNotFound", f"The object was not found: {sub_id}")
        return GraphResponse(200, self.subs.public(item))

    def patch_subscription(self, req: GraphRequest, sub_id: str) -> GraphResponse:
        item = self.subs.items.get(sub_id)
        if item is None:
            return graph_error(404, "ResourceNotFound", f"The object was not found: {sub_id}")
        body = req.body if isinstance(req.body, dict) else {}
        if "expirationDateTime" in body:
            expiry, error = self.subs.clamp_expiry(body["expirationDateTime"])
            if error or expiry is None:
                return graph_error(400, "InvalidRequest", error or "bad expirationDateTime")
            item["expirationDateTime"] = expiry.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
        if "notificationUrl" in body:
            item["notificationUrl"] = body["notificationUrl"]
        return GraphResponse(200, self.subs.public(item))

    def delete_subscription(self, req: GraphRequest, sub_id: str) -> GraphResponse:
        if self.subs.items.pop(sub_id, None) is None:
            return graph_error(404, "ResourceNotFound", f"The object was not found: {sub_id}")
        return GraphResponse(204)

    def reauthorize(self, req: GraphRequest, sub_id: str) -> GraphResponse:
        if sub_id not in self.subs.items:
            return graph_error(404, "ResourceNotFound", f"The object was not found: {sub_id}")
        self.subs.items[sub_id]["reauthorized"] = self.subs.items[sub_id].get("reauthorized", 0) + 1
        return GraphResponse(204)


def register_directory_routes(router: Router, state: SimState) -> DirectoryRoutes:
    routes = DirectoryRoutes(state)
    router.add("GET", "/users/{user}", routes.user)
    router.add("GET", "/groups/{group}", routes.group)
    router.add("GET", "/groups/{group}/members", routes.members)
    router.add("GET", "/groups/{group}/members/microsoft.graph.user", routes.members)
    router.add("GET", "/groups/{group}/transitiveMembers/microsoft.graph.user", routes.members)
    router.add("GET", "/places/microsoft.graph.room", routes.rooms)
    router.add("GET", "/places/microsoft.graph.roomlist", routes.room_lists)
    router.add("GET", "/places/{room_list}/microsoft.graph.roomlist/rooms", routes.rooms_in_list)
    router.add("POST", "/subscriptions", routes.create_subscription)
    router.add("GET", "/subscriptions", routes.list_subscriptions)
    router.add("GET", "/subscriptions/{sub_id}", routes.get_subscription)
    router.add("PATCH", "/subscriptions/{sub_id}", routes.patch_subscription)
    router.add("DELETE", "/subscriptions/{sub_id}", routes.delete_subscription)
    router.add("POST", "/subscriptions/{sub_id}/reauthorize", routes.reauthorize)
    return routes
