"""Settings of the Feishu connector, as the YAML holds them under ``connectors.<name>.settings``.

Example::

    type: feishu
    settings:
      app_id: cli_a1b2c3
      app_secret: ${FEISHU_APP_SECRET}
      platform: feishu            # or lark (open.larksuite.com)
      verification_token: ${FEISHU_VERIFICATION_TOKEN}
      encrypt_key: ${FEISHU_ENCRYPT_KEY}
      approvals:
        - {code: 7C468A54-..., kind: booking, resource_field: 会议室, time_field: 使用时间}
        - {code: 0B2F1E3D-..., kind: task}
      bots:
        ops-alerts: {url: https://open.feishu.cn/open-apis/bot/v2/hook/xxxx, secret: ${FEISHU_BOT_SECRET}}
      http: {proxy: http://proxy.corp:3128, verify: /etc/ssl/corp-ca.pem}
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, SecretStr

from collabhub.connector import ConnectorConfig

__all__ = ["BASE_URLS", "ApprovalSpec", "BotWebhook", "FeishuConfig"]

BASE_URLS = {"feishu": "https://open.feishu.cn", "lark": "https://open.larksuite.com"}


class ApprovalSpec(BaseModel):
    """One approval definition to pull, and how its form maps to the unified model."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(..., description="the approval_code of the definition")
    kind: Literal["task", "booking"] = Field("task", description="task, or booking when it holds a resource")
    resource_field: str | None = Field(None, description="form widget (id or name) holding the room/equipment id")
    time_field: str | None = Field(None, description="form widget (id or name) of type dateInterval")


class BotWebhook(BaseModel):
    """A custom bot of a group: its webhook URL (or hook token) and signing secret."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(..., description="full webhook URL, or just the hook token")
    secret: SecretStr | None = Field(None, description="the bot's signing secret, when signing is on")


class FeishuConfig(ConnectorConfig):
    """Settings of one Feishu (Lark) tenant."""

    app_id: str = Field(..., description="the custom app's App ID (cli_...)")
    app_secret: SecretStr = Field(..., description="the custom app's App Secret")
    platform: Literal["feishu", "lark"] = Field("feishu", description="feishu (China) or lark (international)")
    base_url: str | None = Field(None, description="API base URL; overrides platform (gateways, simulators)")
    verification_token: SecretStr | None = Field(None, description="event subscription Verification Token")
    encrypt_key: SecretStr | None = Field(None, description="event subscription Encrypt Key")
    event_max_age: PositiveInt = Field(300, description="reject signed pushes older than this many seconds")

    reference_refresh_minutes: int = Field(60, ge=0, description=(
        "re-read the directory, rooms and the calendar list at most this often (0: every run); "
        "change events trigger targeted refreshes in between"))
    directory_root: str = Field("0", description="open_department_id to read the org chart from; 0 is the root")

    calendar_ids: list[str] = Field(default_factory=list, description="extra calendars to read")
    primary_calendars: bool = Field(True, description="read every directory user's primary calendar")
    calendar_types: list[Literal["primary", "shared", "resource"]] = Field(
        default_factory=lambda: ["shared", "resource"],
        description="types of the calendars visible to the app (calendar list) to read")
    calendar_lookback_days: PositiveInt = Field(30, description="the first load reads events from this far back")
    recurrence_horizon_days: PositiveInt = Field(120, description="room bookings of a series are expanded this far")
    event_page_size: int = Field(500, ge=50, le=1000)
    primary_batch_size: int = Field(10, ge=1, le=50, description="users per calendars/primarys call")

    tasklist_guids: list[str] = Field(default_factory=list, description="tasklists to read; all visible when empty")
    tasklist_departments: dict[str, str] = Field(default_factory=dict,
                                                 description="tasklist guid -> department id for its tasks")
    approvals: list[ApprovalSpec] = Field(default_factory=list)
    approval_lookback_days: PositiveInt = Field(30, description="the first load reads instances started since")

    freebusy_room_ids: list[str] = Field(default_factory=list, description=(
        "rooms whose busy blocks to pull with freebusy/list (for rooms whose calendars are not in scope)"))
    freebusy_days: PositiveInt = Field(14, le=90)

    bots: dict[str, BotWebhook] = Field(default_factory=dict, description="custom group bots by name")
    chat_rate_per_second: PositiveFloat = Field(5.0, description="sends per second per chat (Feishu allows 5)")

    def api_base(self) -> str:
        return (self.base_url or BASE_URLS[self.platform]).rstrip("/")
