"""Errors of collabhub, modelled by what to do (action) and who must act.

The hierarchy::

    CollabhubError
     ├── ConfigError              an admin must fix the YAML or the environment (exit 2)
     ├── PluginError              a plugin failed to load or broke the hook contract
     ├── StoreError               the database is unreachable or its schema is behind
     ├── ConnectorError           a remote call failed; carries an ErrorResolution
     │    ├── RateLimitedError     the remote asked us to slow down (retry after a wait)
     │    ├── AuthError            credentials missing, wrong or expired
     │    ├── QuotaExhaustedError  a hard quota is used up; stop this run, keep the cursor
     │    └── RemoteError          anything else the remote answered badly
     ├── MappingError             one record cannot be normalised (skip: quarantine it)
     ├── DeliveryError            a push failed (retry with backoff, then park)
     │    └── WorkflowError        the remote workflow forbids the change (fail, no retry)
     └── WebhookRejected          an inbound request failed verification (4xx, record nothing)

An :class:`ErrorResolution` is the data a stream's ``classify()`` returns for one response: the
retry policy in :mod:`collabhub.http.retry` reads it, and so do the engine and dispatcher.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "Action",
    "AuthError",
    "CollabhubError",
    "ConfigError",
    "ConnectorError",
    "DeliveryError",
    "ErrorResolution",
    "MappingError",
    "PluginError",
    "QuotaExhaustedError",
    "RateLimitedError",
    "RemoteError",
    "StoreError",
    "WebhookRejected",
    "Who",
    "WorkflowError",
]


class Action(StrEnum):
    """What to do about a response."""

    SUCCESS = "success"
    RETRY = "retry"  # transient: try again with backoff
    RATE_LIMITED = "rate_limited"  # wait (Retry-After or reset header), then try again
    REFRESH_TOKEN = "refresh_token"  # drop the cached token, fetch a new one, try once more
    SKIP = "skip"  # ignore this response / record and go on
    FAIL = "fail"  # stop: retrying cannot help


class Who(StrEnum):
    """Who must act to make the error go away."""

    NOBODY = "nobody"
    CONFIG = "config"  # an admin: credentials, scopes, permissions, settings
    REMOTE = "remote"  # the remote system or its operator
    TRANSIENT = "transient"  # nobody: it passes on its own


@dataclass(frozen=True, slots=True)
class ErrorResolution:
    """The verdict on one response: action, who must act, a message, an optional wait."""

    action: Action
    who: Who = Who.NOBODY
    message: str = ""
    retry_after: float | None = None
    code: str | None = None

    @property
    def ok(self) -> bool:
        return self.action is Action.SUCCESS


SUCCESS = ErrorResolution(Action.SUCCESS)


class CollabhubError(Exception):
    """Root of every error collabhub raises on purpose."""

    who: Who = Who.NOBODY

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(CollabhubError):
    """The configuration is wrong. ``location`` is ``file:line:column`` when known."""

    who = Who.CONFIG

    def __init__(self, message: str, *, location: str | None = None, key: str | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.location = location
        self.key = key

    def one_line(self) -> str:
        where = f"{self.location}: " if self.location else ""
        key = f"{self.key}: " if self.key else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where}{key}{self.message}{hint}"

    def __str__(self) -> str:
        return self.one_line()


class PluginError(CollabhubError):
    """A plugin could not be loaded or broke the hook contract."""

    who = Who.CONFIG


class StoreError(CollabhubError):
    """The store cannot be reached or used."""

    who = Who.CONFIG


class ConnectorError(CollabhubError):
    """A remote call failed. ``resolution`` says what to do about it."""

    def __init__(self, message: str, *, resolution: ErrorResolution | None = None,
                 connector: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.resolution = resolution or ErrorResolution(Action.FAIL, Who.REMOTE, message)
        self.connector = connector
        self.who = self.resolution.who


class RateLimitedError(ConnectorError):
    """The remote throttled us and retries ran out."""


class AuthError(ConnectorError):
    """Credentials are missing, wrong, or lack a permission."""


class QuotaExhaustedError(ConnectorError):
    """A hard quota (e.g. a monthly call budget) is used up; the run stops, the cursor stays."""


class RemoteError(ConnectorError):
    """The remote answered with an error we cannot handle otherwise."""


class MappingError(CollabhubError):
    """One raw record could not be mapped to the unified model; it goes to quarantine."""

    who = Who.REMOTE


class DeliveryError(CollabhubError):
    """Pushing one delivery failed. ``retryable`` decides between backoff and parking."""

    who = Who.TRANSIENT

    def __init__(self, message: str, *, retryable: bool = True, retry_after: float | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retryable = retryable
        self.retry_after = retry_after


class WorkflowError(DeliveryError):
    """The remote workflow forbids the change (e.g. a Jira transition that does not exist)."""

    who = Who.CONFIG

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, retryable=False, hint=hint)


class WebhookRejected(CollabhubError):
    """An inbound webhook failed verification; answer ``status`` and record nothing."""

    who = Who.REMOTE

    def __init__(self, message: str, *, status: int = 401) -> None:
        super().__init__(message)
        self.status = status
