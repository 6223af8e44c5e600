"""Secrets never show up in errors or reprs; long values are described, not echoed."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydantic import field_validator

from collabhub.config import load_config, validate_file
from collabhub.connector import CheckResult, Connector, ConnectorConfig
from collabhub.errors import ConfigError
from collabhub.hookspecs import hookimpl

TOKEN = "tok-5f2b9c-very-secret"


class VaultConnector(Connector):
    type = "vault"

    class Config(ConnectorConfig):
        client_secret: str
        region: str = "cn"

        @field_validator("client_secret")
        @classmethod
        def _long_enough(cls, value: str) -> str:
            if len(value) < 32:
                raise ValueError(f"client secret {value} is too short")  # a careless plugin
            return value

    async def check(self) -> CheckResult:
        return CheckResult.passed()


class VaultPlugin:
    @hookimpl
    def register_connectors(self, register: Callable[[type[Connector]], None]) -> None:
        register(VaultConnector)


@pytest.fixture
def vault_host(host):
    host.register(VaultPlugin(), name="vault-plugin")
    return host


def errors_of(path, host, env) -> str:
    return "\n".join(validate_file(path, host=host, env=env))


def test_secret_field_value_is_not_echoed_even_by_a_careless_validator(write, vault_host):
    path = write("""
        connectors:
          v:
            type: vault
            client_secret: ${VAULT_SECRET}
        """)
    text = errors_of(path, vault_host, {"VAULT_SECRET": TOKEN})
    assert text == f"{path}:4:20: connectors.v.client_secret: client secret *** is too short (got a hidden value)"


def test_secretstr_field_of_wrong_type_is_hidden(write, host):
    path = write("""
        connectors:
          eng:
            type: notes
            base_url: https://notes.example.com
            api_token: [tok-5f2b9c-very-secret]
        """)
    text = errors_of(path, host, {})
    assert TOKEN not in text
    assert "connectors.eng.api_token" in text
    assert "got a hidden value" in text


def test_unknown_secret_looking_key_is_not_echoed(write, host):
    path = write(f"""
        connectors:
          eng:
            type: notes
            base_url: https://notes.example.com
            api_token: x
            password: {TOKEN}
        """)
    text = errors_of(path, host, {})
    assert text.startswith(f"{path}:6:5: connectors.eng.password: unknown key")
    assert TOKEN not in text


def test_long_values_are_described_not_echoed(write, host):
    long_value = "z" * 80
    path = write(f"""
        connectors:
          eng:
            type: notes
            base_url: https://notes.example.com
            api_token: x
            page_size: {long_value}
        """)
    text = errors_of(path, host, {})
    assert long_value not in text
    assert text.endswith("(got a text of 80 characters)")


def test_interpolated_secret_stays_secret(write, host):
    path = write("""
        connectors:
          eng:
            type: notes
            base_url: https://notes.example.com
            api_token: ${NOTES_TOKEN}
        """)
    config = load_config(path, host=host, env={"NOTES_TOKEN": TOKEN})
    entry = config.connector("eng")
    assert entry.config.api_token.get_secret_value() == TOKEN
    for text in (repr(config), repr(entry), str(entry.config), entry.config.model_dump_json()):
        assert TOKEN not in text


def test_secret_is_absent_from_every_error_of_a_broken_entry(write, host):
    path = write("""
        connectors:
          eng:
            type: notes
            base_url: 42
            api_token: ${NOTES_TOKEN}
            page_size: -1
            extra: ${NOTES_TOKEN}
        """)
    with pytest.raises(ConfigError) as info:
        load_config(path, host=host, env={"NOTES_TOKEN": TOKEN})
    assert len(info.value.errors) == 3
    assert all(TOKEN not in line for line in info.value.errors)
