"""A tiny Graph request router shared by plain HTTP requests and ``$batch`` inner requests.

Handlers take a :class:`GraphRequest` and return a :class:`GraphResponse`; the same handler
serves ``GET /v1.0/users/{id}/events/{id}`` and an inner batch request for ``/users/{id}/events/{id}``.
"""

from __future__ import annotations

import inspect
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = ["GraphRequest", "GraphResponse", "Router", "graph_error"]


@dataclass
class GraphRequest:
    """One Graph call: ``path`` is relative to ``/v1.0`` and starts with ``/``."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    base: str  # e.g. https://127.0.0.1:8443/v1.0

    @classmethod
    def from_url(cls, method: str, url: str, headers: dict[str, str], body: Any, base: str) -> GraphRequest:
        parts = urlsplit(url)
        path = unquote(parts.path)
        if path.startswith("/v1.0"):
            path = path[len("/v1.0"):]
        if not path.startswith("/"):
            path = "/" + path
        return cls(method.upper(), path, dict(parse_qsl(parts.query, keep_blank_values=True)),
                   {k.lower(): v for k, v in headers.items()}, body, base)

    def prefer(self, name: str) -> str | None:
        """A ``Prefer`` preference value, e.g. ``prefer("odata.maxpagesize")``."""
        for part in self.headers.get("prefer", "").split(","):
            key, _, value = part.strip().partition("=")
            if key.strip().lower() == name.lower():
                return value.strip().strip('"')
        return None


@dataclass
class GraphResponse:
    status: int = 200
    body: Any = None  # dict / list (JSON), bytes (already JSON), str (text), or None
    headers: dict[str, str] = field(default_factory=dict)


def graph_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> GraphResponse:
    """An error in Graph's shape: ``{"error": {"code", "message", "innerError"}}``."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    inner = {"date": now, "request-id": str(uuid.uuid4()), "client-request-id": str(uuid.uuid4())}
    return GraphResponse(status, {"error": {"code": code, "message": message, "innerError": inner}}, headers or {})


Handler = Callable[..., Any]  # returns a GraphResponse, or an awaitable of one


class Router:
    """Regex routes ``(method, pattern) -> handler(request, **groups)``."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "/?$", re.IGNORECASE)
        self._routes.append((method.upper(), regex, handler))

    async def dispatch(self, request: GraphRequest) -> GraphResponse:
        allowed = False
        for method, regex, handler in self._routes:
            match = regex.match(request.path)
            if match is None:
                continue
            if method != request.method:
                allowed = True
                continue
            result = handler(request, **match.groupdict())
            return await result if inspect.isawaitable(result) else result
        if allowed:
            return graph_error(405, "Request_BadRequest", f"{request.method} is not allowed on {request.path}")
        return graph_error(400, "BadRequest", f"Resource not found for the segment '{request.path.strip('/')}'.")
