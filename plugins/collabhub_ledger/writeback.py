"""Writing one status text into one row's writeback cell, atomically and idempotently.

The new file is written next to the old one and moved over it with ``os.replace``, so a crash
leaves either the old or the new file, never half of one. When the cell already holds the text
nothing is written at all (the file, and so its fingerprint, stays as it was).

``.xlsx`` files go through openpyxl, which keeps cell values, styles, number formats, column
widths, merged cells and other sheets; it drops what it does not model (charts, images, pivot
caches). ``.csv`` files keep every cell, their encoding (with or without BOM), separator and
line ending; quoting is rewritten minimally.
"""

from __future__ import annotations

import codecs
import csv
import os
import shutil
import tempfile
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import openpyxl

from collabhub_ledger.config import LedgerSource
from collabhub_ledger.files import LedgerFileError, fingerprint
from collabhub_ledger.stream import fallback_id
from collabhub_ledger.values import parse_text

__all__ = ["RowNotFound", "WriteOutcome", "write_status"]


class RowNotFound(LookupError):
    """No row of the sheet has the id a delivery names."""


@dataclass(frozen=True)
class WriteOutcome:
    """Where the text went and whether the file changed."""

    sheet: str | None
    row: int
    column: str
    changed: bool


def write_status(path: Path, source: LedgerSource, row_id: str, text: str) -> WriteOutcome:
    """Put ``text`` into the writeback column of the row whose id is ``row_id``."""
    if source.writeback is None:
        raise ValueError(f"{source.path} has no writeback column configured")
    if source.is_csv:
        return _write_csv(path, source, row_id, text)
    return _write_xlsx(path, source, row_id, text)


def _cell_text(value: Any) -> str:
    return "" if value is None else parse_text(value)


def _row_matches(source: LedgerSource, sheet: str | None, row: int, id_value: Any, row_id: str) -> bool:
    if source.id_column is None:
        return fallback_id(source, sheet, row) == row_id
    return _cell_text(id_value) == row_id


def _header_position(headers: list[str], header: str) -> int | None:
    return next((i for i, cell in enumerate(headers) if cell == header), None)


def _replace_atomically(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        shutil.copymode(path, temp)
        os.replace(temp, path)
    except BaseException:
        with suppress(OSError):
            temp.unlink()
        raise


# -- xlsx ----------------------------------------------------------------------------------


def _write_xlsx(path: Path, source: LedgerSource, row_id: str, text: str) -> WriteOutcome:
    assert source.writeback is not None
    column = source.writeback.column
    book = openpyxl.load_workbook(path, keep_vba=path.suffix.lower() == ".xlsm")
    if source.sheet and source.sheet not in book.sheetnames:
        raise LedgerFileError(f"{source.path}: no sheet named {source.sheet!r}; its sheets are: "
                              f"{', '.join(book.sheetnames)}")
    sheet = book[source.sheet] if source.sheet else book.worksheets[0]
    header_row = source.header_row
    headers = [_cell_text(cell.value).strip() for cell in sheet[header_row]] if sheet.max_row >= header_row else []
    id_col = _header_position(headers, source.id_column) if source.id_column else None
    if source.id_column and id_col is None:
        raise LedgerFileError(f"{source.path}, sheet {sheet.title}: id column {source.id_column} not found")
    target = None
    for row in range(header_row + 1, sheet.max_row + 1):
        id_value = sheet.cell(row, id_col + 1).value if id_col is not None else None
        if _row_matches(source, sheet.title, row, id_value, row_id):
            target = row
            break
    if target is None:
        raise RowNotFound(f"{source.path}, sheet {sheet.title}: no row with id {row_id!r}")
    position = _header_position(headers, column)
    if position is None:
        position = len(headers)
        while position > 0 and not headers[position - 1]:
            position -= 1
        sheet.cell(header_row, position + 1).value = column
    cell = sheet.cell(target, position + 1)
    if _cell_text(cell.value) == text:
        return WriteOutcome(sheet.title, target, column, changed=False)
    cell.value = text
    _replace_atomically(path, book.save)
    return WriteOutcome(sheet.title, target, column, changed=True)


# -- csv -----------------------------------------------------------------------------------


def _line_ending(path: Path) -> str:
    with path.open("rb") as handle:
        head = handle.read(64 * 1024)
    return "\r\n" if b"\r\n" in head else "\n"


def _write_csv(path: Path, source: LedgerSource, row_id: str, text: str) -> WriteOutcome:
    encoding = fingerprint(path, source.path, detect_encoding=True).encoding
    if encoding is None:
        raise LedgerFileError(f"{source.path}: the file is neither UTF-8 nor GBK text")
    outcome: WriteOutcome | None = None

    def rewrite(out: IO[bytes]) -> None:
        nonlocal outcome
        with path.open(encoding=encoding, newline="") as original:
            reader = csv.reader(original, delimiter=source.delimiter)
            sink = _TextSink(out, encoding)
            writer = csv.writer(sink, delimiter=source.delimiter, lineterminator=_line_ending(path))
            outcome = _copy_rows(reader, writer, source, row_id, text)

    try:
        _replace_atomically(path, rewrite)
    except _Unchanged as unchanged:
        return unchanged.outcome
    assert outcome is not None
    return outcome


class _Unchanged(Exception):
    """Raised out of a rewrite when the cell already holds the text: the temp file is dropped."""

    def __init__(self, outcome: WriteOutcome) -> None:
        self.outcome = outcome


class _TextSink:
    """What ``csv.writer`` writes to: encodes each line into the temp file (BOM once for utf-8-sig)."""

    def __init__(self, out: IO[bytes], encoding: str) -> None:
        self.out = out
        self.encoder = codecs.getincrementalencoder(encoding)()

    def write(self, line: str) -> None:
        self.out.write(self.encoder.encode(line))


def _copy_rows(reader: Any, writer: Any, source: LedgerSource, row_id: str, text: str) -> WriteOutcome:
    assert source.writeback is not None
    column = source.writeback.column
    headers: list[str] = []
    id_col: int | None = None
    position: int | None = None
    found: WriteOutcome | None = None
    for number, cells in enumerate(reader, start=1):
        if number == source.header_row:
            headers = [cell.strip() for cell in cells]
            id_col = _header_position(headers, source.id_column) if source.id_column else None
            if source.id_column and id_col is None:
                raise LedgerFileError(f"{source.path}: id column {source.id_column} not found")
            position = _header_position(headers, column)
            if position is None:
                position = len(cells)
                cells = [*cells, column]
        elif number > source.header_row and found is None and position is not None:
            id_value = cells[id_col] if id_col is not None and id_col < len(cells) else None
            if _row_matches(source, None, number, id_value, row_id):
                current = cells[position] if position < len(cells) else ""
                found = WriteOutcome(None, number, column, changed=current != text)
                if not found.changed:
                    raise _Unchanged(found)
                cells = [*cells, *([""] * (position + 1 - len(cells)))]
                cells[position] = text
        writer.writerow(cells)
    if found is None:
        raise RowNotFound(f"{source.path}: no row with id {row_id!r}")
    return found
