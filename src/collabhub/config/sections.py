"""The sections of ``collabhub.yaml`` as pydantic models. Unknown keys are errors everywhere.

Connector entries are kept raw here (``dict``): each is validated by its plugin's own ``Config``
in :mod:`collabhub.config.loader`. Sharing rules are kept as raw mappings for the rules compiler.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PositiveFloat,
    StringConstraints,
    field_validator,
)

from collabhub.schedule import Schedule

__all__ = [
    "DEFAULT_STORE_URL",
    "ConfigDocument",
    "CoordinationOffice",
    "DaemonSection",
    "DepartmentSpec",
    "PersonSpec",
    "ProjectSpec",
    "StoreSection",
    "WebhookSettings",
]

DEFAULT_STORE_URL = "sqlite:///collabhub.sqlite"
DEFAULT_TIMEZONE = "Asia/Shanghai"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _as_id_list(value: Any) -> Any:
    """One id or a list of ids (numbers allowed: DingTalk and Feishu ids often are) -> list of str."""
    if isinstance(value, str | int) and not isinstance(value, bool):
        return [str(value)]
    if isinstance(value, list):
        return [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
    return value


def _check_email(value: str) -> str:
    value = value.strip()
    if not _EMAIL.match(value):
        raise ValueError("expected an email address like name@example.com")
    return value


Identifier = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
IdList = Annotated[list[str], BeforeValidator(_as_id_list)]
Email = Annotated[str, AfterValidator(_check_email)]
_CONNECTOR_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _check_connector_name(value: str) -> str:
    if not _CONNECTOR_NAME.match(value):
        raise ValueError("a connector name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return value


ConnectorName = Annotated[str, AfterValidator(_check_connector_name)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)


class StoreSection(_Section):
    """Where the hub keeps its data: an SQLAlchemy URL."""

    url: str = Field(DEFAULT_STORE_URL, validate_default=True,
                     description="SQLAlchemy URL; a relative SQLite path is under the working directory")

    @field_validator("url")
    @classmethod
    def _absolute_sqlite(cls, url: str) -> str:
        return absolute_sqlite_url(url)

    @property
    def display_url(self) -> str:
        """The URL with its password masked, for logs and status output."""
        return mask_url_password(self.url)

    def __repr_args__(self) -> Iterator[tuple[str, Any]]:
        yield "url", self.display_url


def mask_url_password(url: str) -> str:
    """``postgresql://user:secret@host/db`` -> ``postgresql://user:***@host/db``."""
    return re.sub(r"^([\w+.-]+://[^:/@]*:)[^/]*@", r"\1***@", url)


def absolute_sqlite_url(url: str, base: Path | None = None) -> str:
    """Resolve a relative SQLite database path against ``base`` (the working directory)."""
    match = re.match(r"^(sqlite(?:\+\w+)?):///(?!/)([^?]*)(\?.*)?$", url)
    if not match or match.group(2) in ("", ":memory:"):
        return url
    scheme, file, query = match.group(1), match.group(2), match.group(3) or ""
    if Path(file).is_absolute():  # e.g. a Windows drive path
        return url
    resolved = ((base or Path.cwd()) / file).resolve()
    return f"{scheme}:///{resolved.as_posix()}{query}"


class DepartmentSpec(_Section):
    """A department and the ids that mean it in each connector (Jira project keys, OA dept ids...)."""

    id: Identifier
    name: Identifier
    parent: Identifier | None = None
    aliases: dict[str, IdList] = Field(default_factory=dict, description="connector name -> source ids/keys")
    owner: Email | None = None


class PersonSpec(_Section):
    """A manual identity link: one person and their ids in each connector."""

    name: Identifier
    email: Email | None = None
    mobile: str | None = None
    employee_id: str | None = None
    department: Identifier | None = None
    ids: dict[str, IdList] = Field(default_factory=dict, description="connector name -> external id(s)")


class ProjectSpec(_Section):
    """A cross-department project team."""

    id: Identifier
    name: Identifier
    departments: list[Identifier] = Field(default_factory=list)
    lead: Email | None = None
    chats: dict[str, str] = Field(default_factory=dict, description="connector name -> group chat id")
    jira_epic: str | None = None
    aliases: dict[str, IdList] = Field(default_factory=dict, description="connector name -> source ids/keys")


class CoordinationOffice(_Section):
    """The office that follows every cross-department item, and where it is reached."""

    name: Identifier
    email: Email | None = None
    chats: dict[str, str] = Field(default_factory=dict, description="connector name -> group chat id")


class WebhookSettings(_Section):
    """The HTTP listener for inbound webhooks."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)


class DaemonSection(_Section):
    """How the daemon paces itself."""

    default_schedule: str = Field("every 15m", description="schedule of connectors that set none")
    dispatch_interval: PositiveFloat = Field(5.0, description="seconds between outbox dispatch passes")
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    stop_timeout: PositiveFloat = Field(30.0, description="seconds a stop waits for running work")

    @field_validator("default_schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        return str(Schedule.parse(value))


class ConfigDocument(_Section):
    """The whole file. ``connectors`` entries stay raw until their plugin validates them."""

    store: StoreSection = Field(default_factory=StoreSection)
    connectors: dict[ConnectorName, dict[str, Any]] = Field(default_factory=dict)
    departments: list[DepartmentSpec] = Field(default_factory=list)
    people: list[PersonSpec] = Field(default_factory=list)
    projects: list[ProjectSpec] = Field(default_factory=list)
    coordination_office: CoordinationOffice | None = None
    sharing: list[dict[str, Any]] = Field(default_factory=list)
    daemon: DaemonSection = Field(default_factory=DaemonSection)
    timezone: str = DEFAULT_TIMEZONE

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("unknown time zone; use an IANA name like Asia/Shanghai or UTC") from None
        return value
