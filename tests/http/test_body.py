"""``json_body``: orjson decoding of response bodies, and a located RemoteError for broken ones (respx)."""

from __future__ import annotations

import httpx
import pytest
import respx

from collabhub.errors import Action, ConnectorError, RemoteError, Who
from collabhub.http import HttpSettings, build_client, json_body
from collabhub.http.body import INVALID_JSON

BASE = "https://api.example.test"
PAGE = {"value": [{"id": "e1", "subject": "Plan", "start": {"dateTime": "2024-05-01T09:00:00.0000000"}},
                  {"id": "e2", "subject": "会议", "attendees": [], "isAllDay": False, "n": 3, "x": 1.5}],
        "@odata.nextLink": f"{BASE}/next?$skiptoken=abc"}


async def _get(body: bytes, *, status: int = 200, content_type: str = "application/json") -> httpx.Response:
    with respx.mock:
        respx.get(f"{BASE}/users/a%40corp.example/events").mock(
            return_value=httpx.Response(status, content=body, headers={"content-type": content_type}))
        async with build_client(HttpSettings(), base_url=BASE) as client:
            return await client.get("/users/a%40corp.example/events",
                                    params={"$deltatoken": "SECRET-TOKEN", "access_token": "SECRET-KEY"})


async def test_a_valid_body_decodes_as_response_json_does():
    response = await _get(httpx.Response(200, json=PAGE).content)
    assert json_body(response) == response.json() == PAGE
    assert json_body(await _get(b"[1, 2, null]")) == [1, 2, None]


@pytest.mark.parametrize("body", [b'\xef\xbb\xbf{"a": 1}', '{"a": 1}'.encode("utf-16"), b'{"a": NaN}'])
async def test_documents_only_the_standard_library_reads_still_decode(body):
    response = await _get(body)
    assert repr(json_body(response)) == repr(response.json())


async def test_a_truncated_body_is_a_located_retryable_remote_error():
    full = httpx.Response(200, json=PAGE).content
    response = await _get(full[: len(full) // 2])
    with pytest.raises(RemoteError) as caught:
        json_body(response, connector="outlook")
    error = caught.value
    assert isinstance(error, ConnectorError) and error.connector == "outlook"
    assert error.resolution.action is Action.RETRY and error.resolution.who is Who.REMOTE
    assert error.resolution.code == INVALID_JSON
    text = str(error)
    assert text.startswith(f"GET {BASE}/users/a%40corp.example/events?$deltatoken=…&access_token=… answered HTTP 200 "
                           f"with a body that is not valid JSON ({len(full) // 2} bytes, application/json: ")
    assert "line 1 column" in text and "resumes from its saved cursor" in text
    assert "SECRET" not in text and "SECRET" not in error.resolution.message
    assert isinstance(error.__cause__, ValueError)


async def test_an_html_error_page_names_its_status_and_content_type():
    response = await _get(b"<html><body>502 Bad Gateway</body></html>", status=502, content_type="text/html")
    with pytest.raises(RemoteError, match=r"answered HTTP 502 with a body that is not valid JSON \(41 bytes, "
                                          r"text/html: unexpected character"):
        json_body(response)


async def test_an_empty_body_is_a_remote_error_too():
    response = await _get(b"")
    with pytest.raises(RemoteError, match=r"events\?\$deltatoken=…&access_token=… answered HTTP 200 with an empty "
                                          r"body \(a truncated"):
        json_body(response)


def test_a_response_built_by_hand_has_no_request_to_name():
    with pytest.raises(RemoteError, match=r"^a request answered HTTP 200 with a body that is not valid JSON"):
        json_body(httpx.Response(200, content=b"{"))
