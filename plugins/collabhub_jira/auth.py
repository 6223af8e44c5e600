"""Credentials for the two clients: httpx (the shared ``collabhub.http`` auth flows) and the ``jira`` library.

Cloud signs in with email + API token (basic); Data Center with a personal access token (bearer);
either may use an OAuth 2.0 bearer token an admin issued. Secrets stay in ``SecretStr`` until the
moment a header is built.
"""

from __future__ import annotations

from typing import Any

import httpx

from collabhub.http import BasicAuth, BearerAuth
from collabhub_jira.config import JiraConfig

__all__ = ["http_auth", "library_auth", "method"]


def method(config: JiraConfig) -> str:
    """Which credential is in use: ``basic``, ``pat`` or ``oauth``."""
    if config.cloud and config.email and config.api_token:
        return "basic"
    if not config.cloud and config.personal_access_token:
        return "pat"
    return "oauth"


def http_auth(config: JiraConfig) -> httpx.Auth:
    kind = method(config)
    if kind == "basic":
        assert config.email and config.api_token
        return BasicAuth(config.email, config.api_token)
    token = config.personal_access_token if kind == "pat" else config.oauth_token
    assert token is not None
    return BearerAuth(token)


def library_auth(config: JiraConfig) -> dict[str, Any]:
    """Keyword arguments for ``jira.JIRA(...)``: ``basic_auth`` or ``token_auth`` (bearer)."""
    kind = method(config)
    if kind == "basic":
        assert config.email and config.api_token
        return {"basic_auth": (config.email, config.api_token.get_secret_value())}
    token = config.personal_access_token if kind == "pat" else config.oauth_token
    assert token is not None
    return {"token_auth": token.get_secret_value()}
