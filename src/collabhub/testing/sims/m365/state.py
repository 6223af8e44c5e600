"""Everything one Microsoft 365 simulator holds: tenant, apps, mailboxes, meetings, subscriptions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from collabhub.testing.sims.m365.calendars import MailboxDirectory
from collabhub.testing.sims.m365.meetings import MeetingBook
from collabhub.testing.sims.m365.subscriptions import SubscriptionBook

__all__ = ["App", "SimState"]


@dataclass
class App:
    """An app registration: a client secret and/or a certificate (PEM) it signs assertions with."""

    client_id: str
    secret: str | None = None
    certificate_pem: bytes | None = None


@dataclass
class SimState:
    tenant_id: str
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    directory: MailboxDirectory = field(default_factory=MailboxDirectory)
    apps: dict[str, App] = field(default_factory=dict)
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # token -> (client id, expiry ts)
    default_page_size: int = 10
    expired_status: int = 410  # how an expired delta token is answered: 410 Gone, or 400 syncStateNotFound
    book: MeetingBook = field(init=False)
    subscriptions: SubscriptionBook = field(init=False)

    def __post_init__(self) -> None:
        self.subscriptions = SubscriptionBook(self.directory, self.tenant_id, self.clock)
        self.book = MeetingBook(self.directory, self.clock, self.subscriptions.on_change)
