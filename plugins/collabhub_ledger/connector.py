"""The ``ledger`` connector: tasks, resources and bookings kept in .xlsx and .csv files."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from collabhub.connector import CheckResult, Connector, ConnectorContext
from collabhub_ledger.config import CONFIG_DIR_ENV, LedgerConfig, LedgerSource
from collabhub_ledger.files import LedgerFileError, fingerprint, open_table
from collabhub_ledger.stream import stream_class
from collabhub_ledger.writer import StatusColumnWriter

__all__ = ["LedgerConnector"]


class LedgerConnector(Connector):
    """Reads one sheet per kind through a column mapping; writes status text back to a column."""

    type = "ledger"
    title = "Spreadsheet ledgers (.xlsx, .csv)"
    Config = LedgerConfig
    writer_classes = (StatusColumnWriter,)
    config: LedgerConfig

    def __init__(self, name: str, config: LedgerConfig, context: ConnectorContext | None = None) -> None:
        super().__init__(name, config, context)
        self.base_dir = config.base_path()
        # One stream class per configured sheet, so the base class's stream selection applies.
        self.stream_classes = tuple(stream_class(source) for source in config.sources)
        self._locks: dict[Path, asyncio.Lock] = {}

    def file_lock(self, path: Path) -> asyncio.Lock:
        """Serialises this connector's writes to one file."""
        return self._locks.setdefault(path.resolve(), asyncio.Lock())

    async def check(self) -> CheckResult:
        """Every file exists and is readable, its sheet exists, and every mapped column is in the header row."""
        if not self.base_dir.is_dir():
            return CheckResult.failed(
                f"base_dir {self.config.base_dir!r} resolves to {self.base_dir}, which is not a folder "
                f"(relative paths start from ${CONFIG_DIR_ENV}, else the working directory)")
        results = await asyncio.gather(*(asyncio.to_thread(self._check_source, s) for s in self.config.sources))
        ok = all(passed for passed, _ in results)
        return CheckResult(ok, [line for _, line in results])

    def _check_source(self, source: LedgerSource) -> tuple[bool, str]:
        path = source.resolve(self.base_dir)
        name = source.stream_name
        try:
            found = fingerprint(path, source.path, detect_encoding=source.is_csv)
            with open_table(path, source, found.encoding) as table:
                wanted = [*source.columns.values(), *([source.id_column] if source.id_column else [])]
                table.require(wanted, source.header_row)
                label = table.label
                notes = [f"{len(source.columns)} mapped column(s) found in header row {source.header_row}"]
                if source.writeback is not None:
                    if source.writeback.column not in table.column_index():
                        notes.append(f"writeback column {source.writeback.column} will be added on the first write")
                    if not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
                        return False, f"{name}: {label}: writeback is configured but the file or its folder " \
                                      f"is not writable"
        except LedgerFileError as exc:
            return False, f"{name}: {exc.message}"
        return True, f"{name}: {label}: " + "; ".join(notes)
