"""Settings of one Jira connector instance (the ``settings:`` block of a ``type: jira`` connector).

Cloud::

    base_url: https://acme.atlassian.net
    deployment: cloud
    email: collabhub-bot@acme.com
    api_token: ${JIRA_API_TOKEN}
    projects: [APL, HRM]

Data Center::

    base_url: https://jira.corp.example
    deployment: datacenter
    personal_access_token: ${JIRA_PAT}
    http: {proxy: "http://proxy.corp:3128", verify: /etc/ssl/corp-ca.pem}
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from collabhub.connector import ConnectorConfig

__all__ = ["JiraConfig"]

# A lower bound for the first read when nothing else bounds the JQL (Jira Cloud refuses unbounded JQL).
DEFAULT_FLOOR = date(2000, 1, 1)


class JiraConfig(ConnectorConfig):
    """Where the Jira site is, how to sign in, what to read, and how to write back."""

    base_url: str = Field(..., description="site URL, e.g. https://acme.atlassian.net or the DC base URL")
    deployment: Literal["cloud", "datacenter"] = Field("cloud", description="cloud or datacenter")
    email: str | None = Field(None, description="Cloud: the account email for API-token (basic) auth")
    api_token: SecretStr | None = Field(None, description="Cloud: API token of that account")
    personal_access_token: SecretStr | None = Field(None, description="Data Center: personal access token")
    oauth_token: SecretStr | None = Field(None, description="an OAuth 2.0 bearer token, where an admin issued one")

    projects: list[str] = Field(default_factory=list, description="project keys to read; all visible when empty")
    jql: str | None = Field(None, description="extra JQL ANDed to the scope, e.g. 'issuetype != Sub-task'")
    start_date: date = Field(DEFAULT_FLOOR, description="read only issues updated on or after this day")
    page_size: int = Field(100, ge=1, le=5000, description="issues per search page (the server may send fewer)")
    overlap_minutes: float = Field(2.0, ge=0, le=1440, description="re-read window behind the cursor")
    sweep_interval_hours: float | None = Field(24.0, gt=0, description="id sweep for deletes; null disables")
    sweep_page_size: int = Field(5000, ge=1, le=5000, description="ids per sweep page")
    status_history: bool = Field(True, description="Cloud: read done-time from the bulk changelog when "
                                                   "an issue is done without a resolution date")
    epic_link_field: str | None = Field(None, description="Data Center: the Epic Link custom field id")
    milestone_issue_types: list[str] = Field(default_factory=lambda: ["Milestone"])
    milestone_label: str | None = Field("milestone", description="a label that marks a milestone")

    webhook_secret: SecretStr | None = Field(None, description="admin webhook secret (X-Hub-Signature)")
    status_property: str = Field("collabhub.status-comment", description="issue property holding the hub "
                                                                         "status comment id")
    delivery_property: str = Field("collabhub.delivery", description="issue property holding the idempotency "
                                                                     "key of an issue the hub created")
    marker_label_prefix: str = Field("collabhub-", description="prefix of the label that finds an issue the "
                                                               "hub created again")
    status_comment_marker: str = Field("[collabhub status]", description="text that marks the hub's comment")
    issue_write_limit: bool = Field(True, description="pace writes below Jira's per-issue limit")
    near_limit_pause: float = Field(0.5, ge=0, description="seconds to slow down when X-RateLimit-NearLimit")

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("base_url must start with https:// (or http:// for a simulator)")
        return value.rstrip("/")

    @field_validator("projects")
    @classmethod
    def _upper(cls, value: list[str]) -> list[str]:
        return [p.strip().upper() for p in value if p.strip()]

    @model_validator(mode="after")
    def _credentials(self) -> JiraConfig:
        if self.deployment == "cloud":
            if not ((self.email and self.api_token) or self.oauth_token):
                raise ValueError("Jira Cloud needs email + api_token (basic auth) or oauth_token")
        elif not (self.personal_access_token or self.oauth_token):
            raise ValueError("Jira Data Center needs personal_access_token (or oauth_token)")
        return self

    @property
    def cloud(self) -> bool:
        return self.deployment == "cloud"

    @property
    def api_version(self) -> str:
        """REST v3 on Cloud (ADF bodies), v2 on Data Center (plain strings)."""
        return "3" if self.cloud else "2"

    @property
    def floor_ms(self) -> int:
        return int(datetime(self.start_date.year, self.start_date.month, self.start_date.day,
                            tzinfo=UTC).timestamp() * 1000)
