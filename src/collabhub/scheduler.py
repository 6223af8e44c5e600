"""The daemon loop: per-connector schedules, no overlapping runs, webhooks, graceful stop.

Each enabled connector runs on its own schedule (``schedule:`` in its entry, else
``daemon.default_schedule``). A connector still running when its next tick comes is not started
twice (and the store lease keeps other daemons off it too). After each run the rules plan
deliveries and the dispatcher pushes the outbox; the dispatcher also ticks on its own
interval. On SIGTERM or SIGINT the running pages are committed, then the daemon exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from collabhub.engine import Engine, RunSummary

if TYPE_CHECKING:
    from collabhub.schedule import Schedule

__all__ = ["Daemon", "webhook_app"]

log = logging.getLogger(__name__)


def webhook_app(engine: Engine) -> Starlette:
    """One ASGI app: each connector's webhook receiver under ``/hooks/<name>``, plus ``/healthz``."""

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    routes: list[Any] = [Route("/healthz", health)]
    for name in engine.enabled():
        app = engine.connector(name).webhook_app(engine.sink)
        if app is not None:
            routes.append(Mount(f"/hooks/{name}", app=app))
    return Starlette(routes=routes)


class Daemon:
    """Runs the engine on schedules until stopped."""

    def __init__(self, engine: Engine, *, serve_webhooks: bool = True,
                 on_run: Any | None = None) -> None:
        self.engine = engine
        self.serve_webhooks = serve_webhooks
        self.on_run = on_run
        self._running: dict[str, asyncio.Task[RunSummary]] = {}
        self._rules_lock = asyncio.Lock()

    def schedules(self) -> dict[str, Schedule]:
        """Each enabled connector's schedule (its own, else ``daemon.default_schedule``)."""
        return {name: self.engine.config.schedule_for(name) for name in self.engine.enabled()}

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
                loop.add_signal_handler(sig, self.request_stop, sig)

    def request_stop(self, sig: int | None = None) -> None:
        if not self.engine.stop.is_set():
            log.info("stop requested%s: finishing the pages in hand", f" ({signal.Signals(sig).name})" if sig else "")
        self.engine.stop.set()

    async def _run(self, name: str) -> RunSummary:
        summary = await self.engine.run_connector(name, trigger="schedule")
        if self.on_run:
            self.on_run(summary)
        if not self.engine.stop.is_set():
            await self._rules()
        return summary

    async def _rules(self) -> None:
        async with self._rules_lock:
            try:
                await self.engine.run_rules()
            except Exception:  # rules trouble is logged and retried next tick
                log.exception("rules cycle failed")

    async def run(self) -> None:
        """Loop until stopped. Every connector runs once at start, then on its schedule."""
        schedules = self.schedules()
        now = datetime.now(UTC)
        next_at = dict.fromkeys(schedules, now)
        dispatch_every = float(getattr(self.engine.config.daemon, "dispatch_interval", 60))
        next_dispatch = now
        server_task = None
        rules_task: asyncio.Task[None] | None = None
        if self.serve_webhooks:
            server_task = asyncio.create_task(self._serve())
        try:
            while not self.engine.stop.is_set():
                now = datetime.now(UTC)
                for name, when in next_at.items():
                    if when <= now:
                        task = self._running.get(name)
                        if task is None or task.done():
                            self._running[name] = asyncio.create_task(self._run(name))
                        else:
                            log.info("connector %s still running; tick skipped", name)
                        next_at[name] = schedules[name].next_after(now)
                if next_dispatch <= now and (rules_task is None or rules_task.done()):
                    rules_task = asyncio.create_task(self._rules())
                    next_dispatch = datetime.fromtimestamp(now.timestamp() + dispatch_every, UTC)
                wake = min([*next_at.values(), next_dispatch])
                delay = max(0.05, (wake - datetime.now(UTC)).total_seconds())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.engine.stop.wait(), timeout=min(delay, 30.0))
        finally:
            timeout = float(getattr(self.engine.config.daemon, "stop_timeout", 60))
            running = [t for t in [*self._running.values(), rules_task] if t is not None and not t.done()]
            if running:
                await asyncio.wait(running, timeout=timeout)
            if server_task is not None:
                server_task.cancel()
                await asyncio.gather(server_task, return_exceptions=True)
            await self.engine.aclose()

    async def _serve(self) -> None:
        import uvicorn

        hooks = getattr(self.engine.config.daemon, "webhooks", None)
        if hooks is not None and not getattr(hooks, "enabled", True):
            return
        host = getattr(hooks, "host", "127.0.0.1") if hooks else "127.0.0.1"
        port = int(getattr(hooks, "port", 8765) if hooks else 8765)
        config = uvicorn.Config(webhook_app(self.engine), host=host, port=port, log_level="warning",
                                lifespan="off", access_log=False)
        server = uvicorn.Server(config)
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        log.info("webhooks listening on http://%s:%d/hooks/<connector>", host, port)
        await server.serve()
