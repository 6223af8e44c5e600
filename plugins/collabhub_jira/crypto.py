"""Jira admin-webhook signatures: ``X-Hub-Signature: sha256=<hex HMAC-SHA256(raw body, secret)>``."""

from __future__ import annotations

import hashlib
import hmac

from pydantic import SecretStr

__all__ = ["sign", "verify"]

PREFIX = "sha256="


def sign(body: bytes, secret: SecretStr | str) -> str:
    """The header value Jira sends for ``body``."""
    key = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    return PREFIX + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, header: str | None, secret: SecretStr | str) -> bool:
    """True when ``header`` is the signature of the raw ``body``; compared in constant time."""
    if not header or not header.startswith(PREFIX):
        return False
    expected = sign(body, secret)
    return hmac.compare_digest(expected.encode(), header.strip().lower().encode())
