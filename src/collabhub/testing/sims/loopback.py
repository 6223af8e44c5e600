"""Serve an ASGI app (the hub's webhook endpoint) on loopback in a thread, so a simulator can push to it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from collabhub.testing.simulator import free_port

__all__ = ["serve_app"]


@contextmanager
def serve_app(app: Any, *, ssl_certfile: str | None = None, ssl_keyfile: str | None = None,
              start_timeout: float = 10.0) -> Iterator[str]:
    """Serve ``app`` on a free 127.0.0.1 port and yield its base URL (``http[s]://127.0.0.1:<port>/``).

    With a certificate and key the server speaks TLS. Raises ``RuntimeError`` when the server is not up
    within ``start_timeout`` seconds; the server is stopped when the block ends.
    """
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off",
                                           ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    try:
        while not server.started:
            if not thread.is_alive() or time.monotonic() >= deadline:
                raise RuntimeError(f"the loopback server for {app!r} did not start within {start_timeout} s")
            time.sleep(0.01)
        yield f"{'https' if ssl_certfile else 'http'}://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
