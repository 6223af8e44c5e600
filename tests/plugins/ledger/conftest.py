"""The ``kit`` fixture: spreadsheets in tmp_path, a ledger connector over them, and full reads."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from collabhub.connector import Page
from collabhub.errors import MappingError
from collabhub.model import Entity
from collabhub_ledger import LedgerConfig, LedgerConnector


def write_xlsx(path: Path, headers: list[str], rows: Iterable[Iterable[Any]], *, sheet: str = "Sheet1",
               title_rows: Iterable[Iterable[Any]] = (), extra_sheets: Iterable[str] = ()) -> Path:
    book = Workbook()
    ws = book.active
    ws.title = sheet
    for row in title_rows:
        ws.append(list(row))
    ws.append(headers)
    for row in rows:
        ws.append(list(row))
    for name in extra_sheets:
        book.create_sheet(name)
    book.save(path)
    return path


def write_csv(path: Path, headers: list[str], rows: Iterable[Iterable[Any]], *, encoding: str = "utf-8",
              newline: str = "\n") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, lineterminator=newline)
        writer.writerow(headers)
        writer.writerows(rows)
    return path


def connector(base_dir: Path, *sources: Mapping[str, Any], name: str = "ledger") -> LedgerConnector:
    config = LedgerConfig.model_validate({"base_dir": str(base_dir), "sources": list(sources)})
    return LedgerConnector(name, config)


async def read_pages(conn: LedgerConnector, stream_name: str | None = None,
                     cursor: Mapping[str, Any] | None = None) -> list[Page]:
    stream = conn.stream(stream_name) if stream_name else conn.streams()[0]
    return [page async for page in stream.read(cursor)]


async def read_entities(conn: LedgerConnector, stream_name: str | None = None) -> tuple[list[Entity], list[str]]:
    """Every entity of a full read, plus the messages of rows that failed mapping."""
    stream = conn.stream(stream_name) if stream_name else conn.streams()[0]
    entities: list[Entity] = []
    errors: list[str] = []
    async for page in stream.read(None):
        for record in page.records:
            try:
                entities.extend(stream.normalize(record))
            except MappingError as exc:
                errors.append(str(exc))
    return entities, errors


class LedgerKit:
    """Builders bound to one test's folder (``base_dir`` of every connector it makes)."""

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir

    def xlsx(self, name: str, headers: list[str], rows: Iterable[Iterable[Any]], **kw: Any) -> Path:
        return write_xlsx(self.base_dir / name, headers, rows, **kw)

    def csv(self, name: str, headers: list[str], rows: Iterable[Iterable[Any]], **kw: Any) -> Path:
        return write_csv(self.base_dir / name, headers, rows, **kw)

    def connector(self, *sources: Mapping[str, Any], name: str = "ledger") -> LedgerConnector:
        return connector(self.base_dir, *sources, name=name)

    pages = staticmethod(read_pages)
    entities = staticmethod(read_entities)


@pytest.fixture
def kit(tmp_path: Path) -> LedgerKit:
    return LedgerKit(tmp_path)


@pytest.fixture(autouse=True)
def only_the_ledger_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    """Load just this plugin, so these tests do not depend on other connectors importing."""
    monkeypatch.setenv("COLLABHUB_LOAD_PLUGINS", "ledger")
