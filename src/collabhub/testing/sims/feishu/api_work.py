"""Simulated task v2 (tasklists, tasks with ``client_token``, PATCH with ``update_fields``) and approval v4."""

from __future__ import annotations

import bisect
import time
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from collabhub.testing.sims.feishu.responses import error, ok, page_answer, public
from collabhub.testing.sims.feishu.state import FeishuState

__all__ = ["TASK_FIELDS", "work_routes"]

TASK_FIELDS = {"summary", "description", "due", "start", "completed_at", "extra", "repeat_rule", "mode",
               "is_milestone", "custom_complete"}
_SUMMARY_FIELDS = ("guid", "summary", "completed_at", "start", "due", "members", "subtask_count")


def _now_ms() -> str:
    return str(int(time.time() * 1000))


def work_routes(state: FeishuState) -> list[Route]:
    # -- tasks ----------------------------------------------------------------------------

    async def tasklists(request: Request) -> Response:
        return page_answer(state.tasklists, request, default_size=50, max_size=100, scope="tasklists",
                           bad_token=(1470400, "invalid page_token"), render=public)

    async def tasklist_tasks(request: Request) -> Response:
        guid = request.path_params["tasklist_guid"]
        if guid not in state.tasklist_tasks:
            return error(1470404, "tasklist not found", status=404)
        guids = [g for g in state.tasklist_tasks[guid] if g in state.tasks]
        completed = request.query_params.get("completed")
        if completed in ("true", "false"):
            guids = [g for g in guids if (state.tasks[g]["completed_at"] != "0") == (completed == "true")]
        return page_answer(guids, request, default_size=50, max_size=100, scope=f"tl:{guid}",
                           bad_token=(1470400, "invalid page_token"),
                           render=lambda g: {k: state.tasks[g].get(k) for k in _SUMMARY_FIELDS})

    async def get_task(request: Request) -> Response:
        task = state.tasks.get(request.path_params["task_guid"])
        if task is None:
            return error(1470404, "task not found", status=404)
        return ok({"task": public(task)})

    async def create_task(request: Request) -> Response:
        body: dict[str, Any] = await request.json()
        token = body.get("client_token")
        with state.lock:
            if token and token in state.client_tokens:
                return ok({"task": public(state.tasks[state.client_tokens[token]])})
            if not body.get("summary"):
                return error(1470400, "summary is required")
            members = body.get("members") or []
            if len(members) > 50:
                return error(1470400, "at most 50 members per request")
            lists = [t.get("tasklist_guid") for t in body.get("tasklists") or []]
            if any(t not in state.tasklist_tasks for t in lists):
                return error(1470404, "tasklist not found", status=404)
            guid = str(uuid.uuid4())
            now = _now_ms()
            completed = str(body.get("completed_at") or "0")
            task = {"guid": guid, "summary": body["summary"], "description": body.get("description", ""),
                    "due": body.get("due"), "start": body.get("start"), "reminders": [],
                    "creator": {"id": "cli_app", "type": "app"}, "members": members, "completed_at": completed,
                    "status": "done" if completed != "0" else "todo", "custom_fields": [],
                    "tasklists": [{"tasklist_guid": t} for t in lists], "repeat_rule": "", "parent_task_guid": "",
                    "is_milestone": bool(body.get("is_milestone")), "created_at": now, "updated_at": now,
                    "url": f"https://applink.feishu.cn/client/todo/detail?guid={guid}",
                    "task_id": f"t{200000 + len(state.tasks)}", "subtask_count": 0, "mode": 2}
            state.tasks[guid] = task
            for t in lists:
                state.tasklist_tasks[t].append(guid)
            if token:
                state.client_tokens[token] = guid
        return ok({"task": public(task)})

    async def patch_task(request: Request) -> Response:
        guid = request.path_params["task_guid"]
        body: dict[str, Any] = await request.json()
        with state.lock:
            task = state.tasks.get(guid)
            if task is None:
                return error(1470404, "task not found", status=404)
            fields = body.get("update_fields") or []
            values = body.get("task") or {}
            if not fields or any(f not in TASK_FIELDS for f in fields):
                return error(1470400, f"update_fields must name some of {sorted(TASK_FIELDS)}")
            for name in fields:  # listed but unset: cleared, as Feishu does
                task[name] = values.get(name, "0" if name == "completed_at" else None)
            task["status"] = "done" if str(task.get("completed_at") or "0") != "0" else "todo"
            task["updated_at"] = _now_ms()
        return ok({"task": public(task)})

    # -- approvals ------------------------------------------------------------------------

    async def approval(request: Request) -> Response:
        code = request.path_params["approval_code"]
        if code not in state.approvals:
            return error(1390002, "approval code not found")
        return ok({"approval_code": code, **state.approvals[code]})

    async def subscribe(request: Request) -> Response:
        code = request.path_params["approval_code"]
        if code not in state.approvals:
            return error(1390002, "approval code not found")
        if code in state.subscriptions:
            return error(1390007, "subscription existed")
        state.subscriptions.add(code)
        return ok({})

    async def instances(request: Request) -> Response:
        q = request.query_params
        code = q.get("approval_code")
        if not code or not q.get("start_time") or not q.get("end_time"):
            return error(1390001, "approval_code, start_time and end_time are required")
        if code not in state.approvals:
            return error(1390002, "approval code not found")
        start, end = int(q["start_time"]), int(q["end_time"])
        bucket = state.instances_by_approval.get(code, [])
        lo = bisect.bisect_left(bucket, (start, ""))
        hi = bisect.bisect_right(bucket, (end, "\uffff"))
        codes = [c for _, c in bucket[lo:hi]]
        return page_answer(codes, request, default_size=100, max_size=100, scope=f"inst:{code}:{start}:{end}",
                           bad_token=(1390001, "invalid page_token"), key="instance_code_list")

    async def instance(request: Request) -> Response:
        item = state.instances.get(request.path_params["instance_code"])
        if item is None:
            return error(1390003, "instance code not found")
        return ok(public(item))

    return [
        Route("/open-apis/task/v2/tasklists", tasklists),
        Route("/open-apis/task/v2/tasklists/{tasklist_guid}/tasks", tasklist_tasks),
        Route("/open-apis/task/v2/tasks", create_task, methods=["POST"]),
        Route("/open-apis/task/v2/tasks/{task_guid}", get_task, methods=["GET"]),
        Route("/open-apis/task/v2/tasks/{task_guid}", patch_task, methods=["PATCH"]),
        Route("/open-apis/approval/v4/approvals/{approval_code}", approval),
        Route("/open-apis/approval/v4/approvals/{approval_code}/subscribe", subscribe, methods=["POST"]),
        Route("/open-apis/approval/v4/instances", instances),
        Route("/open-apis/approval/v4/instances/{instance_code}", instance),
    ]
