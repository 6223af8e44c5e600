"""The ledger connector's settings: one entry per spreadsheet (or sheet) under ``sources``.

Relative paths are resolved against ``base_dir``; a relative ``base_dir`` is resolved against the
folder of the YAML file, which the config loader exports as ``COLLABHUB_CONFIG_DIR`` (the working
directory when that variable is unset).
"""

from __future__ import annotations

import hashlib
import os
import re
from functools import cached_property
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from collabhub.config import CONFIG_DIR_ENV
from collabhub.connector import ConnectorConfig
from collabhub.model import EntityKind
from collabhub_ledger.fields import FIELDS, REQUIRED, status_values

__all__ = ["CONFIG_DIR_ENV", "DEFAULT_DATE_FORMATS", "LedgerConfig", "LedgerSource", "Writeback", "resolve_base_dir"]

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm")
CSV_SUFFIXES = (".csv",)

DEFAULT_DATE_FORMATS = [
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%Y年%m月%d日",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Writeback(_Strict):
    """Where the ``status_column`` writer puts status text; the column is added when missing."""

    column: str = Field(min_length=1, description="header of the column to write, e.g. 同步状态")


class LedgerSource(_Strict):
    """One sheet of tasks, resources or bookings and how its columns map to the unified model."""

    path: str = Field(min_length=1, description=".xlsx or .csv file, relative to base_dir or absolute")
    kind: Literal["task", "resource", "booking"]
    sheet: str | None = Field(None, description="sheet name (.xlsx only); the first sheet when omitted")
    header_row: int = Field(1, ge=1, description="row number of the header row; rows above it are ignored")
    columns: dict[str, str] = Field(description="unified field -> column header, e.g. title: 事项")
    id_column: str | None = Field(
        None,
        description="column whose value identifies a row for good. Without it a row is known by its sheet and "
                    "row number, so inserting or sorting rows makes the hub see deletions and new items",
    )
    status_map: dict[str, str] = Field(default_factory=dict, description="raw status text -> status category")
    department: str | None = Field(None, description="department id for every row (a department column wins)")
    timezone: str = Field("Asia/Shanghai", description="time zone of dates and times written without one")
    date_formats: list[str] = Field(default_factory=lambda: list(DEFAULT_DATE_FORMATS),
                                    description="strptime formats tried after ISO 8601")
    delimiter: str = Field(",", min_length=1, max_length=1, description="field separator of a .csv file")
    writeback: Writeback | None = None

    @property
    def entity_kind(self) -> EntityKind:
        return EntityKind(self.kind)

    @property
    def is_csv(self) -> bool:
        return Path(self.path).suffix.lower() in CSV_SUFFIXES

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def stream_name(self) -> str:
        """``<file stem>_<kind>``, e.g. ``actions_task``: stable while the path and kind stay."""
        stem = re.sub(r"\W+", "_", Path(self.path).stem).strip("_").lower() or "ledger"
        return f"{stem}_{self.kind}"

    @cached_property
    def mapping_hash(self) -> str:
        """A digest of everything that shapes the entities, kept in the cursor: a changed mapping re-reads."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]

    def resolve(self, base_dir: Path) -> Path:
        path = Path(self.path).expanduser()
        return path if path.is_absolute() else base_dir / path

    @field_validator("path")
    @classmethod
    def _known_suffix(cls, value: str) -> str:
        suffix = Path(value).suffix.lower()
        if suffix not in SPREADSHEET_SUFFIXES + CSV_SUFFIXES:
            raise ValueError(f"expected a .xlsx or .csv file, got {value!r}"
                             + (" (save .xls files as .xlsx)" if suffix == ".xls" else ""))
        return value

    @field_validator("columns")
    @classmethod
    def _clean_headers(cls, value: dict[str, str]) -> dict[str, str]:
        cleaned = {field.strip(): header.strip() for field, header in value.items()}
        empty = [field for field, header in cleaned.items() if not header]
        if empty:
            raise ValueError(f"column header of {', '.join(empty)} is empty")
        return cleaned

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name like Asia/Shanghai or UTC") from None
        return value

    @field_validator("date_formats")
    @classmethod
    def _formats_have_codes(cls, value: list[str]) -> list[str]:
        bad = [fmt for fmt in value if "%" not in fmt]
        if bad:
            raise ValueError(f"date formats need strptime codes like %Y-%m-%d, got {bad}")
        return value

    @model_validator(mode="after")
    def _fits_kind(self) -> LedgerSource:
        kind = self.entity_kind
        known = FIELDS[kind]
        unknown = sorted(set(self.columns) - set(known))
        if unknown:
            raise ValueError(f"{', '.join(unknown)} is not a field of a {kind}; {kind} fields are: "
                             f"{', '.join(known)}")
        missing = [field for field in REQUIRED[kind] if field not in self.columns]
        if missing:
            raise ValueError(f"a {kind} sheet must map {', '.join(missing)} under columns")
        allowed = status_values(kind)
        if self.status_map and not allowed:
            raise ValueError(f"status_map applies to task and booking sheets, not to a {kind} sheet")
        wrong = {raw: value for raw, value in self.status_map.items() if value not in allowed}
        if wrong:
            raise ValueError(f"status_map values must be one of {', '.join(allowed)}; got {wrong}")
        if self.sheet is not None and self.is_csv:
            raise ValueError("sheet applies to .xlsx files only; a .csv file has one table")
        if self.writeback and self.writeback.column.strip() == (self.id_column or "").strip():
            raise ValueError("writeback.column must not be the id_column: writing status would erase the ids")
        return self


class LedgerConfig(ConnectorConfig):
    """Settings of a ``ledger`` connector: spreadsheets of tasks, resources and bookings."""

    base_dir: str = Field(".", description="folder that relative source paths start from; a relative base_dir "
                                           "starts from the folder of the config file")
    sources: list[LedgerSource] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_source_per_kind(self) -> LedgerConfig:
        seen: dict[str, str] = {}
        for source in self.sources:
            if source.kind in seen:
                raise ValueError(
                    f"sources {seen[source.kind]!r} and {source.path!r} are both {source.kind} sheets; a ledger "
                    f"connector reads one sheet per kind (a full read marks rows missing from it deleted), so "
                    f"configure a second connector of type ledger for the other sheet")
            seen[source.kind] = source.path
        return self

    def base_path(self) -> Path:
        """``base_dir`` as an absolute path (see the module docstring)."""
        return resolve_base_dir(self.base_dir)


def resolve_base_dir(base_dir: str) -> Path:
    """Absolute paths stay; relative ones start from ``$COLLABHUB_CONFIG_DIR`` or the working directory."""
    path = Path(base_dir).expanduser()
    if path.is_absolute():
        return path
    root = os.environ.get(CONFIG_DIR_ENV) or os.getcwd()
    return Path(root) / path
