"""Simulated todo v1.0 and workflow (approval) v1.0 APIs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from collabhub.testing.sims.dingtalk.state import ms

if TYPE_CHECKING:
    from collabhub.testing.sims.dingtalk.simulator import DingTalkSimulator

__all__ = ["todo_routes", "workflow_routes"]

TODO_PAGE = 20
APPROVAL_PAGE_MAX = 20
_CARD_FIELDS = ("taskId", "subject", "dueTime", "isDone", "createdTime", "modifiedTime", "creatorId", "sourceId",
                "priority", "bizTag", "detailUrl")
_WRITABLE = ("subject", "description", "dueTime", "done", "executorIds", "participantIds")


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "requestid": "sim"}, status_code=status)


def _card(todo: dict[str, Any]) -> dict[str, Any]:
    card = {"taskId": todo["id"], "isDone": todo["done"], **todo}
    return {k: card.get(k) for k in _CARD_FIELDS}


def todo_routes(sim: DingTalkSimulator) -> list[Route]:
    state = sim.state

    async def query(request: Request) -> JSONResponse:
        union_id = request.path_params["union_id"]
        body = await request.json()
        ids = state.user_todos.get(union_id, set())
        todos = sorted((state.todos[i] for i in ids), key=lambda t: (t["createdTime"], t["id"]))
        if body.get("isDone") is not None:
            todos = [t for t in todos if bool(t["done"]) == bool(body["isDone"])]
        off = int(body.get("nextToken") or 0)
        chunk = todos[off:off + TODO_PAGE]
        out: dict[str, Any] = {"todoCards": [_card(t) for t in chunk], "requestId": "sim"}
        if off + TODO_PAGE < len(todos):
            out["nextToken"] = str(off + TODO_PAGE)
        return JSONResponse(out)

    async def get(request: Request) -> JSONResponse:
        todo = state.todos.get(request.path_params["task_id"])
        if todo is None:
            return _error(400, "todo.task.notExist", "待办不存在")
        return JSONResponse({**todo, "requestId": "sim"})

    async def by_source(request: Request) -> JSONResponse:
        union_id, source = request.path_params["union_id"], request.path_params["source_id"]
        for task_id in sorted(state.user_todos.get(union_id, ())):
            if state.todos[task_id].get("sourceId") == source:
                return JSONResponse({**state.todos[task_id], "requestId": "sim"})
        return _error(400, "todo.task.notExist", "待办不存在")

    async def create(request: Request) -> JSONResponse:
        union_id = request.path_params["union_id"]
        body = await request.json()
        if not body.get("subject"):
            return _error(400, "invalidParameter.subject", "subject is required")
        now = ms(sim.now())
        task_id = state.new_id("dttask")
        todo = {"id": task_id, "subject": body["subject"], "description": body.get("description") or "",
                "startTime": None, "dueTime": body.get("dueTime"), "finishTime": None, "done": False,
                "executorIds": list(body.get("executorIds") or []),
                "participantIds": list(body.get("participantIds") or []), "creatorId": union_id,
                "modifierId": request.query_params.get("operatorId") or union_id, "createdTime": now,
                "modifiedTime": now, "detailUrl": body.get("detailUrl") or {
                    "pcUrl": f"https://todo.dingtalk.com/detail/{task_id}", "appUrl": f"dingtalk://todo/{task_id}"},
                "source": "collabhub", "sourceId": body.get("sourceId") or "", "bizTag": "",
                "priority": body.get("priority") or 20, "isOnlyShowExecutor": bool(body.get("isOnlyShowExecutor")),
                "tenantId": "", "tenantType": ""}
        state.add_todo(todo)
        sim.todo_creates += 1
        return JSONResponse({**todo, "requestId": "sim"})

    async def update(request: Request) -> JSONResponse:
        todo = state.todos.get(request.path_params["task_id"])
        if todo is None:
            return _error(400, "todo.task.notExist", "待办不存在")
        body = await request.json()
        for key in _WRITABLE:
            if key in body and body[key] is not None:
                todo[key] = body[key]
        todo["finishTime"] = ms(sim.now()) if todo["done"] else None
        todo["modifiedTime"] = ms(sim.now())
        state.add_todo(todo)
        return JSONResponse({"result": True, "requestId": "sim"})

    async def delete(request: Request) -> JSONResponse:
        todo = state.todos.pop(request.path_params["task_id"], None)
        for ids in state.user_todos.values():
            ids.discard(request.path_params["task_id"])
        return JSONResponse({"result": todo is not None, "requestId": "sim"})

    base = "/v1.0/todo/users/{union_id}"
    return [
        Route(base + "/org/tasks/query", query, methods=["POST"]),
        Route(base + "/tasks/sources/{source_id}", by_source, methods=["GET"]),
        Route(base + "/tasks", create, methods=["POST"]),
        Route(base + "/tasks/{task_id}", get, methods=["GET"]),
        Route(base + "/tasks/{task_id}", update, methods=["PUT"]),
        Route(base + "/tasks/{task_id}", delete, methods=["DELETE"]),
    ]


def workflow_routes(sim: DingTalkSimulator) -> list[Route]:
    state = sim.state

    async def instance_ids(request: Request) -> JSONResponse:
        body = await request.json()
        size = int(body.get("maxResults") or 20)
        if size > APPROVAL_PAGE_MAX:
            return _error(400, "invalidParameter.maxResults", "maxResults must be at most 20")
        start, end = int(body.get("startTime") or 0), int(body.get("endTime") or 2**62)
        found = sorted((a["createMs"], i) for i, a in state.approvals.items()
                       if a["processCode"] == body.get("processCode") and start <= a["createMs"] <= end)
        off = int(body.get("nextToken") or 0)
        chunk = [i for _, i in found[off:off + size]]
        result: dict[str, Any] = {"list": chunk}
        if off + size < len(found):
            result["nextToken"] = str(off + size)
        return JSONResponse({"result": result, "success": True})

    async def instance(request: Request) -> JSONResponse:
        approval = state.approvals.get(request.query_params.get("processInstanceId") or "")
        if approval is None:
            return _error(400, "processInstanceNotFound", "审批实例不存在")
        return JSONResponse({"result": approval["result"], "success": True})

    return [
        Route("/v1.0/workflow/processes/instanceIds/query", instance_ids, methods=["POST"]),
        Route("/v1.0/workflow/processInstances", instance, methods=["GET"]),
    ]
