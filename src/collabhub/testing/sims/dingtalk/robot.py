"""Simulated custom group robots (signature check, 20 messages a minute, ``msgUuid``) and callback crypto.

The crypto here is written independently of the connector's, from the same recipe, so the two
check each other: the simulator encrypts callbacks the connector must open, and verifies robot
signatures the connector makes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import struct
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

if TYPE_CHECKING:
    from collabhub.testing.sims.dingtalk.simulator import DingTalkSimulator

__all__ = ["RobotState", "encrypt_callback", "robot_routes", "sign_callback"]

PER_MINUTE = 20
THROTTLE_SECONDS = 600
MAX_SKEW_MS = 3600 * 1000


@dataclass
class RobotState:
    """One robot: its secret, the messages it posted, and its throttle."""

    secret: str | None
    messages: list[dict[str, Any]] = field(default_factory=list)
    uuids: set[str] = field(default_factory=set)
    recent: deque[float] = field(default_factory=deque)
    throttled_until: float = 0.0
    rejected: int = 0


def _err(code: int, message: str) -> JSONResponse:
    return JSONResponse({"errcode": code, "errmsg": message})


def robot_routes(sim: DingTalkSimulator) -> list[Route]:
    async def send(request: Request) -> JSONResponse:
        q = request.query_params
        robot = sim.robots.get(q.get("access_token") or "")
        if robot is None:
            return _err(400101, "token不存在")
        now = sim.now().timestamp()
        if robot.secret is not None:
            try:
                ts = int(q.get("timestamp") or "")
            except ValueError:
                return _err(310000, "sign not match, more: [timestamp missing]")
            if abs(now * 1000 - ts) > MAX_SKEW_MS:
                return _err(310000, "sign not match, more: [timestamp is more than an hour away]")
            digest = hmac.new(robot.secret.encode(), f"{ts}\n{robot.secret}".encode(), hashlib.sha256).digest()
            # the raw query keeps the %-encoding the sender used; compare the decoded signature
            raw = dict(p.split("=", 1) for p in request.url.query.split("&") if "=" in p).get("sign", "")
            if not hmac.compare_digest(unquote_plus(raw), base64.b64encode(digest).decode()):
                return _err(310000, "sign not match")
        body = await request.json()
        if body.get("msgUuid") and body["msgUuid"] in robot.uuids:
            return _err(0, "ok")
        while robot.recent and robot.recent[0] <= now - 60:
            robot.recent.popleft()
        if now < robot.throttled_until or len(robot.recent) >= PER_MINUTE:
            if now >= robot.throttled_until:
                robot.throttled_until = now + THROTTLE_SECONDS
            robot.rejected += 1
            return _err(410100, "send too fast, exceed 20 times per minute")
        if body.get("msgtype") not in ("text", "link", "markdown", "actionCard", "feedCard"):
            return _err(40035, "缺少参数 msgtype")
        robot.recent.append(now)
        robot.messages.append(body)
        if body.get("msgUuid"):
            robot.uuids.add(body["msgUuid"])
        return _err(0, "ok")

    return [Route("/robot/send", send, methods=["POST"])]


def sign_callback(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypt])).encode()).hexdigest()


def encrypt_callback(aes_key: str, owner_key: str, message: str, random16: bytes) -> str:
    """DingTalk's callback encryption: 32-byte PKCS7 block, IV = first 16 key bytes."""
    key = base64.b64decode(aes_key + "=")
    text = message.encode("utf-8")
    plain = random16 + struct.pack(">I", len(text)) + text + owner_key.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def callback_body(encrypt: str) -> bytes:
    return json.dumps({"encrypt": encrypt}).encode()
