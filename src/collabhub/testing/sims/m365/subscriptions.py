"""Change-notification subscriptions: validation handshake, queued notifications, lifecycle events.

Creating a subscription POSTs ``?validationToken=…`` to ``notificationUrl`` (and to
``lifecycleNotificationUrl``) and expects the token back as ``text/plain`` within 10 seconds,
as Graph does. Calendar changes queue notifications; ``flush()`` delivers them batched per URL.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from collabhub.testing.sims.m365.calendars import Mailbox, MailboxDirectory, parse_graph_time

__all__ = ["MAX_EVENT_MINUTES", "SubscriptionBook"]

MAX_EVENT_MINUTES = 4230  # the documented maximum lifetime of an Outlook event subscription
MIN_MINUTES = 45


class SubscriptionBook:
    """Subscriptions by id, plus the queue of notifications not yet delivered."""

    def __init__(self, directory: MailboxDirectory, tenant_id: str, clock: Callable[[], datetime]) -> None:
        self.directory = directory
        self.tenant_id = tenant_id
        self.clock = clock
        self.items: dict[str, dict[str, Any]] = {}
        self.pending: list[tuple[str, dict[str, Any]]] = []  # (url, notification)
        self.delivered: list[tuple[str, int, dict[str, Any]]] = []  # (url, status, payload)
        self._lock = threading.Lock()
        self.timeout = 10.0

    # -- create / renew ------------------------------------------------------------------------

    def mailbox_of(self, resource: str) -> Mailbox | None:
        parts = [p for p in resource.strip("/").split("/") if p]
        if len(parts) == 3 and parts[0].lower() == "users" and parts[2].lower() == "events":
            return self.directory.resolve(parts[1])
        return None

    def clamp_expiry(self, requested: str) -> tuple[datetime | None, str | None]:
        """The granted expiry, or an error message (over the maximum lifetime)."""
        try:
            when = parse_graph_time(requested)
        except ValueError:
            return None, f"expirationDateTime '{requested}' is not a valid date"
        now = self.clock()
        if when > now + timedelta(minutes=MAX_EVENT_MINUTES + 1):
            return None, f"Subscription expiration can only be {MAX_EVENT_MINUTES} minutes in the future."
        return max(when, now + timedelta(minutes=MIN_MINUTES)), None

    async def validate(self, url: str) -> str | None:
        """Run the validation handshake against ``url``; an error message when it fails.

        The hub under test listens on loopback, often with a self-signed certificate, so the
        simulator does not verify the hub's certificate (real Graph requires a public one).
        """
        token = f"Validation: Testing client application reachability for subscription Request-Id: {uuid.uuid4()}"
        try:
            async with httpx.AsyncClient(timeout=self.timeout, verify=False) as client:
                response = await client.post(url, params={"validationToken": token},
                                             headers={"Content-Type": "text/plain; charset=utf-8"})
        except httpx.HTTPError as exc:
            return f"Subscription validation request failed. Notification endpoint must respond with 200 OK: {exc}"
        content_type = response.headers.get("content-type", "")
        if response.status_code != 200 or response.text != token or not content_type.startswith("text/plain"):
            return ("Subscription validation request failed. Response must exactly match validationToken query "
                    f"parameter (got HTTP {response.status_code}, {content_type or 'no content type'}).")
        return None

    def add(self, body: dict[str, Any], expiry: datetime, app_id: str) -> dict[str, Any]:
        sub_id = str(uuid.uuid4())
        item = {
            "id": sub_id,
            "resource": body["resource"],
            "applicationId": app_id,
            "changeType": body["changeType"],
            "clientState": body.get("clientState"),
            "notificationUrl": body["notificationUrl"],
            "lifecycleNotificationUrl": body.get("lifecycleNotificationUrl"),
            "expirationDateTime": expiry.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z"),
            "creatorId": app_id,
            "includeResourceData": False,
            "latestSupportedTlsVersion": "v1_2",
            "encryptionCertificate": None,
            "encryptionCertificateId": None,
            "notificationQueryOptions": None,
            "notificationUrlAppId": None,
        }
        with self._lock:
            self.items[sub_id] = item
        return item

    @staticmethod
    def public(item: dict[str, Any]) -> dict[str, Any]:
        """What GET returns: ``clientState`` is never echoed back."""
        return {**item, "clientState": None}

    # -- notifications ---------------------------------------------------------------------

    def on_change(self, mailbox: Mailbox, event_id: str, change: str) -> None:
        """Queue a notification for every live subscription on this mailbox's events."""
        now = self.clock()
        with self._lock:
            subs = list(self.items.values())
        for sub in subs:
            if change not in sub["changeType"].split(",") or parse_graph_time(sub["expirationDateTime"]) < now:
                continue
            target = self.mailbox_of(sub["resource"])
            if target is None or target.id != mailbox.id:
                continue
            resource = f"Users/{mailbox.id}/Events/{event_id}"
            event = mailbox.events.get(event_id, {})
            note = {
                "subscriptionId": sub["id"],
                "subscriptionExpirationDateTime": sub["expirationDateTime"],
                "changeType": change,
                "resource": resource,
                "resourceData": {"@odata.type": "#Microsoft.Graph.Event", "@odata.id": resource,
                                 "@odata.etag": event.get("@odata.etag", ""), "id": event_id},
                "clientState": sub["clientState"],
                "tenantId": self.tenant_id,
            }
            with self._lock:
                self.pending.append((sub["notificationUrl"], note))

    def lifecycle(self, sub_id: str, event: str) -> tuple[str, dict[str, Any]]:
        """A lifecycle notification for ``sub_id`` and the URL it goes to."""
        with self._lock:
            sub = self.items[sub_id] if event != "subscriptionRemoved" else self.items.pop(sub_id)
        note = {"subscriptionId": sub_id, "subscriptionExpirationDateTime": sub["expirationDateTime"],
                "tenantId": self.tenant_id, "clientState": sub["clientState"], "lifecycleEvent": event}
        return sub.get("lifecycleNotificationUrl") or sub["notificationUrl"], note

    def take_pending(self) -> dict[str, list[dict[str, Any]]]:
        with self._lock:
            pending, self.pending = self.pending, []
        batches: dict[str, list[dict[str, Any]]] = {}
        for url, note in pending:
            batches.setdefault(url, []).append(note)
        return batches

    def post(self, url: str, notes: list[dict[str, Any]]) -> int:
        """Deliver one batch synchronously; returns the hub's status code (0 when unreachable)."""
        payload = {"value": notes}
        try:
            with httpx.Client(timeout=self.timeout, verify=False) as client:
                status = client.post(url, content=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"}).status_code
        except httpx.HTTPError:
            status = 0
        with self._lock:
            self.delivered.append((url, status, payload))
        return status

    async def post_async(self, url: str, notes: list[dict[str, Any]]) -> int:
        payload = {"value": notes}
        try:
            async with httpx.AsyncClient(timeout=self.timeout, verify=False) as client:
                status = (await client.post(url, content=json.dumps(payload).encode(),
                                            headers={"Content-Type": "application/json"})).status_code
        except httpx.HTTPError:
            status = 0
        with self._lock:
            self.delivered.append((url, status, payload))
        return status
