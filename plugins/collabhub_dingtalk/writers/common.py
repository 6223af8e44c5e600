"""Helpers the DingTalk writers share: stable ids from keys, reading content, errors for the outbox."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from collabhub.connector import Delivery
from collabhub.errors import Action, AuthError, ConnectorError, DeliveryError, QuotaExhaustedError, RateLimitedError
from collabhub.model import PersonRef
from collabhub_dingtalk.timeutil import parse_iso, parse_ms

__all__ = ["as_delivery_error", "entity_key", "pick", "stable_id", "to_datetime", "union_ids"]


def stable_id(prefix: str, *parts: str, length: int = 32) -> str:
    """A deterministic id from the parts (same delivery, same id; used for msgUuid, sourceId, client token)."""
    return prefix + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:length]


def entity_key(delivery: Delivery) -> str:
    """The hub item a delivery is about (``connector/kind/id``), or its idempotency key when it has none."""
    entity = delivery.entity
    if entity is None:
        return delivery.idempotency_key
    return "/".join(entity.key)


def pick(delivery: Delivery, *names: str, entity_attr: str | None = None) -> Any:
    """The first content value among ``names``, else the entity's ``entity_attr``."""
    for name in names:
        value = delivery.content.get(name)
        if value not in (None, ""):
            return value
    if entity_attr and delivery.entity is not None:
        return getattr(delivery.entity, entity_attr, None)
    return None


def to_datetime(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        return parse_ms(value)
    return parse_iso(value)


def union_ids(values: Any, connector: str) -> list[str]:
    """unionIds from a list of strings or PersonRefs (refs of other connectors are skipped)."""
    out: list[str] = []
    for value in values or []:
        if isinstance(value, PersonRef):
            if value.connector == connector and value.external_id:
                out.append(value.external_id)
        elif isinstance(value, Mapping):
            if value.get("external_id") and value.get("connector", connector) == connector:
                out.append(str(value["external_id"]))
        elif value:
            out.append(str(value))
    return out


def as_delivery_error(exc: ConnectorError, what: str) -> DeliveryError:
    """A failed remote call, in the terms the outbox dispatcher acts on."""
    resolution = exc.resolution
    if isinstance(exc, QuotaExhaustedError):
        return DeliveryError(f"{what}: {exc}", retryable=True, retry_after=3600.0)
    if isinstance(exc, RateLimitedError) or resolution.action in (Action.RATE_LIMITED, Action.RETRY):
        return DeliveryError(f"{what}: {exc}", retryable=True, retry_after=resolution.retry_after)
    if isinstance(exc, AuthError):
        return DeliveryError(f"{what}: {exc}", retryable=False, hint="check the app credentials and permissions")
    return DeliveryError(f"{what}: {exc}", retryable=False)


