"""``COLLABHUB_*`` environment settings (pydantic-settings). Environment beats the YAML file.

=====================================  ==============================================
``COLLABHUB_CONFIG``                   the config file (default ``./collabhub.yaml``)
``COLLABHUB_DATABASE_URL``             overrides ``store.url``
``COLLABHUB_LOAD_PLUGINS``             comma-separated plugins to load (plugin host)
``COLLABHUB_LOG_LEVEL``                DEBUG, INFO, WARNING, ERROR or CRITICAL
``COLLABHUB_TIMEZONE``                 overrides ``timezone``
``COLLABHUB_DAEMON__DEFAULT_SCHEDULE`` overrides ``daemon.default_schedule``; likewise
                                       ``..._DISPATCH_INTERVAL``, ``..._STOP_TIMEOUT``,
                                       ``COLLABHUB_DAEMON__WEBHOOKS__HOST`` / ``__PORT`` /
                                       ``__ENABLED``
=====================================  ==============================================

Override values stay text here; they are validated with the file's sections, and an error in
one names the variable.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

__all__ = ["ENV_PREFIX", "DaemonOverrides", "Settings", "WebhookOverrides"]

ENV_PREFIX = "COLLABHUB_"
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

_injected_env: ContextVar[Mapping[str, str] | None] = ContextVar("collabhub_injected_env", default=None)


class WebhookOverrides(BaseModel):
    model_config = ConfigDict(extra="ignore")

    host: str | None = None
    port: str | None = None
    enabled: str | None = None


class DaemonOverrides(BaseModel):
    model_config = ConfigDict(extra="ignore")

    default_schedule: str | None = None
    dispatch_interval: str | None = None
    stop_timeout: str | None = None
    webhooks: WebhookOverrides = WebhookOverrides()


class _MappingEnvSource(EnvSettingsSource):
    """The environment source, reading an injected mapping when one is set (tests, embedding)."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        env = _injected_env.get()
        if env is None:
            env = os.environ
        if self.case_sensitive:
            return {k: v for k, v in env.items() if not (self.env_ignore_empty and v == "")}
        return {k.lower(): v for k, v in env.items() if not (self.env_ignore_empty and v == "")}


class Settings(BaseSettings):
    """Process-level settings read from ``COLLABHUB_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="ignore",
                                      env_ignore_empty=True)

    config: Path | None = None
    database_url: str | None = Field(None, repr=False)
    load_plugins: str | None = None
    log_level: LogLevel = "INFO"
    timezone: str | None = None
    daemon: DaemonOverrides = DaemonOverrides()

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @property
    def plugin_allow_list(self) -> set[str] | None:
        """``COLLABHUB_LOAD_PLUGINS`` as a set of plugin names; ``None`` when unset (load all)."""
        if self.load_plugins is None:
            return None
        return {part.strip() for part in self.load_plugins.split(",") if part.strip()}

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read settings from ``env`` (default: ``os.environ``)."""
        with _inject(env):
            return cls()

    def overrides(self) -> dict[tuple[str, ...], tuple[str, str]]:
        """Document paths this environment overrides: path -> (variable name, value)."""
        out: dict[tuple[str, ...], tuple[str, str]] = {}
        if self.database_url is not None:
            out[("store", "url")] = (f"{ENV_PREFIX}DATABASE_URL", self.database_url)
        if self.timezone is not None:
            out[("timezone",)] = (f"{ENV_PREFIX}TIMEZONE", self.timezone)
        for name in ("default_schedule", "dispatch_interval", "stop_timeout"):
            value = getattr(self.daemon, name)
            if value is not None:
                out[("daemon", name)] = (f"{ENV_PREFIX}DAEMON__{name.upper()}", value)
        for name in ("host", "port", "enabled"):
            value = getattr(self.daemon.webhooks, name)
            if value is not None:
                out[("daemon", "webhooks", name)] = (f"{ENV_PREFIX}DAEMON__WEBHOOKS__{name.upper()}", value)
        return out

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, _MappingEnvSource(settings_cls)


@contextmanager
def _inject(env: Mapping[str, str] | None) -> Iterator[None]:
    token = _injected_env.set(env)
    try:
        yield
    finally:
        _injected_env.reset(token)


def env_name(loc: tuple[Any, ...]) -> str:
    """The environment variable behind a settings field location, e.g. ``COLLABHUB_LOG_LEVEL``."""
    return ENV_PREFIX + "__".join(str(part).upper() for part in loc)
