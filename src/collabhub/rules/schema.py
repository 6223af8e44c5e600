"""The shape of one information-sharing rule (an item of ``sharing:`` in the YAML).

A rule says who provides what (``provider`` departments, ``what`` kinds and a CEL ``filter``),
who receives it (``receivers``), which fields they may see (``fields``, an allowlist), and how it
reaches them (``deliver`` channels), plus the provider's and receivers' duties (``freshness``,
``ack``). Only the shape is checked here; :mod:`collabhub.rules.ruleset` checks references
against the rest of the config and compiles the filters.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PositiveFloat,
    PositiveInt,
    StringConstraints,
    field_validator,
    model_validator,
)

from collabhub.model import EntityKind
from collabhub.schedule import QuietHours, Schedule

__all__ = [
    "CHANNELS",
    "AckSpec",
    "AllowConfidential",
    "DeliverSpec",
    "FreshnessSpec",
    "ReceiverSpec",
    "RuleSpec",
    "ScheduleSpec",
    "WhatSpec",
]

CHANNELS = ("card", "task", "comment", "event", "booking")
Lang = Literal["zh", "en"]
RuleName = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
_EMAIL = re.compile(r"^[^@\s:]+@[^@\s]+\.[^@\s]+$")


def _one_or_many(value: Any) -> Any:
    """Accept a single item where a list is expected."""
    return [value] if isinstance(value, str | dict) else value


def _chat_ids(value: Any) -> Any:
    """Chat ids may be numbers in YAML (DingTalk); keep them as text."""
    if isinstance(value, dict):
        return {k: str(v) if isinstance(v, int) and not isinstance(v, bool) else v for k, v in value.items()}
    return value


Chats = Annotated[dict[str, str], BeforeValidator(_chat_ids)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReceiverSpec(_Spec):
    """Who receives: exactly one of ``department``, ``person``, ``project``, ``chat`` or ``office``.

    A plain string is shorthand: an email is a person, ``project:<id>`` a project team,
    ``office`` the coordination office, anything else a department id.
    """

    department: Name | None = None
    person: Name | None = Field(None, description="the person's email")
    project: Name | None = None
    chat: Chats | None = Field(None, description="connector name -> chat id (or DingTalk robot name)")
    office: bool = False
    chats: Chats = Field(default_factory=dict, description="where a department or person reads cards")
    email: Name | None = Field(None, description="who gets mirrored tasks/events (default: owner or lead)")
    lang: Lang | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text in ("office", "coordination_office"):
            return {"office": True}
        if text.startswith("project:"):
            return {"project": text.removeprefix("project:").strip()}
        if text.startswith("person:") or _EMAIL.match(text):
            return {"person": text.removeprefix("person:").strip()}
        return {"department": text.removeprefix("department:").strip()}

    @model_validator(mode="after")
    def _exactly_one(self) -> ReceiverSpec:
        chosen = [n for n in ("department", "person", "project", "chat") if getattr(self, n)]
        if self.office:
            chosen.append("office")
        if len(chosen) != 1:
            raise ValueError("a receiver names exactly one of department, person, project, chat or office "
                             f"(got {', '.join(chosen) or 'none'})")
        if self.person is not None and not _EMAIL.match(self.person):
            raise ValueError("a person receiver is named by email, like alice@example.com")
        return self

    @property
    def key(self) -> str:
        """Stable receiver key used in idempotency keys, links and the audit."""
        if self.department:
            return f"department:{self.department}"
        if self.person:
            return f"person:{self.person.lower()}"
        if self.project:
            return f"project:{self.project}"
        if self.chat:
            return "chat:" + ",".join(f"{c}={i}" for c, i in sorted(self.chat.items()))
        return "office"


class WhatSpec(_Spec):
    """What is shared: entity kinds and an optional CEL filter over the entity's fields."""

    kinds: Annotated[list[EntityKind], BeforeValidator(_one_or_many)] = Field(min_length=1)
    filter: str | None = None

    @field_validator("filter")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            return None
        return value


class DeliverSpec(_Spec):
    """One way to deliver: a channel on a connector, with the channel's fixed target keys."""

    channel: Literal["card", "task", "comment", "event", "booking"]
    connector: str | None = Field(None, description="connector name; for cards: default every chat of the receiver")
    project: str | None = Field(None, description="task: Jira project key")
    tasklist: str | None = Field(None, description="task: Feishu tasklist guid")
    issue: str | None = Field(None, description="comment: Jira issue key (default: the entity itself)")
    mailbox: str | None = Field(None, description="event/booking: shared mailbox (default: receiver's own)")
    calendar_id: str | None = None
    room: str | None = Field(None, description="booking: room email or id")
    daily_cap: PositiveInt = Field(6, description="card: most messages (posts and edits) per chat per day")

    @model_validator(mode="after")
    def _connector_needed(self) -> DeliverSpec:
        if self.channel != "card" and not self.connector:
            raise ValueError(f"a {self.channel} delivery needs `connector:` (the connector that writes it)")
        return self


class ScheduleSpec(_Spec):
    """When digests go out: a cron line (in the config's time zone) and quiet hours."""

    cron: Schedule | None = None
    quiet_hours: QuietHours | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"cron": value} if isinstance(value, str) else value


class FreshnessSpec(_Spec):
    """The provider must update matching items every ``max_age_days``; else remind, then escalate."""

    max_age_days: PositiveFloat
    escalate_after_days: PositiveFloat = 3
    remind: Annotated[list[DeliverSpec], BeforeValidator(_one_or_many)] = Field(
        default_factory=list, description="how the provider's owner is reminded (default: a card to provider_chats)")


class AckSpec(_Spec):
    """Receivers must acknowledge shared items within ``deadline_hours``."""

    deadline_hours: PositiveFloat = 48


class AllowConfidential(_Spec):
    """Lifts the confidential guard for this rule; the written reason is mandatory and audited."""

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class RuleSpec(_Spec):
    """One information-sharing rule."""

    name: RuleName
    enabled: bool = True
    provider: Annotated[list[Name], BeforeValidator(_one_or_many)] = Field(min_length=1)
    provider_chats: Chats = Field(default_factory=dict, description="where the provider reads reminders")
    receivers: Annotated[list[ReceiverSpec], BeforeValidator(_one_or_many)] = Field(min_length=1)
    what: WhatSpec
    fields: Annotated[list[str], BeforeValidator(_one_or_many)] = Field(min_length=1)
    deliver: Annotated[list[DeliverSpec], BeforeValidator(_one_or_many)] = Field(min_length=1)
    schedule: ScheduleSpec | None = None
    freshness: FreshnessSpec | None = None
    ack: AckSpec | None = None
    allow_confidential: AllowConfidential | None = None
    lang: Lang = "zh"
    horizon_days: PositiveInt = Field(14, description="how far ahead digests list milestones and meetings")

    @model_validator(mode="before")
    @classmethod
    def _reason_shorthand(cls, value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("allow_confidential"), str):
            value = {**value, "allow_confidential": {"reason": value["allow_confidential"]}}
        return value
