"""Change-notification subscriptions on each in-scope mailbox's events, kept alive before each run.

Stateless by design: Graph is asked which subscriptions exist (``GET /subscriptions``), missing
ones are created, ones past half their lifetime are renewed (PATCH), ones for mailboxes no
longer in scope are deleted. Each subscription's ``clientState`` is ``<tag>.<mac>``: the tag
names the mailbox (a hash of its address), the mac is an HMAC of the tag under the configured
secret, so a notification proves its origin AND says which mailbox it is about.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from collabhub.connector import WebhookSink
from collabhub.errors import ConnectorError
from collabhub.http import json_body

from .mapping import parse_instant
from .settings import NotificationSettings

if TYPE_CHECKING:
    from .connector import M365Connector

__all__ = ["SubscriptionManager"]


class SubscriptionManager:
    def __init__(self, connector: M365Connector) -> None:
        self.connector = connector

    @property
    def settings(self) -> NotificationSettings:
        settings = self.connector.config.notifications
        if settings is None:
            raise RuntimeError("notifications are not configured for this connector")
        return settings

    # -- clientState ---------------------------------------------------------------------------

    @staticmethod
    def tag(mailbox: str) -> str:
        return hashlib.sha256(mailbox.lower().encode()).hexdigest()[:16]

    def _mac(self, tag: str) -> str:
        secret = self.settings.client_state.get_secret_value().encode()
        return hmac.new(secret, tag.encode(), hashlib.sha256).hexdigest()[:48]

    def client_state(self, mailbox: str) -> str:
        tag = self.tag(mailbox)
        return f"{tag}.{self._mac(tag)}"

    def verify(self, client_state: Any) -> str | None:
        """The mailbox tag of a genuine ``clientState``; ``None`` when it is missing or forged."""
        if not isinstance(client_state, str) or "." not in client_state:
            return None
        tag, _, mac = client_state.partition(".")
        return tag if hmac.compare_digest(mac, self._mac(tag)) else None

    async def mailbox_for(self, tag: str) -> str | None:
        for ref in await self.connector.mailbox_scope():
            if self.tag(ref.key) == tag:
                return ref.key
        return None

    # -- Graph calls ---------------------------------------------------------------------------

    @staticmethod
    def resource(mailbox: str) -> str:
        return f"/users/{mailbox}/events"

    def _expiry(self) -> str:
        moment = self.connector.context.clock() + timedelta(minutes=self.settings.lifetime_minutes)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.0000000Z")

    async def create(self, mailbox: str) -> dict[str, Any]:
        """Subscribe to ``mailbox``'s events (Graph runs the validation handshake first)."""
        settings = self.settings
        body = {"changeType": ",".join(settings.change_types), "notificationUrl": settings.url,
                "lifecycleNotificationUrl": settings.lifecycle_url or settings.url,
                "resource": self.resource(mailbox), "expirationDateTime": self._expiry(),
                "clientState": self.client_state(mailbox), "latestSupportedTlsVersion": "v1_2"}
        response = await self.connector.request("POST", "/subscriptions", json=body)
        return json_body(response, connector=self.connector.name)

    async def renew(self, subscription_id: str) -> None:
        await self.connector.request("PATCH", f"/subscriptions/{quote(subscription_id)}",
                                     json={"expirationDateTime": self._expiry()})

    async def reauthorize(self, subscription_id: str) -> None:
        """Answer ``reauthorizationRequired``: reauthorize, or renew when that fails."""
        try:
            await self.connector.request("POST", f"/subscriptions/{quote(subscription_id)}/reauthorize")
        except ConnectorError:
            await self.renew(subscription_id)

    async def delete(self, subscription_id: str) -> None:
        await self.connector.request("DELETE", f"/subscriptions/{quote(subscription_id)}")

    async def ours(self) -> list[dict[str, Any]]:
        """This connector's subscriptions (same notificationUrl) as Graph lists them."""
        return [s for s in await self.connector.collect("/subscriptions")
                if str(s.get("notificationUrl") or "").rstrip("/") == self.settings.url.rstrip("/")]

    # -- upkeep --------------------------------------------------------------------------------

    async def maintain(self, sink: WebhookSink) -> dict[str, int]:
        """Create missing, renew ageing, delete stray subscriptions; counts of each."""
        scope = await self.connector.mailbox_scope()
        by_id = {ref.id.lower(): ref.key for ref in scope if ref.id}
        keys = {ref.key for ref in scope}
        found: dict[str, list[Mapping[str, Any]]] = {}
        for sub in await self.ours():
            parts = [p for p in str(sub.get("resource") or "").strip("/").split("/") if p]
            owner = parts[1].lower() if len(parts) == 3 else ""
            found.setdefault(by_id.get(owner, owner), []).append(sub)
        counts = {"created": 0, "renewed": 0, "deleted": 0, "failed": 0}
        now = self.connector.context.clock()
        half_life = timedelta(minutes=self.settings.lifetime_minutes / 2)
        for mailbox in sorted(keys | set(found)):
            subs = sorted(found.get(mailbox, []), key=lambda s: str(s.get("expirationDateTime") or ""))
            try:
                if mailbox not in keys:
                    for sub in subs:
                        await self.delete(str(sub["id"]))
                        counts["deleted"] += 1
                    continue
                for stale in subs[:-1]:  # keep the one that lives longest
                    await self.delete(str(stale["id"]))
                    counts["deleted"] += 1
                if not subs:
                    await self.create(mailbox)
                    counts["created"] += 1
                    continue
                expires = parse_instant(str(subs[-1].get("expirationDateTime") or "")) or now
                if expires - now < half_life:
                    await self.renew(str(subs[-1]["id"]))
                    counts["renewed"] += 1
            except ConnectorError as exc:
                counts["failed"] += 1
                self.connector.log.warning("subscription upkeep for %s failed: %s", mailbox, exc)
        if any(counts.values()):
            self.connector.log.info("subscriptions: %s", counts)
        return counts
