"""The loaded configuration: :class:`HubConfig` and one :class:`ConnectorEntry` per connector."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from collabhub.config._yaml import KeyPath, YamlDocument
from collabhub.config.sections import (
    CoordinationOffice,
    DaemonSection,
    DepartmentSpec,
    PersonSpec,
    ProjectSpec,
    StoreSection,
)
from collabhub.config.settings import Settings
from collabhub.connector import ConnectorConfig
from collabhub.errors import ConfigError
from collabhub.schedule import Schedule

__all__ = ["ConnectorEntry", "HubConfig"]


@dataclass(frozen=True)
class ConnectorEntry:
    """One configured connector: its name, plugin type, switch, schedule and validated settings.

    ``config`` is an instance of the plugin's ``Config`` class. ``schedule`` is ``None`` when the
    entry sets none (the daemon's ``default_schedule`` applies). ``location`` is where the entry
    starts in the file (``file:line:column``).
    """

    name: str
    type: str
    enabled: bool
    schedule: Schedule | None
    config: ConnectorConfig
    location: str | None = None


@dataclass
class HubConfig:
    """The validated configuration of one hub, plus where everything came from."""

    store: StoreSection = field(default_factory=StoreSection)
    connectors: dict[str, ConnectorEntry] = field(default_factory=dict)
    departments: list[DepartmentSpec] = field(default_factory=list)
    people: list[PersonSpec] = field(default_factory=list)
    projects: list[ProjectSpec] = field(default_factory=list)
    coordination_office: CoordinationOffice | None = None
    sharing: list[dict[str, Any]] = field(default_factory=list)
    daemon: DaemonSection = field(default_factory=DaemonSection)
    timezone: str = "Asia/Shanghai"
    settings: Settings = field(default_factory=Settings)
    source_path: Path | None = None
    document: YamlDocument | None = field(default=None, repr=False, compare=False)

    # -- where things are --------------------------------------------------------------

    def locate(self, path: KeyPath) -> str | None:
        """``file:line:column`` of a key or item, e.g. ``("sharing", 0, "when")``; ``None`` if absent.

        For a string value the position is its first character of content (inside quotes, on the
        first content line of a block scalar), so a column offset inside the text adds to it.
        """
        return self.document.locate(tuple(path)) if self.document is not None else None

    # -- lookups -----------------------------------------------------------------------

    @property
    def tz(self) -> ZoneInfo:
        """The configured time zone."""
        return ZoneInfo(self.timezone)

    @property
    def default_schedule(self) -> Schedule:
        """``daemon.default_schedule``, bound to the configured time zone."""
        return Schedule.parse(self.daemon.default_schedule, tz=self.tz)

    def connector(self, name: str) -> ConnectorEntry:
        """The entry named ``name``; a ``ConfigError`` listing the configured names otherwise."""
        try:
            return self.connectors[name]
        except KeyError:
            known = ", ".join(sorted(self.connectors)) or "none"
            raise ConfigError(f"no connector named {name!r} is configured; configured: {known}",
                              key=f"connectors.{name}",
                              hint="check the name under `connectors:` in the config file") from None

    def enabled_connectors(self) -> list[ConnectorEntry]:
        """Enabled entries in file order."""
        return [entry for entry in self.connectors.values() if entry.enabled]

    def schedule_for(self, name: str) -> Schedule:
        """The schedule of connector ``name``, falling back to the daemon's default."""
        return self.connector(name).schedule or self.default_schedule

    def department_for(self, connector: str, source_id: str) -> str | None:
        """The department id whose ``aliases`` map ``source_id`` of ``connector`` to it, if any."""
        return self._department_index.get((connector, str(source_id)))

    def project_for(self, connector: str, source_id: str) -> str | None:
        """The project id whose ``aliases`` (or ``jira_epic``) map ``source_id`` of ``connector`` to it."""
        return self._project_index.get((connector, str(source_id)))

    def department(self, department_id: str) -> DepartmentSpec | None:
        return next((d for d in self.departments if d.id == department_id), None)

    def project(self, project_id: str) -> ProjectSpec | None:
        return next((p for p in self.projects if p.id == project_id), None)

    @cached_property
    def _project_index(self) -> dict[tuple[str, str], str]:
        index: dict[tuple[str, str], str] = {}
        for project in self.projects:
            for connector, ids in project.aliases.items():
                for source_id in ids:
                    index.setdefault((connector, source_id), project.id)
        return index

    @cached_property
    def _department_index(self) -> dict[tuple[str, str], str]:
        index: dict[tuple[str, str], str] = {}
        for dept in self.departments:
            for connector, ids in dept.aliases.items():
                for source_id in ids:
                    index.setdefault((connector, source_id), dept.id)
        return index
