"""The plugin manager: loads the entry-point group ``collabhub`` and offers typed facades.

Built-in connectors are ordinary plugins declared in ``pyproject.toml``; third-party plugins
declare the same group. ``COLLABHUB_LOAD_PLUGINS`` (comma-separated entry-point names) limits
loading to those plugins; an empty value loads none.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy

from collabhub import hookspecs
from collabhub.errors import PluginError

if TYPE_CHECKING:
    import typer

    from collabhub.connector import Connector
    from collabhub.model import PersonRef

ENTRY_POINT_GROUP = "collabhub"
LOAD_ENV = "COLLABHUB_LOAD_PLUGINS"

__all__ = ["ENTRY_POINT_GROUP", "PluginHost", "get_host", "reset_host"]


@dataclass
class PluginInfo:
    name: str
    module: str
    version: str | None
    hooks: list[str] = field(default_factory=list)
    connectors: list[str] = field(default_factory=list)


class PluginHost:
    """One pluggy manager plus the registries its load-time hooks fill."""

    def __init__(self, *, load_entry_points: bool = True, allow: Iterable[str] | None = None) -> None:
        self.pm = pluggy.PluginManager("collabhub")
        self.pm.add_hookspecs(hookspecs)
        self._versions: dict[str, str | None] = {}
        self._connectors: dict[str, type[Connector]] = {}
        self._connector_plugin: dict[str, str] = {}
        self._simulators: dict[str, Any] = {}
        if load_entry_points:
            self._load_entry_points(allow if allow is not None else _allow_list_from_env())
        self.check()

    # -- loading -------------------------------------------------------------------------

    def _load_entry_points(self, allow: set[str] | None) -> None:
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if allow is not None and ep.name not in allow:
                continue
            if self.pm.has_plugin(ep.name):
                continue
            try:
                module = ep.load()
            except Exception as exc:  # a broken plugin must say which one and why
                raise PluginError(
                    f"plugin {ep.name!r} ({ep.value}) failed to import: {exc}",
                    hint=f"fix or uninstall it, or leave it out of {LOAD_ENV}",
                ) from exc
            version = ep.dist.version if ep.dist is not None else None
            self.register(module, name=ep.name, version=version)

    def register(self, plugin: ModuleType | object, *, name: str | None = None,
                 version: str | None = None) -> None:
        """Register a plugin object (module or instance) and collect what it registers."""
        name = name or getattr(plugin, "__name__", None) or repr(plugin)
        try:
            self.pm.register(plugin, name=name)
        except ValueError as exc:
            raise PluginError(f"plugin {name!r} is registered twice: {exc}") from exc
        self._versions[name] = version
        self._collect_connectors(plugin, name)
        self._collect_simulators(plugin, name)

    def unregister(self, name: str) -> None:
        plugin = self.pm.unregister(name=name)
        for ctype, owner in list(self._connector_plugin.items()):
            if owner == name:
                del self._connectors[ctype]
                del self._connector_plugin[ctype]
        del plugin

    def _collect_connectors(self, plugin: object, plugin_name: str) -> None:
        from collabhub.connector import Connector

        impl = getattr(plugin, "register_connectors", None)
        if impl is None:
            return

        def register(cls: type[Connector]) -> None:
            if not (isinstance(cls, type) and issubclass(cls, Connector)):
                raise PluginError(f"plugin {plugin_name!r} registered {cls!r}, which is not a Connector subclass")
            ctype = getattr(cls, "type", None)
            if not ctype:
                raise PluginError(f"connector class {cls.__qualname__} of plugin {plugin_name!r} has no `type`")
            if ctype in self._connectors and self._connectors[ctype] is not cls:
                raise PluginError(
                    f"connector type {ctype!r} is registered by both {self._connector_plugin[ctype]!r} "
                    f"and {plugin_name!r}",
                    hint=f"uninstall one of them or exclude one with {LOAD_ENV}",
                )
            self._connectors[ctype] = cls
            self._connector_plugin[ctype] = plugin_name

        impl(register=register)

    def _collect_simulators(self, plugin: object, plugin_name: str) -> None:
        impl = getattr(plugin, "register_simulators", None)
        if impl is None:
            return

        def register(spec: Any) -> None:
            self._simulators[spec.name] = spec

        impl(register=register)

    def simulators(self) -> dict[str, Any]:
        """Simulator specs by demo connector name (see ``collabhub.testing.simulator.SimulatorSpec``)."""
        return dict(self._simulators)

    def check(self) -> None:
        """Fail on hook implementations that match no hookspec (a misspelled hook)."""
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"plugin hook validation failed: {exc}") from exc

    # -- typed facades -------------------------------------------------------------------

    def connector_types(self) -> dict[str, type[Connector]]:
        return dict(self._connectors)

    def connector_class(self, ctype: str) -> type[Connector]:
        try:
            return self._connectors[ctype]
        except KeyError:
            known = ", ".join(sorted(self._connectors)) or "none"
            raise PluginError(
                f"unknown connector type {ctype!r}; installed types: {known}",
                hint="install the plugin that provides it, or check COLLABHUB_LOAD_PLUGINS",
            ) from None

    def register_commands(self, cli: typer.Typer) -> None:
        self.pm.hook.register_commands(cli=cli)

    def resolve_person(self, ref: PersonRef) -> dict[str, str] | None:
        caller = self.pm.hook.resolve_person
        if not caller.get_hookimpls():  # nobody implements it: skip pluggy's call machinery
            return None
        return caller(ref=ref)

    def run_finished(self, connector: str, run_id: int, status: str, counts: dict[str, Any]) -> None:
        self.pm.hook.run_finished(connector=connector, run_id=run_id, status=status, counts=counts)

    def delivery_made(self, channel: str, target_connector: str, idempotency_key: str, external_id: str) -> None:
        self.pm.hook.delivery_made(channel=channel, target_connector=target_connector,
                                   idempotency_key=idempotency_key, external_id=external_id)

    def plugins(self) -> list[PluginInfo]:
        infos = []
        for name, plugin in self.pm.list_name_plugin():
            if name is None:
                continue
            hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
            infos.append(PluginInfo(
                name=name,
                module=getattr(plugin, "__name__", type(plugin).__name__),
                version=self._versions.get(name),
                hooks=hooks,
                connectors=sorted(t for t, p in self._connector_plugin.items() if p == name),
            ))
        return sorted(infos, key=lambda i: i.name)


def _allow_list_from_env() -> set[str] | None:
    raw = os.environ.get(LOAD_ENV)
    if raw is None:
        return None
    return {part.strip() for part in raw.split(",") if part.strip()}


_host: PluginHost | None = None


def get_host() -> PluginHost:
    """The process's plugin host, created on first use."""
    global _host
    if _host is None:
        _host = PluginHost()
    return _host


def reset_host(host: PluginHost | None = None) -> None:
    """Replace (or drop) the process's plugin host; used by tests and the CLI."""
    global _host
    _host = host


def import_module(path: str) -> ModuleType:
    try:
        return importlib.import_module(path)
    except ImportError as exc:
        raise PluginError(f"cannot import plugin module {path!r}: {exc}") from exc
