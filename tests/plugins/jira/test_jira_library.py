"""The ``jira`` library client: configured proxy and CA bundle win over the environment; calls run in a
thread; its responses count as API calls. And the shapes of the search requests httpx sends (respx)."""

from __future__ import annotations

import json
import threading
import time

import httpx
import requests
import respx

from collabhub_jira.connector import JiraConnector
from collabhub_jira.library import JiraLibrary
from collabhub_jira.mapping import MAPPED_FIELDS

BASE = "https://acme.atlassian.net"


def config(**extra):
    return JiraConnector.Config.model_validate({"base_url": BASE, "email": "bot@acme.com", "api_token": "tok-123",
                                                **extra})


def test_session_ignores_environment_proxy_and_ca_bundle(monkeypatch, tmp_path):
    bundle = tmp_path / "corp-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "env-ca.pem"))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(tmp_path / "env-ca.pem"))
    monkeypatch.setenv("HTTPS_PROXY", "http://env-proxy:9")
    library = JiraLibrary(config(http={"proxy": "http://proxy.corp:3128", "verify": str(bundle)}))
    session = library.build()._session
    assert session.trust_env is False
    merged = session.merge_environment_settings(f"{BASE}/rest/api/2/myself", {}, None, session.verify, None)
    assert merged["verify"] == str(bundle)
    assert merged["proxies"]["https"] == "http://proxy.corp:3128"


def test_library_auth_per_deployment():
    cloud = JiraLibrary(config()).build()._session
    assert cloud.auth == ("bot@acme.com", "tok-123")
    dc = JiraConnector.Config.model_validate({"base_url": "https://jira.corp", "deployment": "datacenter",
                                             "personal_access_token": "pat-999"})
    prepared = requests.Request("GET", "https://jira.corp/rest/api/2/myself").prepare()
    JiraLibrary(dc).build()._session.auth(prepared)
    assert prepared.headers["Authorization"] == "Bearer pat-999"


async def test_calls_run_in_a_worker_thread_and_count(kit, cloud_sim):
    connector = kit.connector(cloud_sim)
    threads = []
    original = connector.library._run

    def spy(name, args, kwargs):
        threads.append(threading.get_ident())
        return original(name, args, kwargs)

    connector.library._run = spy
    me = await connector.library.call("myself")
    assert me["accountId"] and threads and threads[0] != threading.get_ident()
    assert connector.api_calls == 1
    connector.library.close()


@respx.mock
async def test_cloud_search_requests_carry_epoch_jql_mapped_fields_and_chain_tokens():
    first = {"issues": [], "nextPageToken": "tok-page-2", "isLast": False}
    last = {"issues": [], "isLast": True}
    route = respx.post(f"{BASE}/rest/api/3/search/jql").mock(side_effect=[httpx.Response(200, json=first),
                                                                            httpx.Response(200, json=last)])
    connector = JiraConnector("jira", config(projects=["APL"], page_size=500))
    cursor = {"updated": 1793000000000, "key": "APL-9", "swept_at": time.time()}
    pages = [p async for p in connector.stream("issues").read(cursor)]
    one, two = (json.loads(c.request.content) for c in route.calls)
    assert one["jql"] == ('(project in ("APL")) AND updated >= 1792999880000 ORDER BY updated ASC, key ASC')
    assert one["fields"] == list(MAPPED_FIELDS) and one["maxResults"] == 500 and "nextPageToken" not in one
    assert two["nextPageToken"] == "tok-page-2" and two["jql"] == one["jql"]
    assert all("tok-page-2" not in json.dumps(p.cursor) for p in pages)  # tokens never become cursors


def dc_issue(n: int, updated: str) -> dict:
    return {"id": str(n), "key": f"OPS-{n}", "fields": {"updated": updated}}


@respx.mock
async def test_data_center_pages_re_anchor_the_window_at_the_last_update():
    t1, t2 = "2026-11-01T10:00:00.000+0000", "2026-11-01T11:00:00.000+0000"
    pages = [
        {"startAt": 0, "maxResults": 2, "total": 5, "issues": [dc_issue(1, t1), dc_issue(2, t2)]},
        {"startAt": 1, "maxResults": 2, "total": 4, "issues": [dc_issue(3, t2), dc_issue(4, t2)]},
        {"startAt": 3, "maxResults": 2, "total": 4, "issues": [dc_issue(5, t2)]},
    ]
    route = respx.post("https://jira.corp/rest/api/2/search").mock(
        side_effect=[httpx.Response(200, json=p) for p in pages])
    cfg = JiraConnector.Config.model_validate({"base_url": "https://jira.corp", "deployment": "datacenter",
                                              "personal_access_token": "pat", "page_size": 2})
    connector = JiraConnector("dc", cfg)
    search = connector.stream("issues").search
    got = [i["id"] async for page in search.pages(0, ["updated"], 2) for i in page]
    bodies = [json.loads(c.request.content) for c in route.calls]
    assert got == ["1", "2", "3", "4", "5"]
    assert [b["startAt"] for b in bodies] == [0, 1, 3]
    assert bodies[0]["jql"].startswith("updated >= 0 ") and "updated >= 1793530800000" in bodies[1]["jql"]
    assert bodies[2]["jql"] == bodies[1]["jql"]  # the whole page shared one millisecond: keep paging inside it
