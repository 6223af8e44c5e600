"""Reading ledger files: content fingerprints, CSV encoding detection, and row-by-row tables.

Nothing here loads a whole sheet: ``.xlsx`` files are opened with openpyxl in read-only mode and
``.csv`` files are parsed line by line; callers pull rows from :attr:`Table.rows` as they need.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl

from collabhub.errors import Action, ConnectorError, ErrorResolution, Who
from collabhub_ledger.config import LedgerSource

__all__ = ["FileFingerprint", "LedgerFileError", "Table", "fingerprint", "open_table", "where"]

CHUNK = 1 << 20
FALLBACK_ENCODING = "gb18030"  # a superset of GBK, which Chinese Excel uses for "CSV" exports


class LedgerFileError(ConnectorError):
    """A ledger file cannot be used as configured (missing, unreadable, wrong sheet or headers)."""

    def __init__(self, message: str, *, who: Who = Who.CONFIG, action: Action = Action.FAIL) -> None:
        super().__init__(message, resolution=ErrorResolution(action, who, message))


@dataclass(frozen=True)
class FileFingerprint:
    """What identifies a file's content: size, modification time and SHA-256 (plus a CSV's encoding)."""

    size: int
    mtime_ns: int
    sha256: str
    encoding: str | None = None

    def same_content(self, cursor: Mapping[str, Any]) -> bool:
        return cursor.get("sha256") == self.sha256 and cursor.get("size") == self.size


def where(file: str, sheet: str | None = None) -> str:
    """``actions.xlsx, sheet 行动项`` or ``rooms.csv``: how messages name a table."""
    return f"{file}, sheet {sheet}" if sheet else file


def fingerprint(path: Path, label: str, *, detect_encoding: bool = False) -> FileFingerprint:
    """Hash ``path`` in one streaming pass; with ``detect_encoding`` also tell UTF-8 from GBK.

    ``label`` names the file in error messages (the path as configured).
    """
    try:
        stat = path.stat()
        digest = hashlib.sha256()
        decoders = _EncodingProbe() if detect_encoding else None
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
                if decoders:
                    decoders.feed(chunk)
    except FileNotFoundError:
        raise LedgerFileError(f"{label}: file not found at {path}") from None
    except OSError as exc:
        raise LedgerFileError(f"{label}: cannot read the file: {exc.strerror or exc}") from None
    encoding = decoders.result() if decoders else None
    return FileFingerprint(stat.st_size, stat.st_mtime_ns, digest.hexdigest(), encoding)


class _EncodingProbe:
    """Feeds bytes to incremental UTF-8 and GB18030 decoders; the first that survives wins."""

    def __init__(self) -> None:
        self.head = b""
        self.candidates = {"utf-8": codecs.getincrementaldecoder("utf-8")(),
                           FALLBACK_ENCODING: codecs.getincrementaldecoder(FALLBACK_ENCODING)()}

    def feed(self, chunk: bytes, final: bool = False) -> None:
        if len(self.head) < 3:
            self.head += chunk[:3]
        for name, decoder in list(self.candidates.items()):
            try:
                decoder.decode(chunk, final)
            except UnicodeDecodeError:
                del self.candidates[name]

    def result(self) -> str | None:
        self.feed(b"", final=True)
        if "utf-8" in self.candidates:
            return "utf-8-sig" if self.head.startswith(codecs.BOM_UTF8) else "utf-8"
        return FALLBACK_ENCODING if self.candidates else None


@dataclass
class Table:
    """One open sheet: its header cells and an iterator over ``(row number, cells)`` below the header."""

    label: str
    sheet: str | None
    headers: list[str]
    rows: Iterator[tuple[int, tuple[Any, ...]]]

    def column_index(self) -> dict[str, int]:
        """Header -> 0-based position; the first of duplicate headers wins."""
        index: dict[str, int] = {}
        for i, header in enumerate(self.headers):
            if header:
                index.setdefault(header, i)
        return index

    def require(self, headers: list[str], header_row: int) -> dict[str, int]:
        """Positions of ``headers``; a ``LedgerFileError`` naming the missing and present ones otherwise."""
        index = self.column_index()
        missing = [h for h in dict.fromkeys(headers) if h not in index]
        if missing:
            present = ", ".join(h for h in self.headers if h) or "none (the row is empty)"
            raise LedgerFileError(f"{self.label}: column(s) {', '.join(missing)} not found in header row "
                                  f"{header_row}; the headers there are: {present}")
        return index


@contextmanager
def open_table(path: Path, source: LedgerSource, encoding: str | None = None) -> Iterator[Table]:
    """Open the configured sheet of ``path`` (``encoding`` from :func:`fingerprint` for a CSV)."""
    if source.is_csv:
        with _open_csv(path, source, encoding) as table:
            yield table
    else:
        with _open_xlsx(path, source) as table:
            yield table


def _split_header(source: LedgerSource, label: str, sheet: str | None,
                  numbered: Iterator[tuple[int, tuple[Any, ...]]]) -> Table:
    headers: list[str] = []
    for number, cells in numbered:
        if number == source.header_row:
            headers = ["" if c is None else str(c).strip() for c in cells]
            break
    return Table(label, sheet, headers, numbered)


@contextmanager
def _open_csv(path: Path, source: LedgerSource, encoding: str | None) -> Iterator[Table]:
    if encoding is None:
        encoding = fingerprint(path, source.path, detect_encoding=True).encoding
    if encoding is None:
        raise LedgerFileError(f"{source.path}: the file is neither UTF-8 nor GBK text; "
                              f"save it from Excel as \"CSV UTF-8\"")
    try:
        handle = path.open(encoding=encoding, newline="")
    except OSError as exc:
        raise LedgerFileError(f"{source.path}: cannot open the file: {exc.strerror or exc}") from None
    with handle:
        reader = csv.reader(handle, delimiter=source.delimiter)
        numbered = ((number, tuple(cells)) for number, cells in enumerate(reader, start=1))
        try:
            yield _split_header(source, source.path, None, numbered)
        except csv.Error as exc:
            raise LedgerFileError(f"{source.path}, row {reader.line_num}: the CSV is malformed: {exc}",
                                  who=Who.REMOTE) from None


@contextmanager
def _open_xlsx(path: Path, source: LedgerSource) -> Iterator[Table]:
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except FileNotFoundError:
        raise LedgerFileError(f"{source.path}: file not found at {path}") from None
    except Exception as exc:  # openpyxl raises many kinds of errors on a damaged or foreign file
        raise LedgerFileError(f"{source.path}: not a readable .xlsx workbook ({exc}); "
                              f"save it from Excel as \"Excel Workbook (*.xlsx)\"") from None
    try:
        if source.sheet is None:
            sheet = book.worksheets[0]
        elif source.sheet in book.sheetnames:
            sheet = book[source.sheet]
        else:
            raise LedgerFileError(f"{source.path}: no sheet named {source.sheet!r}; "
                                  f"its sheets are: {', '.join(book.sheetnames)}")
        if hasattr(sheet, "reset_dimensions"):
            sheet.reset_dimensions()  # stored dimensions are often stale; read what is really there
        numbered = enumerate(sheet.iter_rows(values_only=True), start=1)
        yield _split_header(source, where(source.path, sheet.title), sheet.title, numbered)
    finally:
        book.close()
