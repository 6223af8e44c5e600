"""One stream per configured sheet: read rows in bounded pages, skip unchanged files, sweep vanished rows.

The cursor is the file's content fingerprint (size, mtime, SHA-256) plus a digest of the source's
mapping. An unchanged file with an unchanged mapping yields no pages. Otherwise the file is read in
full, page by page; only the last page carries the new cursor and the ``sweep`` (every id still
present), so a run killed halfway reads the whole file again next time and deletes nothing early.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from collabhub.connector import Page, Stream
from collabhub.errors import Action, Who
from collabhub.model import Entity
from collabhub_ledger.config import LedgerSource
from collabhub_ledger.files import FileFingerprint, LedgerFileError, Table, fingerprint, open_table
from collabhub_ledger.mapping import RowMapper, located
from collabhub_ledger.values import parse_text, raw_value

if TYPE_CHECKING:
    from collabhub_ledger.connector import LedgerConnector

__all__ = ["LedgerStream", "fallback_id", "stream_class"]

PAGE_SIZE = 500


def fallback_id(source: LedgerSource, sheet: str | None, row: int) -> str:
    """The id of a row in a sheet without ``id_column``: ``<sheet or file stem>!<row number>``."""
    return f"{sheet or Path(source.path).stem}!{row}"


class LedgerStream(Stream):
    """Rows of one sheet as tasks, resources or bookings. Subclassed per source by :func:`stream_class`."""

    source: ClassVar[LedgerSource]
    page_size: ClassVar[int] = PAGE_SIZE

    def __init__(self, connector: LedgerConnector) -> None:
        super().__init__(connector)
        self.path = self.source.resolve(connector.base_dir)
        self.mapper = RowMapper(self.source, connector.name)

    def normalize(self, record: Any) -> Iterable[Entity]:
        return [self.mapper.entity(record)]

    async def read(self, cursor: Mapping[str, Any] | None) -> AsyncIterator[Page]:
        found = await asyncio.to_thread(fingerprint, self.path, self.source.path,
                                        detect_encoding=self.source.is_csv)
        if self._unchanged(found, cursor):
            return
        with ExitStack() as stack:
            table = await asyncio.to_thread(stack.enter_context, open_table(self.path, self.source, found.encoding))
            reader = _RowReader(self.source, table)
            pending: list[dict[str, Any]] | None = None
            while batch := await asyncio.to_thread(reader.next_batch, self.page_size):
                if pending is not None:
                    yield Page(records=pending)
                pending = batch
        await asyncio.to_thread(self._still_same, found)
        yield Page(records=pending or (), cursor=self._cursor(found), sweep=frozenset(reader.seen))

    def _unchanged(self, found: FileFingerprint, cursor: Mapping[str, Any] | None) -> bool:
        return cursor is not None and found.same_content(cursor) and cursor.get("mapping") == self.source.mapping_hash

    def _cursor(self, found: FileFingerprint) -> dict[str, Any]:
        return {"size": found.size, "mtime_ns": found.mtime_ns, "sha256": found.sha256,
                "mapping": self.source.mapping_hash}

    def _still_same(self, found: FileFingerprint) -> None:
        stat = self.path.stat()
        if (stat.st_size, stat.st_mtime_ns) != (found.size, found.mtime_ns):
            raise LedgerFileError(f"{self.source.path} changed while it was being read; the next run reads it again",
                                  who=Who.TRANSIENT, action=Action.RETRY)


class _RowReader:
    """Pulls raw records off an open table, skipping blank rows and flagging duplicate or missing ids."""

    def __init__(self, source: LedgerSource, table: Table) -> None:
        self.source = source
        self.table = table
        wanted = list(source.columns.values()) + ([source.id_column] if source.id_column else [])
        index = table.require(wanted, source.header_row)
        self.positions = {header: index[header] for header in dict.fromkeys(wanted)}
        self.seen: dict[str, int] = {}

    def next_batch(self, size: int) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        for number, cells in self.table.rows:
            record = self._record(number, cells)
            if record is not None:
                batch.append(record)
                if len(batch) >= size:
                    break
        return batch

    def _record(self, number: int, cells: tuple[Any, ...]) -> dict[str, Any] | None:
        values = {header: raw_value(cells[i]) if i < len(cells) else None for header, i in self.positions.items()}
        if all(value is None for value in values.values()):
            return None
        source, sheet = self.source, self.table.sheet
        record: dict[str, Any] = {"id": None, "file": source.path, "sheet": sheet, "row": number,
                                  "values": values, "error": None}
        raw_id = values[source.id_column] if source.id_column else None
        if source.id_column is None:
            record["id"] = fallback_id(source, sheet, number)
        elif raw_id is None:
            record["error"] = located(source.path, sheet, number, source.id_column,
                                      "expected an id, got an empty cell")
            return record
        else:
            record["id"] = parse_text(raw_id)
        first = self.seen.setdefault(record["id"], number)
        if first != number:
            record["error"] = located(source.path, sheet, number, source.id_column,
                                      f"expected a unique id, got {raw_id!r}, which row {first} has too")
        return record


def stream_class(source: LedgerSource) -> type[LedgerStream]:
    """A stream class declared for one source: its name, kind and sheet settings as class attributes."""
    attrs = {"name": source.stream_name, "kind": source.entity_kind, "source": source}
    return type(f"LedgerStream_{source.stream_name}", (LedgerStream,), attrs)
