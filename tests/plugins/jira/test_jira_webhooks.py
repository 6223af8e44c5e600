"""The webhook receiver: signature, dedup on the webhook identifier, events into re-pulls and deletes."""

from __future__ import annotations

import json

import httpx

from collabhub.model import EntityKind
from collabhub_jira.crypto import sign, verify

ISSUE_UPDATED = {
    "timestamp": 1793000000000, "webhookEvent": "jira:issue_updated", "issue_event_type_name": "issue_generic",
    "user": {"accountId": "5b10ac8d82e05b22cc7d4ef5", "displayName": "Mia Krystof"},
    "issue": {"id": "10042", "key": "APL-17", "self": "https://acme.atlassian.net/rest/api/2/issue/10042",
              "fields": {"summary": "Prepare minutes", "project": {"key": "APL"}}},
    "changelog": {"id": "10400", "items": [{"field": "status", "fieldtype": "jira", "fieldId": "status",
                                            "from": "10000", "fromString": "To Do", "to": "3",
                                            "toString": "In Progress"}]},
}


def client_for(kit, sim, sink, **settings) -> httpx.AsyncClient:
    app = kit.connector(sim, **settings).webhook_app(sink)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub")


def signed(payload: dict, secret: str, identifier: str = "wh-1") -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    return body, {"X-Hub-Signature": sign(body, secret), "X-Atlassian-Webhook-Identifier": identifier,
                  "Content-Type": "application/json"}


def test_signature_is_hmac_sha256_over_the_raw_body():
    body = b'{"webhookEvent":"jira:issue_updated"}'
    header = sign(body, "s3cret")
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert verify(body, header, "s3cret")
    assert not verify(body + b" ", header, "s3cret")
    assert not verify(body, header, "other")
    assert not verify(body, None, "s3cret") and not verify(body, header[7:], "s3cret")


async def test_update_queues_a_refresh_and_a_retry_is_dropped(kit, cloud_sim, sink):
    body, headers = signed(ISSUE_UPDATED, kit.secret)
    async with client_for(kit, cloud_sim, sink) as client:
        first = await client.post("/", content=body, headers=headers)
        retry = await client.post("/", content=body, headers={**headers, "X-Atlassian-Webhook-Retry": "1"})
    assert (first.status_code, retry.status_code) == (202, 200)
    assert sink.refreshes == [("jira", EntityKind.TASK, ["10042"])]
    assert retry.json() == {"status": "duplicate"}


async def test_bad_or_missing_signature_gets_401_and_records_nothing(kit, cloud_sim, sink):
    body, headers = signed(ISSUE_UPDATED, "not-the-secret")
    async with client_for(kit, cloud_sim, sink) as client:
        wrong = await client.post("/", content=body, headers=headers)
        missing = await client.post("/", content=body, headers={"X-Atlassian-Webhook-Identifier": "wh-2"})
        tampered = await client.post("/", content=body.replace(b"APL-17", b"APL-18"),
                                     headers=signed(ISSUE_UPDATED, kit.secret)[1])
    assert wrong.status_code == missing.status_code == tampered.status_code == 401
    assert sink.recorded == 0


async def test_delete_marks_the_issue_deleted(kit, cloud_sim, sink):
    payload = {**ISSUE_UPDATED, "webhookEvent": "jira:issue_deleted", "issue_event_type_name": "issue_deleted"}
    body, headers = signed(payload, kit.secret)
    async with client_for(kit, cloud_sim, sink) as client:
        response = await client.post("/", content=body, headers=headers)
    assert response.status_code == 202
    assert sink.deleted == [("jira", EntityKind.TASK, ["10042"])] and sink.refreshes == []


async def test_other_projects_are_ignored_unless_the_issue_moved(kit, cloud_sim, sink):
    moved = {**ISSUE_UPDATED, "changelog": {"items": [{"field": "project", "fieldId": "project"}]}}
    async with client_for(kit, cloud_sim, sink, projects=["HRM"]) as client:
        ignored = await client.post("/", content=signed(ISSUE_UPDATED, kit.secret, "a")[0],
                                    headers=signed(ISSUE_UPDATED, kit.secret, "a")[1])
        body, headers = signed(moved, kit.secret, "b")
        refreshed = await client.post("/", content=body, headers=headers)
    assert ignored.json() == {"status": "out of scope"}
    assert refreshed.status_code == 202 and sink.refreshes == [("jira", EntityKind.TASK, ["10042"])]


async def test_other_events_are_kept_for_the_rules(kit, cloud_sim, sink):
    payload = {"timestamp": 1, "webhookEvent": "project_updated", "project": {"key": "APL"}}
    body, headers = signed(payload, kit.secret)
    async with client_for(kit, cloud_sim, sink) as client:
        response = await client.post("/", content=body, headers=headers)
    assert response.status_code == 202 and sink.events[0][1] == "project_updated"


async def test_not_json_or_not_post(kit, cloud_sim, sink):
    body = b"not json"
    async with client_for(kit, cloud_sim, sink) as client:
        bad = await client.post("/", content=body, headers={"X-Hub-Signature": sign(body, kit.secret)})
        get = await client.get("/")
    assert (bad.status_code, get.status_code) == (400, 405) and sink.recorded == 0


def test_no_secret_means_no_endpoint(kit, cloud_sim, sink):
    settings = {"webhook_secret": None}
    assert kit.connector(cloud_sim, **settings).webhook_app(sink) is None


async def test_simulator_deliveries_over_loopback_end_to_end(kit, cloud_sim, sink):
    connector = kit.connector(cloud_sim)
    with kit.serve(connector.webhook_app(sink)) as url:
        cloud_sim.add_webhook(url, kit.secret)
        issue = next(iter(cloud_sim.data.issues.values()))
        cloud_sim.update_issue(issue["key"], summary="renamed in Jira")
        cloud_sim.delete_issue(sorted(cloud_sim.data.issues)[-1])
        answers = cloud_sim.deliver_webhooks(duplicate=True)  # Jira retries: same identifier twice
        assert [r.status_code for r in answers] == [202, 200, 202, 200]
        cloud_sim.update_issue(issue["key"], summary="forged")
        forged = cloud_sim.deliver_webhooks(secret_override="attacker")
        assert [r.status_code for r in forged] == [401]
    assert sink.refreshes == [("jira", EntityKind.TASK, [issue["id"]])]
    assert len(sink.deleted) == 1 and len(sink.seen) == 2
    pages = [p async for p in connector.stream("issues").fetch(sink.refreshes[0][2])]
    assert pages[0].records[0]["fields"]["summary"] == "forged"  # the re-pull reads the current issue
