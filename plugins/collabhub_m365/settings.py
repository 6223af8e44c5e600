"""Settings of the Microsoft 365 connector (the ``Config`` of :class:`M365Connector`).

A minimal YAML entry::

    outlook:
      type: m365
      tenant_id: 8f3c1a52-...
      client_id: 5d2f8e4b-...
      client_secret: ${M365_CLIENT_SECRET}
      group: 00000000-...            # or mailboxes: [alice@corp.example, ...]

National clouds: ``cloud: china`` (21Vianet: login.chinacloudapi.cn, microsoftgraph.chinacloudapi.cn)
or ``usgov``; ``authority_host`` / ``graph_endpoint`` override either host (a proxy, a simulator).
Proxy and CA bundle come from the shared ``http:`` block and apply to msal and Graph alike.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from collabhub.connector import ConnectorConfig

__all__ = ["CLOUDS", "CertificateCredential", "M365Settings", "NotificationSettings"]

# cloud -> (authority host, Graph endpoint)
CLOUDS: dict[str, tuple[str, str]] = {
    "global": ("https://login.microsoftonline.com", "https://graph.microsoft.com"),
    "china": ("https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn"),
    "usgov": ("https://login.microsoftonline.us", "https://graph.microsoft.us"),
}
MAX_SUBSCRIPTION_MINUTES = 4230


def _https(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc:
        raise ValueError(f"{name} must be an https URL (msal and Graph require TLS), got {value!r}")
    return value.rstrip("/")


class CertificateCredential(BaseModel):
    """Client certificate: the private key (PEM) and its certificate or SHA-1 thumbprint."""

    model_config = ConfigDict(extra="forbid")

    private_key_path: str = Field(description="PEM file with the private key the app registration trusts")
    public_certificate_path: str | None = Field(None, description="PEM certificate (sent as x5c; enables SNI auth)")
    thumbprint: str | None = Field(None, description="SHA-1 thumbprint shown in Entra (hex)")
    passphrase: SecretStr | None = None

    @model_validator(mode="after")
    def _identifies_certificate(self) -> CertificateCredential:
        if not self.thumbprint and not self.public_certificate_path:
            raise ValueError("certificate needs `thumbprint` or `public_certificate_path`")
        return self


class NotificationSettings(BaseModel):
    """Change notifications for each mailbox's events (``/users/{id}/events`` subscriptions)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="public https URL of this connector's webhook endpoint")
    lifecycle_url: str | None = Field(None, description="lifecycle notifications URL (default: `url`)")
    client_state: SecretStr = Field(description="secret that proves a notification comes from our subscription")
    lifetime_minutes: int = Field(MAX_SUBSCRIPTION_MINUTES, ge=45, le=MAX_SUBSCRIPTION_MINUTES,
                                  description="requested subscription lifetime; renewed at half-life")
    change_types: list[Literal["created", "updated", "deleted"]] = Field(
        default_factory=lambda: ["created", "updated", "deleted"])

    @field_validator("url", "lifecycle_url")
    @classmethod
    def _https_url(cls, value: str | None) -> str | None:
        return _https(value, "notifications url")

    @field_validator("client_state")
    @classmethod
    def _strong(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("client_state must be at least 16 characters")
        return value


class M365Settings(ConnectorConfig):
    """Connection, scope, sync window and limits of one Microsoft 365 tenant."""

    tenant_id: str = Field(min_length=1, description="directory (tenant) id or verified domain")
    client_id: str = Field(min_length=1, description="application (client) id of the app registration")
    client_secret: SecretStr | None = None
    certificate: CertificateCredential | None = None
    cloud: Literal["global", "china", "usgov"] = "global"
    authority_host: str | None = Field(None, description="override of the cloud's login host (https)")
    graph_endpoint: str | None = Field(None, description="override of the cloud's Graph host (https)")
    instance_discovery: bool | None = Field(
        None, description="msal instance discovery; default on for Microsoft's own hosts, off for others")

    mailboxes: list[str] = Field(default_factory=list, description="user principal names / SMTP addresses")
    group: str | None = Field(None, description="group id whose user members are the mailboxes in scope")
    room_lists: list[str] | None = Field(None, description="room list email addresses; default: every room")

    window_past_days: int = Field(30, ge=0, le=365)
    window_future_days: int = Field(90, ge=1, le=730)
    rewindow_after_days: int = Field(7, ge=1, le=90, description="restart a mailbox's delta once the window "
                                     "has moved this far")
    page_size: int = Field(100, ge=1, le=1000, description="Prefer: odata.maxpagesize for calendarView delta")
    mailbox_concurrency: int = Field(4, ge=1, le=4, description="requests in flight per mailbox (Exchange: 4)")
    parallel_mailboxes: int = Field(8, ge=1, le=64, description="mailboxes read at the same time")
    commit_batch: int = Field(500, ge=1, le=10000, description="records gathered (across mailboxes) into one "
                              "committed page; smaller pages pay the store's fixed cost per commit more often, "
                              "larger ones hold more in memory and overlap reading and committing less")
    request_budget: int | None = Field(None, ge=1, description="most Graph requests (batch items included) "
                                       "per run; the run stops cleanly when spent")
    batch_size: int = Field(20, ge=1, le=20, description="requests per $batch call (Graph allows 20)")
    schedule_mailbox: str | None = Field(None, description="mailbox that asks getSchedule (default: first in scope)")
    schedule_batch_size: int = Field(20, ge=1, le=100, description="schedules per getSchedule call")
    booking_wait_seconds: float = Field(10.0, ge=0, le=120, description="how long a booking waits for the "
                                        "room's answer")
    notifications: NotificationSettings | None = None

    @field_validator("authority_host", "graph_endpoint")
    @classmethod
    def _https_hosts(cls, value: str | None) -> str | None:
        return _https(value, "authority_host/graph_endpoint")

    @field_validator("mailboxes")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(v.strip().lower() for v in value if v.strip()))

    @model_validator(mode="after")
    def _one_credential(self) -> M365Settings:
        if (self.client_secret is None) == (self.certificate is None):
            raise ValueError("give exactly one of `client_secret` or `certificate`")
        wants_mailboxes = self.streams is None or "events" in self.streams
        if wants_mailboxes and not self.mailboxes and not self.group:
            raise ValueError("give `mailboxes` or `group` (the calendars to read)")
        return self

    @property
    def login_host(self) -> str:
        return self.authority_host or CLOUDS[self.cloud][0]

    @property
    def graph_host(self) -> str:
        return self.graph_endpoint or CLOUDS[self.cloud][1]

    @property
    def authority(self) -> str:
        return f"{self.login_host}/{self.tenant_id}"

    @property
    def graph_base(self) -> str:
        return f"{self.graph_host}/v1.0"

    @property
    def scope(self) -> str:
        return f"{self.graph_host}/.default"

    @property
    def known_cloud(self) -> bool:
        return self.login_host in {host for host, _ in CLOUDS.values()}
