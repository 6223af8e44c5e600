"""The DingTalk connector's settings (the ``settings:`` block of a ``type: dingtalk`` connector)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, SecretStr, field_validator

from collabhub.connector import ConnectorConfig

__all__ = ["ApprovalProcess", "CallbackSettings", "DingTalkConfig", "RobotSettings"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RobotSettings(_Strict):
    """A custom group robot ("自定义机器人") with the signing ("加签") security setting."""

    access_token: SecretStr = Field(description="the access_token of the robot's webhook URL")
    secret: SecretStr | None = Field(None, description="the signing secret (starts with SEC); omit when unsigned")
    per_minute: PositiveInt = Field(20, le=20, description="messages per minute, at most (DingTalk allows 20)")


class CallbackSettings(_Strict):
    """HTTP event subscription ("HTTP推送"): the token, aes_key and owner key set in the developer console."""

    token: SecretStr = Field(description="the callback token (3-32 letters and digits)")
    aes_key: SecretStr = Field(description="the 43-character EncodingAESKey")
    owner_key: str | None = Field(None, description="appKey (console subscriptions; default), corpId (legacy "
                                                    "registered callbacks) or suiteKey (ISV)")
    max_age_seconds: PositiveInt = Field(3600, description="reject callbacks whose timestamp is older than this")

    @field_validator("aes_key")
    @classmethod
    def _aes_key_length(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) != 43:
            raise ValueError("aes_key must be the 43-character EncodingAESKey from the developer console")
        return value


class ApprovalProcess(_Strict):
    """One approval form (process code) to pull, and what its instances become."""

    process_code: str = Field(description="the form's processCode, e.g. PROC-XXXX")
    kind: Literal["task", "booking"] = Field("task", description="unified entity the instances become")
    room_field: str = Field("会议室", description="booking: name of the form field holding the roomId")
    time_field: str = Field("时间", description="booking: name of the date-range field (start, end)")


class DingTalkConfig(ConnectorConfig):
    """Settings of one DingTalk organisation (an internal app's credentials)."""

    app_key: str = Field(description="the internal app's AppKey (Client ID)")
    app_secret: SecretStr = Field(description="the internal app's AppSecret (Client Secret)")
    corp_id: str | None = Field(None, description="the organisation's corpId (for links and legacy callbacks)")
    api_base_url: str = Field("https://api.dingtalk.com", description="new-API base URL")
    oapi_base_url: str = Field("https://oapi.dingtalk.com", description="legacy oapi base URL (directory, robots)")
    operator_union_id: str = Field(description="unionId of the account the hub acts as (room lists, todo "
                                               "operator, default calendar and todo owner)")
    users: list[str] | None = Field(None, description="unionIds whose calendars and todos to pull; all directory "
                                                      "users when omitted")
    root_department: PositiveInt = Field(1, description="department id the directory walk starts from")
    window_start: date | None = Field(None, description="start of the pulled time window (calendars, room "
                                                        "schedules, approvals); default today minus lookback_days")
    lookback_days: PositiveInt = Field(30, le=365)
    schedule_days: PositiveInt = Field(74, le=90, description="length of the room-schedule window (at most 90)")
    directory_every_minutes: int = Field(0, ge=0, description="re-read the directory at most this often (0: "
                                                              "every run; events keep it fresh in between)")
    approvals: list[ApprovalProcess] = Field(default_factory=list)
    robots: dict[str, RobotSettings] = Field(default_factory=dict, description="group robots by name")
    callback: CallbackSettings | None = Field(None, description="HTTP callback crypto settings")
    events: Literal["http", "stream", "none"] = Field("http", description="how change events arrive: HTTP "
                                                                          "callbacks, Stream mode, or not at all")
    book_rooms: bool = Field(True, description="the event writer adds the rooms a delivery names")
    qps_wait: PositiveFloat = Field(1.0, description="seconds to wait after a QPS-limit answer")
    calendar_page_size: PositiveInt = Field(100, le=100)
    room_page_size: PositiveInt = Field(100, le=100)

    @field_validator("api_base_url", "oapi_base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")
