"""Connector building blocks: ``Connector``, ``Stream`` and ``Writer``.

A connector plugin subclasses :class:`Connector` with a nested pydantic ``Config``, lists its
stream and writer classes, and implements ``check()``. A stream declares its entity kind and
reads pages from a saved cursor; the engine commits each page's entities together with the
cursor the page carries. A writer pushes one delivery idempotently.

A minimal connector::

    class Notes(Connector):
        type = "notes"
        class Config(ConnectorConfig):
            path: str
        stream_classes = (NoteTasks,)

        async def check(self) -> CheckResult:
            return CheckResult.passed("file readable")
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import httpx
from pydantic import BaseModel, ConfigDict, Field

from collabhub.errors import ErrorResolution
from collabhub.http.client import HttpSettings, build_client
from collabhub.http.ratelimit import RateLimiter
from collabhub.http.retry import default_classify, send
from collabhub.model import Entity, EntityKind, Link

if TYPE_CHECKING:
    from starlette.types import ASGIApp

__all__ = [
    "CheckResult",
    "Connector",
    "ConnectorConfig",
    "ConnectorContext",
    "Delivery",
    "DeliveryResult",
    "Page",
    "SendSlots",
    "Stream",
    "WebhookSink",
    "Writer",
]

log = logging.getLogger(__name__)


class ConnectorConfig(BaseModel):
    """Base of every connector's nested ``Config``: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")

    streams: list[str] | None = Field(None, description="stream names to pull; all when omitted")
    http: HttpSettings = Field(default_factory=HttpSettings)


@dataclass
class Page:
    """One committed unit of a stream: raw records, the cursor after them, and deletions.

    ``records`` are raw remote records; the engine normalises each with ``Stream.normalize``.
    ``deleted`` names external ids (of ``deleted_kind``, the stream's kind by default) that the
    remote reported gone. ``sweep`` is a complete set of ids still present remotely: everything
    else of ``deleted_kind`` from this connector is marked deleted. ``cursor`` is stored in the
    same transaction as the page's entities; ``None`` keeps the previous cursor.
    """

    records: Sequence[Any] = ()
    cursor: Mapping[str, Any] | None = None
    deleted: Sequence[str] = ()
    deleted_kind: EntityKind | None = None
    sweep: frozenset[str] | None = None


@dataclass
class CheckResult:
    """What ``Connector.check()`` found: ok, and one line per check."""

    ok: bool
    details: list[str] = field(default_factory=list)

    @classmethod
    def passed(cls, *details: str) -> CheckResult:
        return cls(True, list(details))

    @classmethod
    def failed(cls, *details: str) -> CheckResult:
        return cls(False, list(details))


@dataclass
class Delivery:
    """One planned push: where (``target``), what (``content``), and the object written before.

    ``link`` is set when an earlier delivery for the same entity, channel and receiver wrote an
    object: the writer edits that object in place instead of creating another one.
    """

    idempotency_key: str
    channel: str
    target: Mapping[str, Any]
    content: Mapping[str, Any]
    entity: Entity | None = None
    link: Link | None = None


@dataclass
class DeliveryResult:
    """What a writer made: the remote object's id, its URL, and the echo fingerprint."""

    external_id: str
    url: str | None = None
    fingerprint: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


class WebhookSink(Protocol):
    """What a connector's webhook receiver may ask of the hub (implemented by the engine)."""

    async def first_seen(self, source: str, event_id: str) -> bool:
        """Record an event id; False when it was seen before (a replay or a retry)."""

    async def request_refresh(self, connector: str, kind: EntityKind, external_ids: Sequence[str]) -> None:
        """Queue a targeted re-pull of these objects."""

    async def request_resync(self, connector: str, stream: str, reason: str, scope: str | None = None) -> None:
        """Drop a stream's cursor (or one scope of it) so the next run re-reads it in full."""

    async def mark_deleted(self, connector: str, kind: EntityKind, external_ids: Sequence[str]) -> None:
        """Record that these objects were deleted remotely."""

    async def record_event(self, connector: str, event_type: str, payload: Mapping[str, Any]) -> None:
        """Keep an inbound event (e.g. a card acknowledgement) for the rules to read."""


class SendSlots(Protocol):
    """Send-rate windows shared by every process on the hub's store (the engine gives the store's)."""

    async def take(self, key: str, limit: int, window: float) -> float:
        """Take one of ``limit`` slots per ``window`` seconds for ``key``: 0.0, or the seconds until one is free."""

    async def block(self, key: str, seconds: float, limit: int, window: float) -> None:
        """Take every slot of ``key`` for the next ``seconds`` (the remote throttled it)."""


@dataclass
class ConnectorContext:
    """What the hub hands a connector: the test seam for transports and the clock.

    ``send_slots`` is set by the engine (shared through the store); without it (a connector built
    on its own, e.g. in a unit test) a writer keeps its rate window in memory.
    """

    transport: httpx.AsyncBaseTransport | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    state: dict[str, Any] = field(default_factory=dict)
    send_slots: SendSlots | None = None


class Stream(ABC):
    """A stream of one entity kind, read page by page from a cursor.

    Subclasses set ``name`` and ``kind`` and implement ``read`` and ``normalize``. ``classify`` maps
    a response to an :class:`~collabhub.errors.ErrorResolution`; the default reads HTTP statuses.
    """

    name: ClassVar[str]
    kind: ClassVar[EntityKind]
    cursor_field: ClassVar[str | None] = None
    primary_key: ClassVar[str] = "id"

    def __init__(self, connector: Connector) -> None:
        self.connector = connector

    @abstractmethod
    def read(self, cursor: Mapping[str, Any] | None) -> AsyncIterator[Page]:
        """Yield pages from ``cursor`` (``None`` for a full load) until the remote is exhausted."""

    @abstractmethod
    def normalize(self, record: Any) -> Iterable[Entity]:
        """Map one raw record to unified entities; raise ``MappingError`` for a bad record."""

    def record_id(self, record: Any) -> str | None:
        """The external id of a raw record, for quarantine messages."""
        if isinstance(record, Mapping):
            value = record.get(self.primary_key)
            return None if value is None else str(value)
        return None

    def classify(self, response: httpx.Response) -> ErrorResolution:
        return self.connector.classify(response)

    async def fetch(self, external_ids: Sequence[str]) -> AsyncIterator[Page]:
        """Re-pull just these objects (webhook-driven); the default is not supported."""
        raise NotImplementedError(f"stream {self.name} cannot re-pull single objects")
        yield Page()  # pragma: no cover


class Writer(ABC):
    """Pushes one kind of delivery (a channel) to the remote system, idempotently.

    ``deliver`` may be called again for the same ``idempotency_key`` after a timeout or a crash;
    it must then find the object it already made instead of making a second one.
    """

    channel: ClassVar[str]
    #: False when the remote cannot change a sent object (e.g. DingTalk group robot messages):
    #: an update then goes out as a new object and the link moves to it.
    edits_in_place: ClassVar[bool] = True

    def __init__(self, connector: Connector) -> None:
        self.connector = connector

    @abstractmethod
    async def deliver(self, delivery: Delivery) -> DeliveryResult:
        """Create or update the remote object for ``delivery`` and return what it is."""


class Connector(ABC):
    """Base class of every connector. See the module docstring for a minimal example."""

    type: ClassVar[str]
    title: ClassVar[str] = ""
    Config: ClassVar[type[ConnectorConfig]] = ConnectorConfig
    stream_classes: ClassVar[Sequence[type[Stream]]] = ()
    writer_classes: ClassVar[Sequence[type[Writer]]] = ()

    def __init__(self, name: str, config: ConnectorConfig, context: ConnectorContext | None = None) -> None:
        self.name = name
        self.config = config
        self.context = context or ConnectorContext()
        self.log = logging.getLogger(f"collabhub.connector.{name}")
        self._client: httpx.AsyncClient | None = None
        self.limiter = RateLimiter(config.http.rate_limit, max_concurrency=config.http.max_concurrency)
        self.api_calls = 0

    # -- declared parts ------------------------------------------------------------------

    def streams(self) -> list[Stream]:
        """The streams to pull, in order, limited by ``config.streams`` when set."""
        wanted = self.config.streams
        streams = [cls(self) for cls in self.stream_classes]
        if wanted is not None:
            unknown = set(wanted) - {s.name for s in streams}
            if unknown:
                from collabhub.errors import ConfigError

                raise ConfigError(
                    f"connector {self.name!r} has no stream(s) {sorted(unknown)}; "
                    f"it has {[s.name for s in streams]}",
                    key=f"connectors.{self.name}.streams",
                )
            streams = [s for s in streams if s.name in wanted]
        return streams

    def stream(self, name: str) -> Stream:
        for stream in self.streams():
            if stream.name == name:
                return stream
        raise KeyError(name)

    def writers(self) -> dict[str, Writer]:
        """Writers by channel name."""
        return {cls.channel: cls(self) for cls in self.writer_classes}

    @abstractmethod
    async def check(self) -> CheckResult:
        """Test credentials and the permissions the configured streams and writers need."""

    async def maintain(self, sink: WebhookSink) -> None:
        """Periodic upkeep before each run (e.g. renew webhook subscriptions); default none."""
        return None

    def webhook_app(self, sink: WebhookSink) -> ASGIApp | None:
        """An ASGI app receiving this connector's webhooks, or ``None`` when it has none."""
        return None

    # -- HTTP plumbing shared by HTTP connectors ----------------------------------------

    def base_url(self) -> str:
        return ""

    def auth(self) -> httpx.Auth | None:
        return None

    def default_headers(self) -> dict[str, str]:
        return {}

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = build_client(self.config.http, base_url=self.base_url(), auth=self.auth(),
                                        headers=self.default_headers(), transport=self.context.transport)
        return self._client

    def classify(self, response: httpx.Response) -> ErrorResolution:
        """Connector-wide response classification; override for errors inside bodies."""
        return default_classify(response)

    def _count(self, request: httpx.Request) -> None:
        self.api_calls += 1

    async def request(
        self,
        method: str,
        url: str,
        *,
        classify: Callable[[httpx.Response], ErrorResolution] | None = None,
        on_refresh: Callable[[], Awaitable[None] | None] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send through the shared retry policy, rate limiter and API-call counter."""
        client = self.client

        def build() -> httpx.Request:
            return client.build_request(method, url, **kwargs)

        return await send(
            client, build, classify=classify or self.classify, limiter=self.limiter,
            max_retries=self.config.http.max_retries, max_wait=self.config.http.max_wait,
            connector=self.name, on_refresh=on_refresh, counter=self._count,
        )

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __aenter__(self) -> Connector:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
