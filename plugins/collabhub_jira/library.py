"""The ``jira`` library (pycontribs, >= 3.10) for the low-volume calls it fits: ``check()`` and discovery.

The library is synchronous (``requests``), so every call runs in a worker thread and never blocks
the event loop. Its session honours the connector's ``http`` settings only: ``trust_env=False``
(``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``/``*_PROXY`` in the environment would otherwise override
``verify`` and the proxy), the configured proxy for both schemes, and ``verify`` (bool or CA
bundle path). Each response it receives counts as one API call of the connector.

Bulk reading and all writes go through httpx (``Connector.request``): async, one retry policy and
one rate limiter for the whole connector.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import requests
from jira import JIRA, JIRAError

from collabhub.errors import Action, AuthError, ErrorResolution, RemoteError, Who
from collabhub.http.client import USER_AGENT
from collabhub_jira.auth import library_auth
from collabhub_jira.config import JiraConfig

__all__ = ["JiraLibrary"]


class JiraLibrary:
    """A lazily built ``jira.JIRA`` client whose calls run in a thread, one at a time.

    It speaks REST v2, which Cloud and Data Center both serve, so ``check()`` can tell a
    misconfigured ``deployment`` apart from a wrong URL.
    """

    def __init__(self, config: JiraConfig, *, on_response: Callable[[], None] | None = None,
                 connector: str | None = None) -> None:
        self.config = config
        self.connector = connector
        self._on_response = on_response
        self._client: JIRA | None = None
        self._lock = threading.Lock()

    def build(self) -> JIRA:
        """Construct the client (no network call) with the session settings described above."""
        http = self.config.http
        client = JIRA(
            server=self.config.base_url,
            options={"rest_api_version": "2", "verify": http.verify, "check_update": False,
                     "headers": {"User-Agent": USER_AGENT}},
            get_server_info=False,
            max_retries=min(http.max_retries, 3),
            timeout=(http.connect_timeout, http.timeout),
            logging=False,
            **library_auth(self.config),
        )
        session = client._session
        session.trust_env = False
        session.proxies = {"http": http.proxy, "https": http.proxy} if http.proxy else {}
        session.verify = http.verify
        if self._on_response is not None:
            counter = self._on_response
            session.hooks["response"].append(lambda response, *args, **kwargs: counter())
        return client

    @property
    def client(self) -> JIRA:
        if self._client is None:
            self._client = self.build()
        return self._client

    def _run(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        with self._lock:
            return getattr(self.client, name)(*args, **kwargs)

    async def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Run ``JIRA.<name>(*args, **kwargs)`` in a worker thread; JIRA errors become connector errors."""
        try:
            return await asyncio.to_thread(self._run, name, args, kwargs)
        except JIRAError as exc:
            status = exc.status_code or 0
            text = exc.text or str(exc)
            if status in (401, 403):
                raise AuthError(f"Jira refused {name}: HTTP {status} {text}", connector=self.connector,
                                resolution=ErrorResolution(Action.FAIL, Who.CONFIG, text, code=str(status))) from None
            raise RemoteError(f"Jira {name} failed: HTTP {status} {text}", connector=self.connector,
                              resolution=ErrorResolution(Action.FAIL, Who.REMOTE, text, code=str(status))) from None
        except requests.RequestException as exc:
            message = f"cannot reach Jira for {name}: {type(exc).__name__}: {exc}"
            raise RemoteError(message, connector=self.connector,
                              resolution=ErrorResolution(Action.RETRY, Who.TRANSIENT, message)) from None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
