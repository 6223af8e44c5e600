"""Simulated IM v1 messages (cards, ``uuid`` dedup, in-place updates, 5/s per chat) and custom bot webhooks."""

from __future__ import annotations

import hmac
import json
import time
import uuid as uuidlib
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from collabhub.testing.sims.feishu.responses import error, ok
from collabhub.testing.sims.feishu.signing import bot_signature
from collabhub.testing.sims.feishu.state import FeishuState

__all__ = ["ImRoutes"]

UUID_WINDOW = 3600.0
CHAT_RATE = 5
BOT_RATE = 5


class ImRoutes:
    """Messages and bots; ``chat_rate`` sends per second per chat before 230020."""

    def __init__(self, state: FeishuState, app_id: str, clock: Any = time.time) -> None:
        self.state = state
        self.app_id = app_id
        self.clock = clock
        self.chat_rate = CHAT_RATE
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)

    def _over_limit(self, key: str, limit: int) -> bool:
        """A token bucket per chat or bot: ``limit`` per second, bursts of ``limit``."""
        now = time.monotonic()
        tokens, last = self._buckets.get(key, (float(limit), now))
        tokens = min(float(limit), tokens + (now - last) * limit)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return True
        self._buckets[key] = (tokens - 1.0, now)
        return False

    def routes(self) -> list[Route]:
        return [
            Route("/open-apis/im/v1/messages", self.send, methods=["POST"]),
            Route("/open-apis/im/v1/messages/{message_id}", self.get, methods=["GET"]),
            Route("/open-apis/im/v1/messages/{message_id}", self.update, methods=["PATCH"]),
            Route("/open-apis/im/v1/messages/{message_id}", self.recall, methods=["DELETE"]),
            Route("/open-apis/bot/v3/info", self.bot_info),
            Route("/open-apis/bot/v2/hook/{hook}", self.hook, methods=["POST"]),
        ]

    async def send(self, request: Request) -> Response:
        state = self.state
        if request.query_params.get("receive_id_type") != "chat_id":
            return error(230001, "this simulator delivers to chats only (receive_id_type=chat_id)")
        body: dict[str, Any] = await request.json()
        chat = state.chats.get(str(body.get("receive_id")))
        if chat is None:
            return error(230001, "invalid receive_id: chat not found")
        if not chat["bot_member"]:
            return error(230002, "Bot/User can NOT be out of the chat.")
        try:
            content = json.loads(body.get("content") or "")
        except ValueError:
            return error(230001, "content is not a JSON string")
        if body.get("msg_type") == "interactive" and not isinstance(content, dict):
            return error(230099, "Failed to create card content")
        key = body.get("uuid")
        with state.lock:
            if key and key in state.message_uuids and time.time() - state.message_uuids[key][1] < UUID_WINDOW:
                return ok(state.messages[state.message_uuids[key][0]])
            if self._over_limit(chat["chat_id"], self.chat_rate):
                return error(230020, "This chat triggered the send rate limit (5 per second).")
            message_id = f"om_{uuidlib.uuid4().hex}"
            now = str(int(self.clock() * 1000))
            message = {"message_id": message_id, "root_id": "", "parent_id": "", "msg_type": body.get("msg_type"),
                       "create_time": now, "update_time": now, "deleted": False, "updated": False,
                       "chat_id": chat["chat_id"], "sender": {"id": self.app_id, "id_type": "app_id",
                                                              "sender_type": "app", "tenant_key": "sim-tenant"},
                       "body": {"content": body.get("content")}, "mentions": []}
            state.messages[message_id] = message
            if key:
                state.message_uuids[key] = (message_id, time.time())
        return ok(message)

    async def get(self, request: Request) -> Response:
        message = self.state.messages.get(request.path_params["message_id"])
        if message is None:
            return error(230001, "message not found")
        return ok({"items": [message]})

    async def update(self, request: Request) -> Response:
        body: dict[str, Any] = await request.json()
        with self.state.lock:
            message = self.state.messages.get(request.path_params["message_id"])
            if message is None:
                return error(230001, "message not found")
            if message["deleted"]:
                return error(230011, "The message was withdrawn.")
            if message["msg_type"] != "interactive":
                return error(230001, "only interactive cards can be updated")
            try:
                card = json.loads(body.get("content") or "")
            except ValueError:
                return error(230001, "content is not a JSON string")
            if not (isinstance(card, dict) and (card.get("config") or {}).get("update_multi")):
                return error(230099, "shared cards need config.update_multi=true to be updated")
            if self._over_limit(f"update:{message['chat_id']}", self.chat_rate):
                return error(230020, "This chat triggered the update rate limit (5 per second).")
            message["body"] = {"content": body["content"]}
            message["updated"] = True
            message["update_time"] = str(int(self.clock() * 1000))
        return ok({})

    async def recall(self, request: Request) -> Response:
        message = self.state.messages.get(request.path_params["message_id"])
        if message is None:
            return error(230001, "message not found")
        message["deleted"] = True
        return ok({})

    async def bot_info(self, request: Request) -> Response:
        return JSONResponse({"code": 0, "msg": "ok", "bot": {"activate_status": 2, "app_name": "collabhub",
                                                             "avatar_url": "", "ip_white_list": [],
                                                             "open_id": f"ou_bot_{self.app_id}"}})

    async def hook(self, request: Request) -> Response:
        hook = request.path_params["hook"]
        if hook not in self.state.bot_hooks:
            return JSONResponse({"code": 19001, "msg": "param invalid: incoming webhook access token invalid",
                                 "data": {}})
        try:
            body: dict[str, Any] = await request.json()
        except ValueError:
            return JSONResponse({"code": 9499, "msg": "Bad Request", "data": {}})
        secret = self.state.bot_hooks[hook]
        if secret is not None:
            stamp = str(body.get("timestamp") or "")
            fresh = stamp.isdigit() and abs(self.clock() - int(stamp)) <= 3600
            if not fresh or not hmac.compare_digest(str(body.get("sign") or ""), bot_signature(stamp, secret)):
                return JSONResponse({"code": 19021, "msg": "sign match fail or timestamp is not within one hour "
                                                           "from current time", "data": {}})
        if body.get("msg_type") not in ("text", "post", "image", "share_chat", "interactive"):
            return JSONResponse({"code": 9499, "msg": "Bad Request: msg_type", "data": {}})
        if self._over_limit(f"bot:{hook}", BOT_RATE):
            return JSONResponse({"code": 11232, "msg": "frequency limited psm", "data": {}})
        self.state.bot_messages.setdefault(hook, []).append(body)
        return JSONResponse({"code": 0, "data": {}, "msg": "success"})
