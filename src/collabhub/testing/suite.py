"""The standard connector test suite. A plugin adopts all of it in one line::

    from collabhub.testing.suite import ConnectorSuite, SuiteHarness

    def harness(tmp_path):                       # a generator: start the simulator, yield, stop
        with MySimulator(generate_company()) as sim:
            yield SuiteHarness(MyConnector, {"base_url": sim.base_url, "token": "t"}, simulator=sim)

    class TestMyConnector(ConnectorSuite, harness=harness):
        pass

Each check can be skipped for a connector with a written reason:
``SuiteHarness(..., skip={"writers_idempotent": "read-only connector"})``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from collabhub.connector import Connector, ConnectorConfig, ConnectorContext, Delivery
from collabhub.errors import Action, MappingError
from collabhub.hookspecs import hookimpl
from collabhub.model import Entity, EntityKind, content_hash
from collabhub.testing.simulator import Simulator

__all__ = ["ConnectorSuite", "SuiteHarness"]


@dataclass
class SuiteHarness:
    """What the suite needs to exercise a connector against its simulator."""

    connector_type: type[Connector]
    settings: dict[str, Any]
    simulator: Simulator | None = None
    sample_deliveries: dict[str, Delivery] = field(default_factory=dict)
    context: ConnectorContext | None = None
    name: str = "under-test"
    skip: dict[str, str] = field(default_factory=dict)

    def make(self) -> Connector:
        config = self.connector_type.Config.model_validate(self.settings)
        return self.connector_type(self.name, config, self.context or ConnectorContext())


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _read_all(connector: Connector, cursors: dict[str, Any] | None = None,
                    ) -> tuple[list[Entity], dict[str, Any], list[str]]:
    entities: list[Entity] = []
    last: dict[str, Any] = {}
    errors: list[str] = []
    for stream in connector.streams():
        cursor = (cursors or {}).get(stream.name)
        last[stream.name] = cursor
        async for page in stream.read(cursor):
            json.dumps(page.cursor, default=str)  # cursors must be storable
            if page.cursor is not None:
                last[stream.name] = page.cursor
            for record in page.records:
                try:
                    entities.extend(stream.normalize(record))
                except MappingError as exc:
                    errors.append(f"{stream.name}: {exc}")
    return entities, last, errors


def _write_config(tmp_path: Path, harness: SuiteHarness, db: str) -> Path:
    from ruamel.yaml import YAML

    def plain(value: Any) -> Any:
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        if isinstance(value, Path):
            return str(value)
        return value

    doc = {
        "store": {"url": f"sqlite:///{tmp_path / db}"},
        "connectors": {harness.name: {"type": harness.connector_type.type, **plain(harness.settings)}},
    }
    path = tmp_path / f"{db}.yaml"
    with path.open("w", encoding="utf-8") as fh:
        YAML().dump(doc, fh)
    return path


def _host_with(connector_type: type[Connector]) -> Any:
    from collabhub.plugins import PluginHost

    host = PluginHost()
    if connector_type.type not in host.connector_types():

        class _Registers:
            @hookimpl
            def register_connectors(self, register: Callable[[type[Connector]], None]) -> None:
                register(connector_type)

        host.register(_Registers(), name=f"suite-{connector_type.type}")
    return host


def _engine_sync(tmp_path: Path, harness: SuiteHarness, db: str, *, stop_after_pages: int | None = None) -> Any:
    from collabhub.config import load_config
    from collabhub.engine import Engine
    from collabhub.store import Store

    host = _host_with(harness.connector_type)
    config = load_config(_write_config(tmp_path, harness, db), host=host)
    store = Store(config.store.url)
    store.upgrade()

    async def run() -> Any:
        pages = 0
        engine: Engine

        def on_page(connector: str, stream: str, stats: Any) -> None:
            nonlocal pages
            pages += 1
            if stop_after_pages is not None and pages >= stop_after_pages:
                engine.stop.set()

        engine = Engine(config, store, host, on_page=on_page,
                        context_factory=lambda name: harness.context or ConnectorContext())
        try:
            return await engine.run_connector(harness.name)
        finally:
            await engine.aclose()

    return store, run


def _snapshot(store: Any) -> set[tuple[str, str, str, bool]]:
    """Every entity's content, with hub person ids replaced by who they are.

    Hub person ids are numbered in the order people are first seen, which differs between an
    interrupted and an uninterrupted run; the person behind the id must be the same.
    """
    people: dict[int, str] = {}

    def who(pid: int) -> str:
        if pid not in people:
            person = store.get_person(pid)
            people[pid] = f"{person.name}|{person.email}|{person.mobile}|{person.employee_id}" if person else "?"
        return people[pid]

    def portable(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: (who(v) if k == "person_id" and isinstance(v, int) else portable(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [portable(v) for v in value]
        return value

    return {(row.kind, row.external_id, json.dumps(portable(row.data), sort_keys=True, default=str), row.deleted)
            for row in store.iter_entities(include_deleted=True)}


class ConnectorSuite:
    """Subclass with ``harness=<generator function(tmp_path)>``; every test below runs against it."""

    _harness_factory: Callable[[Path], Iterator[SuiteHarness]]

    def __init_subclass__(cls, harness: Callable[[Path], Iterator[SuiteHarness]] | None = None, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if harness is not None:
            cls._harness_factory = staticmethod(harness)  # type: ignore[assignment]

    @pytest.fixture
    def harness(self, tmp_path: Path) -> Iterator[SuiteHarness]:
        gen = type(self)._harness_factory(tmp_path)
        value = next(gen)
        try:
            yield value
        finally:
            gen.close()

    @staticmethod
    def _skip_if(harness: SuiteHarness, check: str) -> None:
        reason = harness.skip.get(check)
        if reason is not None:
            if not reason.strip():
                raise AssertionError(f"skip of {check!r} needs a written reason")
            pytest.skip(reason)

    # -- declaration ----------------------------------------------------------------------

    def test_declares_type_config_and_streams(self, harness: SuiteHarness) -> None:
        cls = harness.connector_type
        assert isinstance(getattr(cls, "type", None), str) and cls.type, "connector needs a `type`"
        assert issubclass(cls.Config, ConnectorConfig), "Config must subclass ConnectorConfig"
        names = [s.name for s in cls.stream_classes]
        assert len(names) == len(set(names)), f"stream names must be unique: {names}"
        for stream in cls.stream_classes:
            assert isinstance(stream.kind, EntityKind), f"{stream.__name__}.kind must be an EntityKind"
        channels = [w.channel for w in cls.writer_classes]
        assert len(channels) == len(set(channels)), f"writer channels must be unique: {channels}"

    def test_config_rejects_unknown_keys(self, harness: SuiteHarness) -> None:
        with pytest.raises(ValueError, match="surely_not_a_setting"):
            harness.connector_type.Config.model_validate({**harness.settings, "surely_not_a_setting": 1})

    def test_secrets_never_in_repr(self, harness: SuiteHarness) -> None:
        config = harness.connector_type.Config.model_validate(harness.settings)
        text = repr(config) + str(config) + repr(harness.make())
        for name, value in _secret_values(config):
            assert value not in text, f"secret field {name} leaks into repr"

    def test_registered_through_entry_point(self, harness: SuiteHarness) -> None:
        self._skip_if(harness, "registered_through_entry_point")
        from collabhub.plugins import PluginHost

        assert harness.connector_type.type in PluginHost().connector_types(), (
            "connector type is not registered by any installed `collabhub` entry point")

    # -- remote behaviour -----------------------------------------------------------------

    def test_check_passes(self, harness: SuiteHarness) -> None:
        self._skip_if(harness, "check_passes")

        async def run() -> Any:
            async with harness.make() as connector:
                return await connector.check()

        result = _run(run())
        assert result.ok, f"check() failed against the simulator: {result.details}"

    def test_full_read_normalizes_every_record(self, harness: SuiteHarness) -> None:
        async def run() -> Any:
            async with harness.make() as connector:
                return await _read_all(connector)

        entities, _, errors = _run(run())
        assert not errors, f"records failed mapping: {errors[:5]}"
        assert entities, "a full read produced no entities"
        for entity in entities:
            assert entity.source.connector == harness.name
            assert entity.source.kind == entity.kind
            assert entity.source.external_id

    def test_incremental_read_adds_nothing_when_nothing_changed(self, harness: SuiteHarness) -> None:
        self._skip_if(harness, "incremental_read")

        async def run() -> Any:
            async with harness.make() as connector:
                first, cursors, _ = await _read_all(connector)
                second, _, _ = await _read_all(connector, cursors)
                return first, second

        first, second = _run(run())
        known = {(e.key, content_hash(e)) for e in first}
        fresh = [e.key for e in second if (e.key, content_hash(e)) not in known]
        assert not fresh, f"an unchanged remote produced new or changed entities: {fresh[:5]}"

    def test_classify_rate_limit_and_server_errors(self, harness: SuiteHarness) -> None:
        self._skip_if(harness, "classify")
        connector = harness.make()
        request = httpx.Request("GET", "https://example.invalid/x")
        limited = connector.classify(httpx.Response(429, headers={"Retry-After": "2"}, json={}, request=request))
        assert limited.action is Action.RATE_LIMITED
        assert limited.retry_after == 2
        broken = connector.classify(httpx.Response(503, json={}, request=request))
        assert broken.action is Action.RETRY

    # -- through the engine and the store --------------------------------------------------

    def test_second_sync_writes_nothing(self, harness: SuiteHarness, tmp_path: Path) -> None:
        self._skip_if(harness, "second_sync")
        store, run = _engine_sync(tmp_path, harness, "twice")
        first = _run(run())
        assert first.status == "ok", first.errors
        assert first.total("created") > 0
        assert first.total("quarantined") == 0
        second = _run(run())
        assert second.status == "ok", second.errors
        assert second.total("created") == second.total("updated") == second.total("deleted") == 0
        assert store.count_quarantined() == 0

    def test_resume_after_interruption_equals_uninterrupted(self, harness: SuiteHarness, tmp_path: Path) -> None:
        self._skip_if(harness, "resume")
        ref_store, ref_run = _engine_sync(tmp_path, harness, "reference")
        assert _run(ref_run()).status == "ok"
        resumed_store, stopped_run = _engine_sync(tmp_path, harness, "resumed", stop_after_pages=1)
        assert _run(stopped_run()).status in ("interrupted", "ok")
        _, resumed_run = _engine_sync(tmp_path, harness, "resumed")
        assert _run(resumed_run()).status == "ok"
        assert _snapshot(resumed_store) == _snapshot(ref_store)

    def test_writers_are_idempotent(self, harness: SuiteHarness) -> None:
        self._skip_if(harness, "writers_idempotent")
        if not harness.sample_deliveries:
            pytest.skip("the harness gives no sample deliveries (read-only connector)")

        async def run() -> list[tuple[str, str, str, str]]:
            out = []
            async with harness.make() as connector:
                writers = connector.writers()
                for channel, delivery in harness.sample_deliveries.items():
                    writer = writers[channel]
                    first = await writer.deliver(delivery)
                    retried = await writer.deliver(delivery)  # a retry after a lost answer
                    out.append((channel, first.external_id, retried.external_id, "retry"))
            return out

        for channel, first_id, again_id, _ in _run(run()):
            assert first_id == again_id, f"writer {channel!r} made a second object on retry"


def _secret_values(model: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, SecretStr) and len(value.get_secret_value()) >= 4:
            yield prefix + name, value.get_secret_value()
        elif hasattr(type(value), "model_fields"):
            yield from _secret_values(value, f"{prefix}{name}.")
