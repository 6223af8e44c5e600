"""The Jira simulator behaves like the service where the connector depends on it."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from collabhub.testing.company import generate_company
from collabhub.testing.sims.jira import JiraSimulator, sign

AUTH = ("collabhub-bot@example.com", "sim-api-token")


@pytest.fixture
def api(cloud_sim):
    with httpx.Client(base_url=cloud_sim.base_url, auth=AUTH) as client:
        yield client


@pytest.fixture
def dc_api(dc_sim):
    with httpx.Client(base_url=dc_sim.base_url, headers={"Authorization": "Bearer sim-personal-access-token"}) as c:
        yield c


def search(api, jql: str, **params):
    return api.post("/rest/api/3/search/jql", json={"jql": jql, **params})


def test_old_search_is_gone_on_cloud(api):
    response = api.get("/rest/api/3/search", params={"jql": "project = APL"})
    assert response.status_code == 410 and "/rest/api/3/search/jql" in response.json()["errorMessages"][0]


def test_enhanced_search_refuses_unbounded_jql(api):
    response = search(api, "ORDER BY updated ASC")
    assert response.status_code == 400 and "Unbounded JQL" in response.json()["errorMessages"][0]
    assert search(api, "project = APL ORDER BY updated").status_code == 200


def test_default_fields_are_id_only_and_pages_chain_until_is_last(api, cloud_sim):
    seen, token, calls = [], None, 0
    while True:
        body = search(api, "project in (APL, HRM) ORDER BY updated ASC, key ASC", maxResults=100,
                      **({"nextPageToken": token} if token else {})).json()
        calls += 1
        assert set(body["issues"][0]) == {"expand", "id", "self"} and "total" not in body
        seen += [i["id"] for i in body["issues"]]
        if body["isLast"]:
            assert "nextPageToken" not in body
            break
        token = body["nextPageToken"]
    expected = [i for i in cloud_sim.data.issues.values() if i["project"] in ("APL", "HRM")]
    assert sorted(seen) == sorted(i["id"] for i in expected) and calls == -(-len(expected) // 100)


def test_page_size_is_capped_by_what_is_asked_for(api):
    many_fields = search(api, "updated >= 946684800000", maxResults=5000, fields=["summary", "status"]).json()
    ids_only = search(api, "updated >= 946684800000", maxResults=5000, fields=["id"]).json()
    assert len(many_fields["issues"]) == 100 and len(ids_only["issues"]) == 900


def test_a_token_from_another_query_is_refused(api):
    token = search(api, "project = APL", maxResults=1).json()["nextPageToken"]
    assert search(api, "project = HRM", nextPageToken=token).status_code == 400


def test_zone_less_dates_are_read_in_the_users_time_zone(api, cloud_sim):
    issue = next(iter(cloud_sim.data.issues.values()))
    moment = datetime.fromtimestamp(issue["updated"] / 1000, ZoneInfo("Asia/Shanghai"))
    local = moment.strftime("%Y-%m-%d %H:%M")
    as_utc = datetime.fromtimestamp(issue["updated"] / 1000, ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M")
    epoch = issue["updated"] - issue["updated"] % 60000

    def hits(value: str) -> bool:
        ids = [i["id"] for i in search(api, f'key = {issue["key"]} AND updated >= {value}', fields=["id"]).json()
               ["issues"]]
        return issue["id"] in ids

    later = (moment.replace(second=0, microsecond=0) + timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M")
    assert hits(f'"{local}"') and not hits(f'"{later}"') and hits(str(epoch))
    # a UTC wall-clock string without a zone is read 8 hours early here: it re-reads 8 hours of issues
    earlier = datetime.strptime(as_utc, "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo("Asia/Shanghai"))
    assert hits(f'"{as_utc}"') and issue["updated"] - earlier.timestamp() * 1000 >= 8 * 3600 * 1000


def test_unknown_field_is_a_jira_400(api):
    response = search(api, "sprintx = 3")
    assert response.status_code == 400
    assert response.json()["errorMessages"] == ["Field 'sprintx' does not exist or you do not have permission to "
                                                "view it."]


def test_data_center_search_has_start_at_total_and_a_result_window(dc_api):
    body = dc_api.post("/rest/api/2/search", json={"jql": "updated >= 946684800000", "startAt": 10, "maxResults": 5000,
                                                   "fields": ["summary"]}).json()
    assert (body["startAt"], body["maxResults"]) == (10, 100) and body["total"] > 100
    assert isinstance(body["issues"][0]["fields"]["summary"], str)
    too_deep = dc_api.post("/rest/api/2/search", json={"jql": "project = APL", "startAt": 250, "maxResults": 100})
    assert too_deep.status_code == 500 and "Search limit exceeded" in too_deep.json()["errorMessages"][0]
    assert dc_api.post("/rest/api/3/search/jql", json={"jql": "project = APL"}).status_code == 404


def test_wrong_credentials_are_401(cloud_sim):
    response = httpx.get(f"{cloud_sim.base_url}/rest/api/3/myself", auth=("collabhub-bot@example.com", "nope"))
    assert response.status_code == 401


def test_v3_wants_documents_v2_wants_strings(api):
    plain = api.post("/rest/api/3/issue", json={"fields": {"project": {"key": "APL"}, "summary": "x",
                                                           "issuetype": {"name": "Task"}, "description": "text"}})
    assert plain.status_code == 400 and "Atlassian Document" in str(plain.json()["errors"])
    created = api.post("/rest/api/2/issue", json={"fields": {"project": {"key": "APL"}, "summary": "x",
                                                             "issuetype": {"name": "Task"}, "description": "text"}})
    assert created.status_code == 201
    fetched = api.get(f"/rest/api/3/issue/{created.json()['key']}", params={"fields": "description"}).json()
    assert fetched["fields"]["description"]["type"] == "doc"


def test_transitions_follow_the_workflow(api, cloud_sim):
    issue = next(i for i in cloud_sim.data.issues.values() if i["status"] == "To Do")
    offered = api.get(f"/rest/api/3/issue/{issue['key']}/transitions").json()["transitions"]
    assert [(t["id"], t["to"]["name"]) for t in offered] == [("11", "In Progress")]
    refused = api.post(f"/rest/api/3/issue/{issue['key']}/transitions", json={"transition": {"id": "31"}})
    assert refused.status_code == 400 and issue["status"] == "To Do"
    assert api.post(f"/rest/api/3/issue/{issue['key']}/transitions",
                    json={"transition": {"id": "11"}}).status_code == 204
    assert issue["status"] == "In Progress"


def test_issue_properties(api, cloud_sim):
    key = next(iter(cloud_sim.data.issues.values()))["key"]
    url = f"/rest/api/3/issue/{key}/properties/collabhub.x"
    assert api.get(url).status_code == 404
    assert api.put(url, json={"a": 1}).status_code == 201
    assert api.put(url, json={"a": 2}).status_code == 200
    assert api.get(url).json() == {"key": "collabhub.x", "value": {"a": 2}}


def test_per_issue_write_limit_answers_429_with_the_reason(api, cloud_sim):
    key = next(iter(cloud_sim.data.issues.values()))["key"]
    answers = [api.put(f"/rest/api/3/issue/{key}", json={"update": {"labels": [{"add": f"l{n}"}]}}) for n in range(21)]
    assert [a.status_code for a in answers[:20]] == [204] * 20
    assert answers[20].status_code == 429
    assert answers[20].headers["RateLimit-Reason"] == "jira-per-issue-on-write" and answers[20].headers["Retry-After"]


def test_rate_limit_fault_speaks_jiras_headers(api, cloud_sim):
    cloud_sim.faults.rate_limit(1, retry_after=2)
    limited = search(api, "project = APL")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "2" and "X-RateLimit-Reset" in limited.headers
    assert limited.headers["RateLimit-Reason"] == "jira-burst-based"
    assert search(api, "project = APL").status_code == 200


def test_changelog_bulkfetch_pages_status_changes(api, cloud_sim):
    issue = next(i for i in cloud_sim.data.issues.values() if i["status"] == "To Do")
    cloud_sim.update_issue(issue["key"], status="In Progress")
    body = api.post("/rest/api/3/changelog/bulkfetch", json={"issueIdsOrKeys": [issue["id"]],
                                                             "fieldIds": ["status"]}).json()
    [entry] = body["issueChangeLogs"]
    assert entry["issueId"] == issue["id"] and isinstance(entry["changeHistories"][0]["created"], int)
    assert entry["changeHistories"][0]["items"][0]["toString"] == "In Progress"
    too_many = api.post("/rest/api/3/changelog/bulkfetch", json={"issueIdsOrKeys": [str(i) for i in range(1001)]})
    assert too_many.status_code == 400


def test_webhook_deliveries_are_signed(cloud_sim):
    cloud_sim.update_issue(next(iter(cloud_sim.data.issues.values()))["key"], summary="x")
    event = cloud_sim.events[-1]
    headers = event.headers("secret")
    assert headers["X-Hub-Signature"] == sign(event.body(), "secret")
    assert headers["X-Atlassian-Webhook-Identifier"] == event.headers("secret", retry=1)[
        "X-Atlassian-Webhook-Identifier"]


def test_holds_100k_issues_and_answers_a_page_quickly():
    company = generate_company(tasks=100_000, task_systems=("jira",))
    started = time.perf_counter()
    sim = JiraSimulator(company)
    seeded = time.perf_counter() - started
    with sim, httpx.Client(base_url=sim.base_url, auth=AUTH) as client:
        started = time.perf_counter()
        body = client.post("/rest/api/3/search/jql", json={
            "jql": "updated >= 1700000000000 ORDER BY updated ASC, key ASC", "maxResults": 100,
            "fields": ["summary", "status", "updated"]}).json()
        first_page = time.perf_counter() - started
    assert sim.issue_count() == 100_000 and len(body["issues"]) == 100
    print(f"\nseeded 100k issues in {seeded:.2f}s; first search page in {first_page * 1000:.1f} ms")
