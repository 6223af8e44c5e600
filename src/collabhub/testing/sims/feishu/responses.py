"""Feishu's answer shapes: ``{"code": 0, "msg": "success", "data": ...}`` and coded errors."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from collabhub.testing.sims.feishu.state import decode_token, encode_token

__all__ = ["error", "int_param", "ok", "page_answer", "paged", "public"]


def ok(data: Any = None) -> JSONResponse:
    return JSONResponse({"code": 0, "msg": "success", "data": data if data is not None else {}})


def error(code: int, msg: str, *, status: int = 400, headers: Mapping[str, str] | None = None,
          **detail: Any) -> JSONResponse:
    """A coded Feishu error; ``error.log_id`` is always there, as in the real answers."""
    body: dict[str, Any] = {"code": code, "msg": msg,
                            "error": {"log_id": uuid.uuid4().hex[:24].upper(), **detail}}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def public(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record without the simulator's private ``_keys``."""
    return {k: v for k, v in record.items() if not k.startswith("_")}


def int_param(request: Request, name: str, default: int, *, low: int = 1, high: int = 1000) -> int:
    raw = request.query_params.get(name)
    try:
        value = int(raw) if raw not in (None, "") else default
    except ValueError:
        value = default
    return max(low, min(high, value))


def paged(items: Sequence[Any], request: Request, *, default_size: int, max_size: int,
          scope: str) -> tuple[Sequence[Any], dict[str, Any]] | None:
    """Slice ``items`` by ``page_size``/``page_token``; ``None`` when the token is foreign or bad."""
    size = int_param(request, "page_size", default_size, high=max_size)
    offset = 0
    token = request.query_params.get("page_token")
    if token:
        data = decode_token(token)
        if data is None or data.get("s") != scope:
            return None
        offset = int(data.get("o", 0))
    chunk = items[offset:offset + size]
    more = offset + size < len(items)
    meta: dict[str, Any] = {"has_more": more}
    if more:
        meta["page_token"] = encode_token({"s": scope, "o": offset + size})
    return chunk, meta


def page_answer(items: Sequence[Any], request: Request, *, default_size: int, max_size: int, scope: str,
                bad_token: tuple[int, str], key: str = "items",
                render: Callable[[Any], Any] | None = None) -> JSONResponse:
    """One page of ``items`` as ``{key: [render(item)...], has_more, page_token?}``, or the API's
    ``bad_token`` ``(code, msg)`` error when the page token is foreign or bad."""
    result = paged(items, request, default_size=default_size, max_size=max_size, scope=scope)
    if result is None:
        return error(*bad_token)
    chunk, meta = result
    return ok({key: [render(i) for i in chunk] if render is not None else list(chunk), **meta})
