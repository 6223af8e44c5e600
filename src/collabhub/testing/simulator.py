"""Base for the vendor simulators: an ASGI app served over loopback by uvicorn in a thread.

A simulator subclass builds its routes; the base adds fault switches (latency, 429, 5xx,
timeouts, truncated bodies), a call log for API-call counting, and start/stop::

    with JiraSimulator(company) as sim:          # serves on 127.0.0.1:<free port>
        sim.faults.rate_limit(3, retry_after=1)   # the next 3 requests get 429
        ...
        assert sim.count("/rest/api/3/search/jql") == 2

Faults apply to requests whose path matches ``faults.path`` (a regex; all paths by default).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

__all__ = ["Call", "Faults", "Simulator", "SimulatorSpec", "free_port"]


class _CloseConnection(Exception):
    """Raised inside the app to make the server cut a response short."""


class _DropDeliberateCuts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, _CloseConnection)


logging.getLogger("uvicorn.error").addFilter(_DropDeliberateCuts())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Call:
    method: str
    path: str
    query: str
    status: int = 0


@dataclass
class Faults:
    """Switches a test flips to make the simulator misbehave. Counters decrement per request."""

    latency: float = 0.0
    path: str | None = None
    rate_limited: int = 0
    retry_after: float = 1.0
    server_errors: int = 0
    server_error_status: int = 503
    hangs: int = 0
    hang_seconds: float = 5.0
    truncated: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def rate_limit(self, n: int, *, retry_after: float = 1.0, path: str | None = None) -> None:
        with self._lock:
            self.rate_limited, self.retry_after = n, retry_after
            self.path = path

    def fail(self, n: int, *, status: int = 503, path: str | None = None) -> None:
        with self._lock:
            self.server_errors, self.server_error_status = n, status
            self.path = path

    def hang(self, n: int, *, seconds: float = 5.0, path: str | None = None) -> None:
        with self._lock:
            self.hangs, self.hang_seconds = n, seconds
            self.path = path

    def truncate(self, n: int, *, path: str | None = None) -> None:
        with self._lock:
            self.truncated = n
            self.path = path

    def reset(self) -> None:
        with self._lock:
            self.latency, self.path = 0.0, None
            self.rate_limited = self.server_errors = self.hangs = self.truncated = 0

    def take(self, path: str) -> str | None:
        """The fault to apply to this request, if any (and count it down)."""
        with self._lock:
            if self.path is not None and not re.search(self.path, path):
                return None
            for name in ("rate_limited", "server_errors", "hangs", "truncated"):
                if getattr(self, name) > 0:
                    setattr(self, name, getattr(self, name) - 1)
                    return name
        return None


class Simulator:
    """Subclass and implement :meth:`routes`. Override the ``*_response`` hooks for vendor formats."""

    name = "simulator"

    def __init__(self) -> None:
        self.faults = Faults()
        self.calls: list[Call] = []
        self._calls_lock = threading.Lock()
        self._app = Starlette(routes=list(self.routes()))
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""
        self.host = "127.0.0.1"
        self.port = 0

    # -- to implement / override ----------------------------------------------------------

    def routes(self) -> Sequence[BaseRoute]:
        raise NotImplementedError

    def rate_limit_response(self, request_path: str, retry_after: float) -> Response:
        return JSONResponse({"error": "rate limited"}, status_code=429,
                            headers={"Retry-After": str(int(retry_after) if retry_after >= 1 else retry_after)})

    def server_error_response(self, request_path: str, status: int) -> Response:
        return JSONResponse({"error": "unavailable"}, status_code=status, headers={"Retry-After": "0"})

    # -- ASGI with faults and call log ---------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        path = scope["path"]
        call = Call(scope["method"], path, scope.get("query_string", b"").decode())
        with self._calls_lock:
            self.calls.append(call)

        async def record(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                call.status = message["status"]
            await send(message)

        if self.faults.latency:
            await asyncio.sleep(self.faults.latency)
        fault = self.faults.take(path)
        if fault == "rate_limited":
            await self.rate_limit_response(path, self.faults.retry_after)(scope, receive, record)
            return
        if fault == "server_errors":
            await self.server_error_response(path, self.faults.server_error_status)(scope, receive, record)
            return
        if fault == "hangs":
            await asyncio.sleep(self.faults.hang_seconds)
        if fault == "truncated":
            body = json.dumps({"truncated": True, "padding": "x" * 64}).encode()
            await record({"type": "http.response.start", "status": 200,
                          "headers": [(b"content-type", b"application/json"),
                                      (b"content-length", str(len(body) * 2).encode())]})
            await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
            raise _CloseConnection  # uvicorn drops the connection mid-body: the client sees a truncated body
        await self._app(scope, receive, record)

    # -- call log --------------------------------------------------------------------------

    def count(self, path: str | None = None, *, method: str | None = None, regex: bool = False) -> int:
        """Requests seen, optionally only those whose path starts with (or matches) ``path``."""
        with self._calls_lock:
            calls = list(self.calls)
        out = 0
        for c in calls:
            if method and c.method != method:
                continue
            if path is not None and not (re.search(path, c.path) if regex else c.path.startswith(path)):
                continue
            out += 1
        return out

    def reset_calls(self) -> None:
        with self._calls_lock:
            self.calls.clear()

    # -- serving ---------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0, *, ssl_certfile: str | None = None,
              ssl_keyfile: str | None = None) -> str:
        """Serve in a background thread; return the base URL."""
        self.host, self.port = host, port or free_port()
        config = uvicorn.Config(self, host=self.host, port=self.port, log_level="warning", lifespan="off",
                                access_log=False, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile,
                                timeout_keep_alive=30)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"{self.name}-sim", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"{self.name} simulator did not start on {self.host}:{self.port}")
            time.sleep(0.01)
        scheme = "https" if ssl_certfile else "http"
        self.base_url = f"{scheme}://{self.host}:{self.port}"
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def transport(self) -> httpx.ASGITransport:
        """An in-process transport to this simulator (no sockets), for fast unit tests."""
        return httpx.ASGITransport(app=self)

    # -- outbound (webhooks the simulator delivers to the hub) ------------------------------

    def deliver(self, url: str, body: bytes, headers: dict[str, str] | None = None,
                *, timeout: float = 10.0) -> httpx.Response:
        """POST a webhook to the hub, as the vendor would."""
        with httpx.Client(timeout=timeout) as client:
            return client.post(url, content=body, headers={"Content-Type": "application/json", **(headers or {})})


@dataclass(frozen=True)
class SimulatorSpec:
    """How ``collabhub demo`` starts a plugin's simulator and points a connector at it.

    ``create`` builds the simulator seeded from the sample company (not yet started);
    ``settings`` returns the connector settings (as the YAML would hold them) that reach the
    started simulator; ``name`` is the connector instance name the demo gives it.
    """

    connector_type: str
    name: str
    create: Callable[[Any], Simulator]
    settings: Callable[[Simulator], dict[str, Any]]


def json_error(status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    """A JSON error response (shorthand for simulators)."""
    return JSONResponse(payload, status_code=status, headers=headers)


Handler = Callable[[Request], Any]
