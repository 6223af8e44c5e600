"""Group robot messages (markdown and actionCard), signed, idempotent by ``msgUuid``, 20 a minute.

``POST {oapi}/robot/send?access_token=&timestamp=<ms>&sign=<D1 signature>`` with
``{msgtype, markdown|actionCard|text|link|feedCard, at, msgUuid}``. DingTalk throttles a robot for
10 minutes once it sends more than 20 messages in a minute, so the writer keeps a sliding window
per robot and, when it is full, raises a retryable ``DeliveryError`` with the wait: the outbox keeps
the message and sends it later. Nothing is dropped. The window is the store's
(``ConnectorContext.send_slots``), shared by every worker process on it; a connector built without
one keeps it in memory. A ``410100`` answer (something else used the robot) blocks the robot in the
window for the 10 minutes and is handled the same way.

Content: either a ready DingTalk body (``{"msgtype": "markdown", "markdown": {...}}``),
``{title, text, buttons: [{title, url}], single_url, at_mobiles, at_user_ids, at_all}``, or the
neutral digest shape of ``docs/plugins/channels.md`` (``title, summary, sections``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from collabhub.channels import content_markdown
from collabhub.connector import Delivery, DeliveryResult, SendSlots, Writer
from collabhub.errors import Action, ConnectorError, DeliveryError, ErrorResolution, Who
from collabhub_dingtalk.crypto import robot_sign
from collabhub_dingtalk.errors import ROBOT_THROTTLE_WAIT, error_body
from collabhub_dingtalk.timeutil import ms
from collabhub_dingtalk.writers.common import as_delivery_error, stable_id

__all__ = ["RobotWindow", "RobotWriter", "robot_body"]

WINDOW = 60.0
_PASSTHROUGH = ("text", "link", "markdown", "actionCard", "feedCard")


@dataclass
class RobotWindow:
    """Send times of one robot in the last minute, and a throttle DingTalk imposed."""

    per_minute: int
    sent: deque[float] = field(default_factory=deque)
    throttled_until: float = 0.0

    def wait(self, now: float) -> float:
        """Seconds until the robot may send again (0 when it may send now)."""
        while self.sent and self.sent[0] <= now - WINDOW:
            self.sent.popleft()
        wait = max(0.0, self.throttled_until - now)
        if len(self.sent) >= self.per_minute:
            wait = max(wait, self.sent[0] + WINDOW - now)
        return wait

    def record(self, now: float) -> None:
        self.sent.append(now)


class _MemorySlots:
    """``SendSlots`` in this process only (the connector's ``robot_windows``), for a connector without a store."""

    def __init__(self, connector: Any) -> None:
        self.connector = connector

    def _window(self, key: str, limit: int) -> RobotWindow:
        windows: dict[str, RobotWindow] = self.connector.robot_windows
        return windows.setdefault(key, RobotWindow(limit))

    async def take(self, key: str, limit: int, window: float) -> float:
        robot_window, now = self._window(key, limit), self.connector.now().timestamp()
        wait = robot_window.wait(now)
        if wait == 0:
            robot_window.record(now)
        return wait

    async def block(self, key: str, seconds: float, limit: int, window: float) -> None:
        self._window(key, limit).throttled_until = self.connector.now().timestamp() + seconds


def robot_body(content: Mapping[str, Any], msg_uuid: str) -> dict[str, Any]:
    """The JSON body for ``content`` (see the module docstring)."""
    if content.get("msgtype") not in _PASSTHROUGH and not (content.get("text") or content.get("markdown")) and (
            content.get("summary") or content.get("sections")):
        content = {**content, "text": content_markdown(content)}  # the neutral digest shape
    if content.get("msgtype") in _PASSTHROUGH:
        body = {k: v for k, v in content.items() if k in ("msgtype", "at", content["msgtype"])}
    else:
        title = str(content.get("title") or "collabhub")
        text = str(content.get("text") or content.get("markdown") or title)
        buttons = [b for b in content.get("buttons") or [] if isinstance(b, Mapping) and b.get("url")]
        if buttons or content.get("single_url"):
            card: dict[str, Any] = {"title": title, "text": text, "btnOrientation": "0"}
            if content.get("single_url"):
                card.update(singleTitle=str(content.get("single_title") or "查看详情"),
                            singleURL=str(content["single_url"]))
            else:
                card["btns"] = [{"title": str(b.get("title") or "打开"), "actionURL": str(b["url"])} for b in buttons]
            body = {"msgtype": "actionCard", "actionCard": card}
        else:
            body = {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
        at = {k: v for k, v in {"atMobiles": content.get("at_mobiles"), "atUserIds": content.get("at_user_ids"),
                                "isAtAll": bool(content.get("at_all")) or None}.items() if v}
        if at:
            body["at"] = at
    body["msgUuid"] = msg_uuid
    return body


def _robot_classify(inner: Any) -> Any:
    def classify(response: httpx.Response) -> ErrorResolution:
        body = error_body(response) or {}
        if body.get("errcode") == 410100:
            return ErrorResolution(Action.SKIP, Who.TRANSIENT, "robot throttled", code="410100")
        return inner(response)

    return classify


class RobotWriter(Writer):
    """Channel ``card`` (group robot): target ``{"robot": "<name in settings.robots>"}``."""

    channel = "card"
    edits_in_place = False  # robot messages cannot be edited: an update is a new message

    def _robot(self, delivery: Delivery) -> tuple[str, Any]:
        robots = self.connector.config.robots  # type: ignore[attr-defined]
        name = delivery.target.get("robot") or (next(iter(robots)) if len(robots) == 1 else None)
        if name not in robots:
            raise DeliveryError(f"no robot named {name!r} in the DingTalk settings (have: {sorted(robots)})",
                                retryable=False)
        return str(name), robots[name]

    async def deliver(self, delivery: Delivery) -> DeliveryResult:
        connector: Any = self.connector
        name, robot = self._robot(delivery)
        slots: SendSlots = connector.context.send_slots or _MemorySlots(connector)
        key = f"dingtalk:{connector.name}:robot:{name}"
        wait = await slots.take(key, robot.per_minute, WINDOW)
        if wait > 0:
            raise DeliveryError(f"robot {name!r} already sent {robot.per_minute} messages in the last minute; "
                                f"the message stays queued and is sent in {wait:.0f} s", retryable=True,
                                retry_after=wait)
        msg_uuid = stable_id("ch", delivery.idempotency_key)
        timestamp = ms(connector.now())
        url = f"{connector.config.oapi_base_url}/robot/send?access_token=" + quote(
            robot.access_token.get_secret_value(), safe="")
        if robot.secret is not None:
            url += f"&timestamp={timestamp}&sign={robot_sign(robot.secret.get_secret_value(), timestamp)}"
        try:
            response = await connector.request("POST", url, json=robot_body(delivery.content, msg_uuid),
                                               classify=_robot_classify(connector.classify))
        except ConnectorError as exc:
            raise as_delivery_error(exc, f"robot {name!r}") from None
        if (error_body(response) or {}).get("errcode") == 410100:
            await slots.block(key, ROBOT_THROTTLE_WAIT, robot.per_minute, WINDOW)
            raise DeliveryError(f"DingTalk throttled robot {name!r} (over 20 messages a minute); the message stays "
                                "queued", retryable=True, retry_after=ROBOT_THROTTLE_WAIT)
        return DeliveryResult(external_id=msg_uuid, detail={"robot": name})
