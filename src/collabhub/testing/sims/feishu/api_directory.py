"""Simulated contact v3 (departments, users) and vc v1 meeting rooms."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from collabhub.testing.sims.feishu.responses import error, ok, page_answer, public
from collabhub.testing.sims.feishu.state import FeishuState

__all__ = ["directory_routes"]


def directory_routes(state: FeishuState) -> list[Route]:
    def departments(root: str) -> list[dict] | None:
        if root == "0":
            return state.departments
        if root not in state.department_by_id:
            return None
        return []  # the sample org chart is one level deep

    async def children(request: Request) -> Response:
        found = departments(request.path_params["department_id"])
        if found is None:
            return error(40004, "no dept authority error", status=400)
        return page_answer(found, request, default_size=10, max_size=50, scope="dept-children",
                           bad_token=(40001, "invalid page_token"), render=public)

    async def department(request: Request) -> Response:
        dept = state.department_by_id.get(request.path_params["department_id"])
        if dept is None:
            return error(40004, "no dept authority error", status=400)
        return ok({"department": public(dept)})

    async def find_by_department(request: Request) -> Response:
        dept = request.query_params.get("department_id", "")
        if dept != "0" and dept not in state.department_by_id:
            return error(40004, "no dept authority error", status=400)
        key = state.department_by_id[dept]["open_department_id"] if dept != "0" else "0"
        ids = state.users_by_department.get(key, [])
        return page_answer(ids, request, default_size=10, max_size=50, scope=f"users:{key}",
                           bad_token=(40001, "invalid page_token"), render=lambda u: public(state.users[u]))

    async def user(request: Request) -> Response:
        item = state.users.get(request.path_params["user_id"])
        if item is None:
            return error(41050, "no user authority error", status=400)
        return ok({"user": public(item)})

    async def rooms(request: Request) -> Response:
        level = request.query_params.get("room_level_id")
        items = [r for r in state.rooms if not level or r["room_level_id"] == level or level in r["path"]]
        return page_answer(items, request, default_size=20, max_size=100, scope=f"rooms:{level or ''}",
                           bad_token=(121003, "param error"), key="rooms", render=public)

    async def room(request: Request) -> Response:
        item = state.room_by_id.get(request.path_params["room_id"])
        if item is None:
            return error(121004, "data not exist", status=404)
        return ok({"room": public(item)})

    return [
        Route("/open-apis/contact/v3/departments/{department_id}/children", children),
        Route("/open-apis/contact/v3/departments/{department_id}", department),
        Route("/open-apis/contact/v3/users/find_by_department", find_by_department),
        Route("/open-apis/contact/v3/users/{user_id}", user),
        Route("/open-apis/vc/v1/rooms", rooms),
        Route("/open-apis/vc/v1/rooms/{room_id}", room),
    ]
