"""A complete third-party style plugin: a connector reading action items from a JSON-lines file.

It lives under tests/ (not in src/) and is discovered through its ``collabhub`` entry point
(the ``.dist-info`` folder beside it) when this folder is on ``sys.path``, exactly as an
installed third-party plugin would be. It implements every hook, so the hook tests use it.

Each line of the file is ``{"id": "...", "title": "...", "status": "todo|in_progress|done",
"assignee_email": "...", "updated": "<ISO 8601>"}``; ``delay`` slows each page down (for the
crash-resume test), ``page_size`` sets the page size.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from collabhub.connector import CheckResult, Connector, ConnectorConfig, Delivery, DeliveryResult, Page, Stream, Writer
from collabhub.errors import MappingError
from collabhub.hookspecs import hookimpl
from collabhub.model import Entity, EntityKind, PersonRef, SourceRef, StatusCategory, Task
from collabhub.testing.simulator import Simulator, SimulatorSpec

EVENTS: list[tuple[str, Any]] = []


class Config(ConnectorConfig):
    path: str
    page_size: int = 100
    delay: float = 0.0
    outbox_path: str | None = None


class ItemStream(Stream):
    name = "items"
    kind = EntityKind.TASK

    async def read(self, cursor: Mapping[str, Any] | None) -> AsyncIterator[Page]:
        config: Config = self.connector.config  # type: ignore[assignment]
        offset = int((cursor or {}).get("offset", 0))
        lines = Path(config.path).read_text(encoding="utf-8").splitlines()
        while offset < len(lines):
            chunk = lines[offset: offset + config.page_size]
            offset += len(chunk)
            if config.delay:
                await asyncio.sleep(config.delay)
            yield Page(records=[json.loads(line) for line in chunk if line.strip()], cursor={"offset": offset})

    def normalize(self, record: Any) -> Iterable[Entity]:
        if not record.get("title"):
            raise MappingError(f"item {record.get('id')!r} has no title")
        status = record.get("status", "todo")
        try:
            category = StatusCategory(status)
        except ValueError:
            raise MappingError(f"item {record.get('id')!r}: unknown status {status!r}") from None
        updated = datetime.fromisoformat(record["updated"]) if record.get("updated") else None
        assignee = (PersonRef(connector=self.connector.name, email=record["assignee_email"])
                    if record.get("assignee_email") else None)
        yield Task(source=SourceRef(connector=self.connector.name, kind=EntityKind.TASK,
                                    external_id=str(record["id"]), updated=updated),
                   title=record["title"], status=status, status_category=category, assignee=assignee,
                   updated=updated, department=record.get("department"))


class NoteWriter(Writer):
    """Appends a note per delivery to a file; idempotent by idempotency key."""

    channel = "note"

    async def deliver(self, delivery: Delivery) -> DeliveryResult:
        config: Config = self.connector.config  # type: ignore[assignment]
        path = Path(config.outbox_path or (config.path + ".notes"))
        existing = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        if not any(json.loads(line)["key"] == delivery.idempotency_key for line in existing):
            with path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps({"key": delivery.idempotency_key, "content": dict(delivery.content)}) + "\n")
        return DeliveryResult(external_id=delivery.idempotency_key)


class ExampleConnector(Connector):
    type = "example"
    title = "Example JSON-lines connector (test plugin)"
    Config = Config
    stream_classes = (ItemStream,)
    writer_classes = (NoteWriter,)

    async def check(self) -> CheckResult:
        path = Path(self.config.path)  # type: ignore[attr-defined]
        if not path.is_file():
            return CheckResult.failed(f"{path} does not exist")
        return CheckResult.passed(f"{path} readable")


@hookimpl
def register_connectors(register):
    register(ExampleConnector)


@hookimpl
def register_commands(cli: typer.Typer) -> None:
    @cli.command(name="example-hello")
    def hello() -> None:
        """Say hello (a command added by the example plugin)."""
        typer.echo("hello from the example plugin")


class ExampleSimulator(Simulator):
    """A do-nothing simulator: the example connector reads files, not HTTP."""

    name = "example"

    def routes(self):
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        async def health(request):
            return JSONResponse({"ok": True})

        return [Route("/healthz", health)]


@hookimpl
def register_simulators(register):
    register(SimulatorSpec(connector_type="example", name="example-demo", create=lambda company: ExampleSimulator(),
                           settings=lambda sim: {"path": "items.jsonl"}))


@hookimpl
def resolve_person(ref):
    if ref.display_name == "Example Person":
        return {"email": "example.person@example.com"}
    return None


@hookimpl
def run_finished(connector, run_id, status, counts):
    EVENTS.append(("run_finished", (connector, run_id, status, counts)))


@hookimpl
def delivery_made(channel, target_connector, idempotency_key, external_id):
    EVENTS.append(("delivery_made", (channel, target_connector, idempotency_key, external_id)))
