"""Admin webhooks of the Jira simulator: event payloads, ``X-Hub-Signature`` signing, delivery."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Event", "WebhookRegistration", "sign"]


def sign(body: bytes, secret: str) -> str:
    """The ``X-Hub-Signature`` value Jira sends: ``sha256=`` + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class WebhookRegistration:
    """One admin webhook: where to post, which events, and the optional secret."""

    url: str
    secret: str | None
    events: tuple[str, ...] = ("jira:issue_created", "jira:issue_updated", "jira:issue_deleted",
                               "comment_created", "comment_updated", "comment_deleted")
    name: str = "collabhub"
    id: int = 1


@dataclass
class Event:
    """A queued webhook event: payload plus the identifier Jira keeps stable across retries."""

    name: str
    payload: dict[str, Any]
    identifier: str = field(default_factory=lambda: str(uuid.uuid4()))

    def body(self) -> bytes:
        return json.dumps(self.payload, separators=(",", ":"), ensure_ascii=False).encode()

    def headers(self, secret: str | None, *, retry: int = 0) -> dict[str, str]:
        body = self.body()
        out = {"Content-Type": "application/json", "X-Atlassian-Webhook-Identifier": self.identifier,
               "X-Atlassian-Webhook-Retry": str(retry), "X-Atlassian-Webhook-Flow": "Primary",
               "User-Agent": "Atlassian Webhook HTTP Client"}
        if secret:
            out["X-Hub-Signature"] = sign(body, secret)
        return out
