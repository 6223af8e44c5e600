"""Simulated token endpoints (new API and legacy oapi) and the legacy contacts API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

if TYPE_CHECKING:
    from collabhub.testing.sims.dingtalk.simulator import DingTalkSimulator

__all__ = ["directory_routes"]

USER_PAGE_MAX = 100


def _ok(**body: Any) -> JSONResponse:
    return JSONResponse({"errcode": 0, "errmsg": "ok", **body, "request_id": "sim"})


def _err(code: int, message: str) -> JSONResponse:
    return JSONResponse({"errcode": code, "errmsg": message, "request_id": "sim"})


def directory_routes(sim: DingTalkSimulator) -> list[Route]:
    state = sim.state

    async def new_token(request: Request) -> JSONResponse:
        body = await request.json()
        if body.get("appKey") != sim.app_key or body.get("appSecret") != sim.app_secret:
            return JSONResponse({"code": "invalidClientIdOrSecret", "message": "无效的clientId或者clientSecret",
                                 "requestid": "sim"}, status_code=400)
        return JSONResponse({"accessToken": sim.issue_token("new"), "expireIn": 7200})

    async def legacy_token(request: Request) -> JSONResponse:
        q = request.query_params
        if q.get("appkey") != sim.app_key or q.get("appsecret") != sim.app_secret:
            return _err(40089, "不合法的corpid或corpsecret")
        return _ok(access_token=sim.issue_token("legacy"), expires_in=7200)

    async def listsub(request: Request) -> JSONResponse:
        dept = int((await request.json()).get("dept_id") or 1)
        if dept not in state.departments:
            return _err(60003, "部门不存在")
        return _ok(result=[state.departments[c] for c in state.children.get(dept, [])])

    async def listsubid(request: Request) -> JSONResponse:
        dept = int((await request.json()).get("dept_id") or 1)
        if dept not in state.departments:
            return _err(60003, "部门不存在")
        return _ok(result={"dept_id_list": list(state.children.get(dept, []))})

    async def dept_get(request: Request) -> JSONResponse:
        dept = state.departments.get(int((await request.json()).get("dept_id") or 0))
        return _ok(result=dept) if dept else _err(60003, "部门不存在")

    async def user_list(request: Request) -> JSONResponse:
        body = await request.json()
        dept, cursor, size = int(body.get("dept_id") or 1), int(body.get("cursor") or 0), int(body.get("size") or 10)
        if size > USER_PAGE_MAX:
            return _err(40035, "size must be at most 100")
        if dept not in state.departments:
            return _err(60003, "部门不存在")
        members = state.users_by_dept.get(dept, [])
        chunk = [state.users[u] for u in members[cursor:cursor + size]]
        more = cursor + size < len(members)
        return _ok(result={"has_more": more, "next_cursor": cursor + size if more else None, "list": chunk})

    async def user_get(request: Request) -> JSONResponse:
        user = state.users.get(str((await request.json()).get("userid")))
        return _ok(result=user) if user else _err(60121, "找不到该用户")

    return [
        Route("/v1.0/oauth2/accessToken", new_token, methods=["POST"]),
        Route("/gettoken", legacy_token, methods=["GET"]),
        Route("/topapi/v2/department/listsub", listsub, methods=["POST"]),
        Route("/topapi/v2/department/listsubid", listsubid, methods=["POST"]),
        Route("/topapi/v2/department/get", dept_get, methods=["POST"]),
        Route("/topapi/v2/user/list", user_list, methods=["POST"]),
        Route("/topapi/v2/user/get", user_get, methods=["POST"]),
    ]
