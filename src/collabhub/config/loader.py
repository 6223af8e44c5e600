"""Loading ``collabhub.yaml``: find the file, parse, interpolate, override, validate, locate errors.

Order of work, each step collecting every problem it can before the next:

1. ``COLLABHUB_*`` settings from the environment (which file; overrides).
2. The file: explicit path, else ``COLLABHUB_CONFIG``, else ``./collabhub.yaml``.
3. YAML (round-trip, so every key keeps its line and column); broken YAML stops here.
4. ``${VAR}`` interpolation in string values; ``COLLABHUB_*`` overrides on top (env beats YAML).
5. The sections (``ConfigDocument``), each connector entry by its plugin's ``Config``, then
   cross-references between sections.

Top-level keys starting with ``x-`` are ignored: they hold YAML anchors (``&name``) that entries
reuse with ``<<: *name``. A missing ``${VAR}`` inside a connector with ``enabled: false`` is
tolerated (the raw text stays), so a connector can be configured before its credentials exist.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, ValidationError

from collabhub.config._errors import ConfigProblems, from_validation_error
from collabhub.config._interpolate import interpolate
from collabhub.config._references import check_references
from collabhub.config._yaml import KeyPath, YamlDocument, dotted, parse_yaml
from collabhub.config.hub import ConnectorEntry, HubConfig
from collabhub.config.sections import DEFAULT_TIMEZONE, ConfigDocument, Identifier
from collabhub.config.settings import ENV_PREFIX, Settings, env_name
from collabhub.errors import ConfigError, PluginError
from collabhub.schedule import Schedule

if TYPE_CHECKING:
    from collabhub.plugins import PluginHost

__all__ = ["CONFIG_DIR_ENV", "DEFAULT_CONFIG_FILE", "ENTRY_KEYS", "load_config", "resolve_config_path", "validate_file"]

DEFAULT_CONFIG_FILE = "collabhub.yaml"
CONFIG_DIR_ENV = f"{ENV_PREFIX}CONFIG_DIR"
NESTED_SETTINGS_KEY = "settings"
SCRATCH_PREFIX = "x-"
ENTRY_KEYS = ("type", "enabled", "schedule")
_FIX_PATH = (f"create it (config/reference.yaml documents every option), pass --config FILE, "
             f"or set {ENV_PREFIX}CONFIG")


class _EntryHeader(BaseModel):
    """The keys every connector entry has, whatever its type."""

    model_config = ConfigDict(extra="ignore")

    type: Identifier
    enabled: bool = True
    schedule: str | None = None


@dataclass
class _Load:
    problems: list[ConfigError] = field(default_factory=list)
    config: HubConfig | None = None


def load_config(path: str | Path | None = None, *, host: PluginHost | None = None,
                env: Mapping[str, str] | None = None) -> HubConfig:
    """Load and validate the configuration; raise ``ConfigError`` (with ``.errors``) when it is wrong.

    ``host`` validates connector entries (default: the process's plugin host). ``env`` replaces
    ``os.environ`` for ``${VAR}`` interpolation and ``COLLABHUB_*`` overrides.
    """
    result = _load(path, host=host, env=env)
    if result.problems or result.config is None:
        raise ConfigProblems(result.problems)
    return result.config


def validate_file(path: str | Path | None = None, *, host: PluginHost | None = None,
                  env: Mapping[str, str] | None = None) -> list[str]:
    """Every located error of a config file as one-liners, in file order; empty when it is valid."""
    return [problem.one_line() for problem in _load(path, host=host, env=env).problems]


def resolve_config_path(path: str | Path | None = None, *, env: Mapping[str, str] | None = None) -> Path:
    """Which file to read: ``path``, else ``$COLLABHUB_CONFIG``, else ``./collabhub.yaml``."""
    environ = os.environ if env is None else env
    return _choose_path(path, _path_or_none(environ.get(f"{ENV_PREFIX}CONFIG")))[0]


def _choose_path(path: str | Path | None, from_env: Path | None) -> tuple[Path, str]:
    """The file to read, and a note on how it was chosen (for the not-found message)."""
    if path is not None:
        return Path(path), ""
    if from_env is not None:
        return from_env, f"from {ENV_PREFIX}CONFIG"
    return Path(DEFAULT_CONFIG_FILE), "the default, in the working directory"


def _load(path: str | Path | None, *, host: PluginHost | None, env: Mapping[str, str] | None) -> _Load:
    result = _Load()
    environ: Mapping[str, str] = os.environ if env is None else env
    try:
        settings = Settings.from_env(env)
    except ValidationError as exc:
        result.problems.extend(_settings_problems(exc))
        settings = Settings.model_construct(config=_path_or_none(environ.get(f"{ENV_PREFIX}CONFIG")))
    source, how = _choose_path(path, settings.config)
    text = _read(source, how, result)
    if text is None:
        return result
    config_dir = str(source.resolve().parent)
    if env is None:  # plugins resolve relative paths against it at run time
        os.environ[CONFIG_DIR_ENV] = config_dir
    environ = {**environ, CONFIG_DIR_ENV: config_dir}
    try:
        doc = parse_yaml(text, str(source))
    except ConfigError as exc:
        result.problems.append(exc)
        return result
    if doc.root is None:  # an empty file: every section takes its default
        doc = parse_yaml("{}", str(source))
    if not isinstance(doc.root, Mapping):
        result.problems.append(ConfigError(
            "the top level must be a mapping of sections (store, connectors, departments, ...)",
            location=doc.locate(()), hint="see config/reference.yaml"))
        return result

    data, interpolation = interpolate(doc, environ)
    for name in [k for k in data if isinstance(k, str) and k.startswith(SCRATCH_PREFIX)]:
        del data[name]  # x-... keys hold YAML anchors for reuse; they are not configuration
    overrides = _apply_overrides(data, settings)
    sections: ConfigDocument | None = None
    try:
        sections = ConfigDocument.model_validate(data)
    except ValidationError as exc:
        result.problems.extend(from_validation_error(exc, doc, model=ConfigDocument, overrides=overrides))

    timezone = sections.timezone if sections is not None else _timezone_or_default(data.get("timezone"))
    entries, disabled = _connector_entries(data.get("connectors"), doc, host, ZoneInfo(timezone), result)
    unresolved = [p.error for p in interpolation if not _tolerated(p.path, disabled)]
    # a value whose ${VAR} failed may fail validation too: report the cause only
    masked = {(p.location, p.key) for p in unresolved}
    result.problems[:] = [p for p in result.problems if (p.location, p.key) not in masked]
    result.problems.extend(unresolved)
    if sections is not None and not result.problems:
        result.problems.extend(check_references(sections, doc))
    if result.problems:
        result.problems.sort(key=_file_order)
        return result
    assert sections is not None
    result.config = HubConfig(
        store=sections.store, connectors=entries, departments=sections.departments, people=sections.people,
        projects=sections.projects, coordination_office=sections.coordination_office,
        sharing=sections.sharing, daemon=sections.daemon, timezone=sections.timezone,
        settings=settings, source_path=source.resolve(), document=doc,
    )
    return result


def _tolerated(path: KeyPath, disabled: set[str]) -> bool:
    """Unset variables are fine in disabled connectors and in ``x-`` anchor holders (reported where used)."""
    if path and isinstance(path[0], str) and path[0].startswith(SCRATCH_PREFIX):
        return True
    return len(path) > 2 and path[0] == "connectors" and path[1] in disabled


def _read(source: Path, how: str, result: _Load) -> str | None:
    name = str(source)
    try:
        return source.read_text(encoding="utf-8")
    except FileNotFoundError:
        note = f" ({how})" if how else ""
        result.problems.append(ConfigError(f"config file {name} does not exist{note}", hint=_FIX_PATH))
    except IsADirectoryError:
        result.problems.append(ConfigError(f"config path {name} is a directory, not a file",
                                           hint="point at the YAML file itself"))
    except UnicodeDecodeError as exc:
        result.problems.append(ConfigError(f"config file {name} is not UTF-8 text (byte {exc.start})",
                                           location=name, hint="save it as UTF-8"))
    except OSError as exc:
        result.problems.append(ConfigError(f"cannot read config file {name}: {exc.strerror or exc}",
                                           hint="check the path and its permissions"))
    return None


def _apply_overrides(data: dict[str, Any], settings: Settings) -> dict[KeyPath, str]:
    """Write ``COLLABHUB_*`` overrides into ``data``; return document path -> variable name."""
    applied: dict[KeyPath, str] = {}
    for path, (variable, value) in settings.overrides().items():
        node: Any = data
        for part in path[:-1]:
            if node.get(part) is None:
                node[part] = {}
            node = node[part]
            if not isinstance(node, dict):
                break
        else:
            node[path[-1]] = value
            applied[path] = variable
    return applied


def _connector_entries(raw: Any, doc: YamlDocument, host: PluginHost | None, tz: ZoneInfo,
                       result: _Load) -> tuple[dict[str, ConnectorEntry], set[str]]:
    entries: dict[str, ConnectorEntry] = {}
    disabled: set[str] = set()
    if not isinstance(raw, dict):
        return entries, disabled
    for name, settings in raw.items():
        if not isinstance(settings, dict):
            continue  # reported by the section validation
        entry = _connector_entry(str(name), settings, doc, host, tz, result)
        if entry is not None:
            entries[entry.name] = entry
            if not entry.enabled:
                disabled.add(entry.name)
        elif settings.get("enabled") in (False, "false", "False", "no", "off", "0"):
            disabled.add(str(name))
    return entries, disabled


def _connector_entry(name: str, raw: dict[str, Any], doc: YamlDocument, host: PluginHost | None,
                     tz: ZoneInfo, result: _Load) -> ConnectorEntry | None:
    prefix: KeyPath = ("connectors", name)
    try:
        header = _EntryHeader.model_validate(raw)
    except ValidationError as exc:
        result.problems.extend(from_validation_error(exc, doc, prefix=prefix, model=_EntryHeader))
        return None
    if host is None:
        from collabhub.plugins import get_host

        host = get_host()
    try:
        connector_class = host.connector_class(header.type)
    except PluginError:
        installed = sorted(host.connector_types())
        result.problems.append(ConfigError(
            f"unknown connector type {header.type!r}; installed types: {', '.join(installed) or 'none'}",
            location=doc.locate((*prefix, "type")), key=dotted((*prefix, "type")),
            hint=f"install the plugin that provides it, or check {ENV_PREFIX}LOAD_PLUGINS"))
        return None
    ok = True
    schedule: Schedule | None = None
    if header.schedule is not None:
        try:
            schedule = Schedule.parse(header.schedule, tz=tz)
        except ValueError as exc:
            ok = False
            result.problems.append(ConfigError(str(exc), location=doc.locate((*prefix, "schedule")),
                                               key=dotted((*prefix, "schedule"))))
    own, own_prefix = _own_settings(raw, prefix, connector_class.Config, doc, result)
    if own is None:
        return None
    try:
        config = connector_class.Config.model_validate(own)
    except ValidationError as exc:
        result.problems.extend(from_validation_error(exc, doc, prefix=own_prefix, model=connector_class.Config,
                                                     extra_keys=ENTRY_KEYS if own_prefix == prefix else ()))
        return None
    if not ok:
        return None
    return ConnectorEntry(name=name, type=header.type, enabled=header.enabled, schedule=schedule,
                          config=config, location=doc.locate(prefix))


def _own_settings(raw: dict[str, Any], prefix: KeyPath, config_class: type[BaseModel], doc: YamlDocument,
                  result: _Load) -> tuple[dict[str, Any] | None, KeyPath]:
    """The plugin's own keys: beside ``type:``, or (also accepted) in a nested ``settings:`` mapping."""
    own = {key: value for key, value in raw.items() if key not in ENTRY_KEYS}
    nested = own.get(NESTED_SETTINGS_KEY)
    if NESTED_SETTINGS_KEY in config_class.model_fields or not isinstance(nested, dict):
        return own, prefix
    beside = [key for key in own if key != NESTED_SETTINGS_KEY]
    if beside:
        path = (*prefix, beside[0])
        result.problems.append(ConfigError(
            "this connector's settings are split between `settings:` and the entry itself",
            location=doc.locate(path, key=True), key=dotted(path),
            hint="put every key of the connector under `settings:`, or every key beside `type:`"))
        return None, prefix
    return nested, (*prefix, NESTED_SETTINGS_KEY)


def _settings_problems(exc: ValidationError) -> list[ConfigError]:
    problems = []
    for err in exc.errors(include_url=False):
        message = str(err["msg"]).removeprefix("Value error, ")
        problems.append(ConfigError(message, location="environment", key=env_name(tuple(err["loc"]))))
    return problems


def _path_or_none(value: str | None) -> Path | None:
    return Path(value) if value else None


def _timezone_or_default(value: Any) -> str:
    try:
        ZoneInfo(value)
    except Exception:
        return DEFAULT_TIMEZONE
    return str(value)


_POSITION = re.compile(r":(\d+):(\d+)$")


def _file_order(problem: ConfigError) -> tuple[int, int, int]:
    """Environment problems first, then by line and column; unlocated ones keep their place last."""
    if problem.location == "environment":
        return (0, 0, 0)
    match = _POSITION.search(problem.location or "")
    return (1, int(match.group(1)), int(match.group(2))) if match else (2, 0, 0)
