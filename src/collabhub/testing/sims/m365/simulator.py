"""The Microsoft 365 simulator: Entra token endpoint + Graph calendars, rooms, batch, subscriptions.

Served over TLS by default (msal requires an https authority): ``start()`` makes a throwaway CA
and a loopback certificate, and ``ca_path`` is what the connector's ``http.verify`` points at::

    with M365Simulator(generate_company()) as sim:
        settings = sim.connector_settings()      # tenant, client id/secret, endpoints, CA bundle
        sim.expire_delta_tokens("alice@example.com")
        sim.set_room_policy("room000@example.com", "decline")
        sim.throttle_batch(1, retry_after=1)     # the next $batch inner request answers 429

Throttling answers in Graph's own format; at most 4 requests per mailbox may be in flight at
once (more get ``429 ApplicationThrottled`` / ``MailboxConcurrency``), as Exchange Online does.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from collabhub.testing.company import Company
from collabhub.testing.sims.m365.calendars import Mailbox
from collabhub.testing.sims.m365.graph_calendar import register_calendar_routes
from collabhub.testing.sims.m365.graph_directory import register_directory_routes
from collabhub.testing.sims.m365.identity import IdentityRoutes
from collabhub.testing.sims.m365.router import GraphRequest, GraphResponse, Router, graph_error
from collabhub.testing.sims.m365.seed import ALL_STAFF_GROUP, seed_bulk, seed_company
from collabhub.testing.sims.m365.state import App, SimState
from collabhub.testing.sims.m365.tls import TestCertificates, make_test_certificates
from collabhub.testing.simulator import Call, Simulator

__all__ = ["ALL_STAFF_GROUP", "M365Simulator"]

MAILBOX_CONCURRENCY = 4
BATCH_LIMIT = 20
DEMO_TENANT = "8f3c1a52-6b1e-4c1e-9a53-3c5e2f0d7a11"
DEMO_CLIENT_ID = "5d2f8e4b-1c3a-4b7e-9f60-2a8c4e6d0b13"


def _throttled(retry_after: float, message: str = "Application is over its MailboxConcurrency limit.") -> GraphResponse:
    seconds = str(int(retry_after)) if retry_after >= 1 else str(retry_after)
    return graph_error(429, "ApplicationThrottled", message, {"Retry-After": seconds})


class M365Simulator(Simulator):
    """Seeded from the sample company (``company``), or empty for hand-built tests.

    ``clock`` is the simulator's "now" (subscription expiry checks, modification stamps).
    """

    name = "m365"

    def __init__(self, company: Company | None = None, *, tenant_id: str = DEMO_TENANT,
                 client_id: str = DEMO_CLIENT_ID, client_secret: str | None = "sim-client-secret",
                 certificate_pem: bytes | None = None, tls: bool = True,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.state = SimState(tenant_id, clock=clock) if clock else SimState(tenant_id)
        self.state.apps[client_id] = App(client_id, client_secret, certificate_pem)
        self.client_id, self.client_secret = client_id, client_secret
        self.identity = IdentityRoutes(self.state)
        self.router = Router()
        self.calendar = register_calendar_routes(self.router, self.state)
        self.directory_routes = register_directory_routes(self.router, self.state)
        self.tls = tls
        self.certificates: TestCertificates | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.inflight: dict[str, int] = {}
        self.max_inflight: dict[str, int] = {}
        self.request_latency = 0.0
        self.batch_throttles = 0
        self.batch_retry_after = 1.0
        self.batch_sizes: list[int] = []
        self.inner_calls: list[Call] = []
        self.auto_notify = False
        self._inflight_lock = threading.Lock()
        super().__init__()
        if company is not None:
            seed_company(self.state, company)

    # -- routes ----------------------------------------------------------------------------

    def routes(self) -> Sequence[BaseRoute]:
        methods = ["GET", "POST", "PATCH", "DELETE", "PUT"]
        return [
            Route("/{tenant}/v2.0/.well-known/openid-configuration", self.identity.openid_configuration),
            Route("/{tenant}/oauth2/v2.0/token", self.identity.token, methods=["POST"]),
            Route("/v1.0/{path:path}", self._graph, methods=methods),
        ]

    def rate_limit_response(self, request_path: str, retry_after: float) -> Response:
        seconds = str(int(retry_after)) if retry_after >= 1 else str(retry_after)
        error = graph_error(429, "TooManyRequests", "Too many requests. Please retry after the indicated time.",
                            {"Retry-After": seconds})
        return JSONResponse(error.body, status_code=429, headers=error.headers)

    def server_error_response(self, request_path: str, status: int) -> Response:
        error = graph_error(status, "ServiceNotAvailable" if status == 503 else "generalException",
                            "The service is temporarily unavailable. Please retry.", {"Retry-After": "0"})
        return JSONResponse(error.body, status_code=status, headers=error.headers)

    async def _graph(self, request: Request) -> Response:
        app_id = self.identity.token_valid(request.headers.get("authorization"))
        if app_id is None:
            error = graph_error(401, "InvalidAuthenticationToken", "Access token is empty or has expired.")
            return JSONResponse(error.body, status_code=401, headers={"WWW-Authenticate": 'Bearer realm=""'})
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            error = graph_error(400, "BadRequest", "Unable to read JSON request payload.")
            return JSONResponse(error.body, status_code=400)
        base = str(request.base_url).rstrip("/") + "/v1.0"
        headers = {k: v for k, v in request.headers.items()}
        headers["x-sim-app-id"] = app_id
        graph_request = GraphRequest.from_url(request.method, str(request.url), headers, body, base)
        if graph_request.path.lower() == "/$batch":
            response = await self._batch(graph_request)
        else:
            response = await self._with_mailbox_slot(graph_request)
        if self.auto_notify and graph_request.method != "GET":
            asyncio.get_running_loop().create_task(self.flush_notifications_async())
        return _to_starlette(response)

    def _mailbox_of(self, request: GraphRequest) -> Mailbox | None:
        parts = request.path.strip("/").split("/")
        if len(parts) >= 2 and parts[0].lower() == "users":
            return self.state.directory.resolve(parts[1])
        return None

    async def _with_mailbox_slot(self, request: GraphRequest) -> GraphResponse:
        mailbox = self._mailbox_of(request)
        if mailbox is None:
            return await self.router.dispatch(request)
        with self._inflight_lock:
            now = self.inflight.get(mailbox.id, 0) + 1
            self.inflight[mailbox.id] = now
            self.max_inflight[mailbox.id] = max(self.max_inflight.get(mailbox.id, 0), now)
        try:
            if now > MAILBOX_CONCURRENCY:
                return _throttled(1)
            if self.request_latency:
                await asyncio.sleep(self.request_latency)
            return await self.router.dispatch(request)
        finally:
            with self._inflight_lock:
                self.inflight[mailbox.id] -= 1

    async def _batch(self, request: GraphRequest) -> GraphResponse:
        items = (request.body or {}).get("requests") if isinstance(request.body, dict) else None
        if not isinstance(items, list) or not items:
            return graph_error(400, "BadRequest", "The batch request must contain a 'requests' array.")
        if len(items) > BATCH_LIMIT:
            return graph_error(400, "BadRequest", f"The number of requests in the batch ({len(items)}) exceeds "
                               f"the limit of {BATCH_LIMIT}.")
        ids = [str(i.get("id")) for i in items]
        if len(set(ids)) != len(ids):
            return graph_error(400, "BadRequest", "Batch request ids must be unique.")
        self.batch_sizes.append(len(items))
        outcomes: dict[str, int] = {}
        responses = []
        for item in items:
            responses.append(await self._inner(item, request, outcomes))
        return GraphResponse(200, {"responses": responses})

    async def _inner(self, item: dict[str, Any], outer: GraphRequest, outcomes: dict[str, int]) -> dict[str, Any]:
        item_id = str(item.get("id"))
        headers = {k.lower(): v for k, v in (item.get("headers") or {}).items()}
        for dep in item.get("dependsOn") or []:
            if not 200 <= outcomes.get(str(dep), 0) < 300:
                outcomes[item_id] = 424
                return {"id": item_id, "status": 424, "body": graph_error(424, "FailedDependency",
                                                                        "A dependent request failed.").body}
        if item.get("body") is not None and "content-type" not in headers:
            outcomes[item_id] = 400
            return {"id": item_id, "status": 400, "body": graph_error(400, "BadRequest",
                                                                        "Content-Type header is required.").body}
        inner = GraphRequest.from_url(str(item.get("method", "GET")), str(item.get("url", "")),
                                      {**outer.headers, **headers}, item.get("body"), outer.base)
        self.inner_calls.append(Call(inner.method, inner.path, ""))
        if self.batch_throttles > 0:
            self.batch_throttles -= 1
            response = _throttled(self.batch_retry_after)
        else:
            response = await self.router.dispatch(inner)
        outcomes[item_id] = response.status
        self.inner_calls[-1].status = response.status
        body = json.loads(response.body) if isinstance(response.body, bytes) else response.body
        out: dict[str, Any] = {"id": item_id, "status": response.status, "headers": dict(response.headers)}
        if body is not None:
            out["body"] = body
        return out

    # -- serving -----------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0, *, ssl_certfile: str | None = None,
              ssl_keyfile: str | None = None) -> str:
        """Serve (over TLS with a fresh test CA unless ``tls=False`` or certificates are given)."""
        if self.tls and ssl_certfile is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="collabhub-m365-sim-")
            self.certificates = make_test_certificates(self._tmp.name, (host, "localhost"))
            ssl_certfile, ssl_keyfile = self.certificates.cert_path, self.certificates.key_path
        return super().start(host, port, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile)

    def stop(self) -> None:
        super().stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    @property
    def ca_path(self) -> str | None:
        return self.certificates.ca_path if self.certificates else None

    def connector_settings(self, **extra: Any) -> dict[str, Any]:
        """Connector settings (as the YAML holds them) that reach this running simulator."""
        settings: dict[str, Any] = {
            "tenant_id": self.state.tenant_id,
            "client_id": self.client_id,
            "authority_host": self.base_url,
            "graph_endpoint": self.base_url,
            "group": ALL_STAFF_GROUP,
        }
        if self.client_secret:
            settings["client_secret"] = self.client_secret
        if self.ca_path:
            settings["http"] = {"verify": self.ca_path}
        settings.update(extra)
        return settings

    # -- test and demo controls ------------------------------------------------------------

    def mailbox(self, key: str) -> Mailbox:
        found = self.state.directory.resolve(key)
        if found is None:
            raise KeyError(f"no mailbox {key!r} in the simulator")
        return found

    def seed_bulk(self, *, mailboxes: int, events_per_mailbox: int, rooms: int, events_per_room: int = 0,
                  start: datetime | None = None) -> list[str]:
        """A synthetic tenant with exact counts (benchmarks); returns the user mailbox addresses."""
        begin = start or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return seed_bulk(self.state, mailboxes=mailboxes, events_per_mailbox=events_per_mailbox, rooms=rooms,
                         events_per_room=events_per_room, start=begin)

    def expire_delta_tokens(self, mailbox: str, *, status: int | None = None) -> None:
        """Every delta/skip token of this mailbox now fails (410 Gone, or 400 syncStateNotFound)."""
        self.mailbox(mailbox).epoch += 1
        if status is not None:
            self.state.expired_status = status

    def set_room_policy(self, room: str, policy: str, reason: str = "") -> None:
        """``auto`` (accept when free), ``decline`` (always) or ``manual`` (never answers)."""
        box = self.mailbox(room)
        box.policy, box.policy_reason = policy, reason

    def throttle_batch(self, n: int, *, retry_after: float = 1.0) -> None:
        """The next ``n`` inner requests of ``$batch`` calls answer 429 inside the 200 batch response."""
        self.batch_throttles, self.batch_retry_after = n, retry_after

    def expire_access_tokens(self) -> None:
        self.state.tokens.clear()

    def create_event(self, mailbox: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Create an event as a user would in Outlook (attendee copies and room answers included)."""
        return self.state.book.create(self.mailbox(mailbox), payload)

    def update_event(self, mailbox: str, event_id: str, patch: dict[str, Any]) -> dict[str, Any] | None:
        return self.state.book.update(self.mailbox(mailbox), event_id, patch)

    def delete_event(self, mailbox: str, event_id: str) -> bool:
        return self.state.book.delete(self.mailbox(mailbox), event_id)

    def events(self, mailbox: str) -> list[dict[str, Any]]:
        return list(self.mailbox(mailbox).events.values())

    def subscriptions(self) -> list[dict[str, Any]]:
        return list(self.state.subscriptions.items.values())

    def flush_notifications(self) -> list[int]:
        """Deliver queued change notifications now (one POST per URL); returns the hub's statuses."""
        return [self.state.subscriptions.post(url, notes)
                for url, notes in self.state.subscriptions.take_pending().items()]

    async def flush_notifications_async(self) -> list[int]:
        return [await self.state.subscriptions.post_async(url, notes)
                for url, notes in self.state.subscriptions.take_pending().items()]

    def send_lifecycle(self, subscription_id: str, event: str) -> int:
        """Post a lifecycle notification (``reauthorizationRequired``, ``subscriptionRemoved``, ``missed``)."""
        url, note = self.state.subscriptions.lifecycle(subscription_id, event)
        return self.state.subscriptions.post(url, [note])


def _to_starlette(response: GraphResponse) -> Response:
    if isinstance(response.body, bytes):
        return Response(response.body, status_code=response.status, headers=response.headers,
                        media_type="application/json")
    if isinstance(response.body, str):
        return PlainTextResponse(response.body, status_code=response.status, headers=response.headers)
    if response.body is None:
        return Response(status_code=response.status, headers=response.headers)
    return JSONResponse(response.body, status_code=response.status, headers=response.headers)
