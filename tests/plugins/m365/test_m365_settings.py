"""Settings: one credential, https endpoints, national clouds, scope."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from collabhub_m365.settings import M365Settings

BASE = {"tenant_id": "contoso.onmicrosoft.com", "client_id": "c", "mailboxes": ["A@Contoso.com", "a@contoso.com"]}


def make(**extra: Any) -> M365Settings:
    return M365Settings.model_validate({**BASE, "client_secret": "x" * 20, **extra})


def test_global_cloud_defaults() -> None:
    config = make()
    assert config.authority == "https://login.microsoftonline.com/contoso.onmicrosoft.com"
    assert config.scope == "https://graph.microsoft.com/.default"
    assert config.mailboxes == ["a@contoso.com"]
    assert config.known_cloud


def test_overrides_must_be_https() -> None:
    with pytest.raises(ValidationError, match="https"):
        make(authority_host="http://login.example.test")
    assert not make(authority_host="https://login.example.test").known_cloud


def test_exactly_one_credential() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        M365Settings.model_validate(BASE)
    with pytest.raises(ValidationError, match="exactly one"):
        make(certificate={"private_key_path": "k.pem", "thumbprint": "AB"})
    cert = M365Settings.model_validate({**BASE, "certificate": {"private_key_path": "k.pem", "thumbprint": "AB"}})
    assert cert.certificate is not None


def test_mailboxes_or_group_needed_for_events() -> None:
    with pytest.raises(ValidationError, match="mailboxes"):
        M365Settings.model_validate({"tenant_id": "t", "client_id": "c", "client_secret": "x" * 20})
    rooms_only = M365Settings.model_validate({"tenant_id": "t", "client_id": "c", "client_secret": "x" * 20,
                                              "streams": ["rooms", "room_bookings"]})
    assert rooms_only.mailboxes == []


def test_notification_settings() -> None:
    with pytest.raises(ValidationError, match="at least 16"):
        make(notifications={"url": "https://hub.example.com/m365", "client_state": "short"})
    with pytest.raises(ValidationError, match="4230"):
        make(notifications={"url": "https://hub.example.com/m365", "client_state": "x" * 32,
                            "lifetime_minutes": 10080})
