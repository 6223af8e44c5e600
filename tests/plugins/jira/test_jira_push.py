"""Writers against the simulator: one status comment edited in place, labels, transitions (allowed and
forbidden), idempotent creates (also after a timeout), echo fingerprints, per-issue pacing."""

from __future__ import annotations

import pytest

from collabhub.connector import Delivery
from collabhub.errors import DeliveryError, WorkflowError
from collabhub.model import EntityKind, Link, echo_fingerprint
from collabhub_jira.pacing import IssueWritePacer


def todo_issue(sim):
    return next(i for i in sorted(sim.data.issues.values(), key=lambda i: int(i["id"])) if i["status"] == "To Do")


def link_for(result, channel: str) -> Link:
    return Link(entity_connector="hub", entity_kind=EntityKind.TASK, entity_external_id="e1", target_connector="jira",
                channel=channel, target_external_id=result.external_id)


async def pulled_fingerprint(connector, sim, key: str) -> str:
    issue = sim.issue(key)
    pages = [p async for p in connector.stream("issues").fetch([issue["id"]])]
    task = next(iter(connector.stream("issues").normalize(pages[0].records[0])))
    return echo_fingerprint(task)


async def test_status_comment_is_created_once_then_edited_in_place(kit, cloud_sim):
    connector = kit.connector(cloud_sim)
    writer = connector.writers()["comment"]
    issue = todo_issue(cloud_sim)
    first = await writer.deliver(Delivery("k1", "comment", {"issue": issue["key"]}, {"body": "进度：按计划"}))
    again = await writer.deliver(Delivery("k2", "comment", {"issue": issue["key"]}, {"body": "进度：延期一天"}))
    linked = await writer.deliver(Delivery("k3", "comment", {"issue": issue["key"]}, {"body": "Status: done"},
                                           link=link_for(first, "comment")))
    assert first.external_id == again.external_id == linked.external_id
    assert len(issue["comments"]) == 1
    assert issue["comments"][0]["body"] == "Status: done\n[collabhub status]"
    assert issue["properties"]["collabhub.status-comment"] == {"commentId": first.external_id}


async def test_status_comment_found_by_its_marker_after_a_crash_before_the_property(kit, cloud_sim):
    connector = kit.connector(cloud_sim)
    writer = connector.writers()["comment"]
    issue = todo_issue(cloud_sim)
    first = await writer.deliver(Delivery("k1", "comment", {"issue": issue["key"]}, {"body": "v1"}))
    del issue["properties"]["collabhub.status-comment"]  # as if the process died right after the POST
    second = await writer.deliver(Delivery("k1", "comment", {"issue": issue["key"]}, {"body": "v2"}))
    assert second.external_id == first.external_id and len(issue["comments"]) == 1


async def test_status_comment_deleted_by_a_user_is_made_again(kit, cloud_sim):
    connector = kit.connector(cloud_sim)
    writer = connector.writers()["comment"]
    issue = todo_issue(cloud_sim)
    first = await writer.deliver(Delivery("k1", "comment", {"issue": issue["key"]}, {"body": "v1"}))
    issue["comments"].clear()
    second = await writer.deliver(Delivery("k2", "comment", {"issue": issue["key"]}, {"body": "v2"},
                                           link=link_for(first, "comment")))
    assert second.external_id != first.external_id and len(issue["comments"]) == 1


async def test_data_center_comment_body_is_plain_text(kit, dc_sim):
    connector = kit.connector(dc_sim)
    issue = todo_issue(dc_sim)
    await connector.writers()["comment"].deliver(Delivery("k", "comment", {"issue": issue["key"]}, {"body": "DC"}))
    assert issue["comments"][0]["body"] == "DC\n[collabhub status]"


async def test_labels_are_added_and_removed_idempotently(kit, cloud_sim):
    connector = kit.connector(cloud_sim)
    writer = connector.writers()["labels"]
    issue = todo_issue(cloud_sim)
    issue["labels"] = ["budget"]
    delivery = Delivery("k", "labels", {"issue": issue["key"]}, {"add": ["cross-dept", "hub-synced"],
                                                                  "remove": ["budget"]})
    await writer.deliver(delivery)
    updated = issue["updated"]
    await writer.deliver(delivery)
    assert issue["labels"] == ["cross-dept", "hub-synced"] and issue["updated"] == updated
    with pytest.raises(DeliveryError, match="spaces"):
        await writer.deliver(Delivery("k2", "labels", {"issue": issue["key"]}, {"add": ["two words"]}))


async def test_transition_by_status_name_then_nothing_on_retry(kit, cloud_sim):
    connector = kit.connector(cloud_sim)
    writer = connector.writers()["transition"]
    issue = todo_issue(cloud_sim)
    delivery = Delivery("k", "transition", {"issue": issue["key"]}, {"status": "in progress"})
    first = await writer.deliver(delivery)
    second = await writer.deliver(delivery)
    assert issue["status"] == "In Progress" and len(issue["history"]) == 1
    assert second.detail == {"unchanged": True}
    assert first.fingerprint == second.fingerprint == await pulled_fingerprint(connector, cloud_sim, issue["key"])


async def test_forbidden_transition_is_a_clear_error_and_changes_nothing(kit, cloud_sim):
    connector = kit.connector(cloud_sim)
    issue = todo_issue(cloud_sim)
    before = dict(issue, history=list(issue["history"]))
    with pytest.raises(WorkflowError) as caught:
        await connector.writers()["transition"].deliver(
            Delivery("k", "transition", {"issue": issue["key"]}, {"status": "Done"}))
    assert "cannot move from 'To Do' to 'Done'" in str(caught.value)
    assert "Start progress -> In Progress" in str(caught.value)
    assert caught.value.retryable is False
    assert issue["status"] == before["status"] and issue["updated"] == before["updated"]
    assert issue["history"] == before["history"]
    assert cloud_sim.count(f"/rest/api/3/issue/{issue['key']}/transitions", method="POST") == 0


async def test_created_issue_is_made_once_and_fingerprinted_like_a_pull(kit, cloud_sim):
    connector = kit.connector(cloud_sim)
    writer = connector.writers()["task"]
    delivery = Delivery("meeting-42:action-3", "task", {"project": "APL", "issuetype": "Task"},
                        {"title": "Send the budget deck", "description": "来自月度协调会\nowner: finance",
                         "due": "2026-12-01", "labels": ["action-item"], "status_category": "todo"})
    first = await writer.deliver(delivery)
    retried = await writer.deliver(delivery)
    assert first.external_id == retried.external_id and first.detail["created"] and not retried.detail["created"]
    created = cloud_sim.issue(first.detail["key"])
    assert created["properties"]["collabhub.delivery"] == {"key": "meeting-42:action-3"}
    assert created["description"] == "来自月度协调会\nowner: finance" and created["duedate"] == "2026-12-01"
    assert first.fingerprint == await pulled_fingerprint(connector, cloud_sim, created["key"])
    pages = [p async for p in connector.stream("issues").fetch([created["id"]])]
    task = next(iter(connector.stream("issues").normalize(pages[0].records[0])))
    assert task.labels == ["action-item"]  # the marker label stays out of the unified task


@pytest.mark.parametrize("sim_name", ["cloud_sim", "dc_sim"])
async def test_create_retried_after_a_timeout_makes_no_duplicate(request, kit, sim_name):
    sim = request.getfixturevalue(sim_name)
    connector = kit.connector(sim, http={"timeout": 0.5, "max_retries": 2, "max_wait": 1})
    writer = connector.writers()["task"]
    sim.respond_late(r"/rest/api/\d/issue$", seconds=1.5)  # created, but the answer comes too late
    before = sim.issue_count()
    delivery = Delivery("timeout-key", "task", {"project": "HRM"}, {"title": "Confirm the room"})
    first = await writer.deliver(delivery)
    second = await writer.deliver(delivery)
    assert sim.issue_count() == before + 1
    assert first.external_id == second.external_id
    assert sim.count(r"/rest/api/\d/issue$", method="POST", regex=True) == 1


async def test_update_through_the_link_edits_the_created_issue(kit, cloud_sim):
    connector = kit.connector(cloud_sim)
    writer = connector.writers()["task"]
    first = await writer.deliver(Delivery("k", "task", {"project": "ATH"}, {"title": "Draft plan"}))
    second = await writer.deliver(Delivery("k", "task", {"project": "ATH"}, {"title": "Draft plan v2"},
                                           link=link_for(first, "task")))
    assert second.external_id == first.external_id
    assert cloud_sim.data.issues[first.external_id]["summary"] == "Draft plan v2"


async def test_create_with_a_bad_field_is_not_retried(kit, cloud_sim):
    connector = kit.connector(cloud_sim)
    with pytest.raises(DeliveryError) as caught:
        await connector.writers()["task"].deliver(Delivery("k", "task", {"project": "NOPE"}, {"title": "x"}))
    assert caught.value.retryable is False and "project" in str(caught.value)


async def test_mirrored_task_follows_the_neutral_channel_contract(kit, cloud_sim):
    connector = kit.connector(cloud_sim)
    writer = connector.writers()["task"]
    person = next(p for p in cloud_sim.company.people if p.email_visible_in_jira)
    hidden = next(p for p in cloud_sim.company.people if not p.email_visible_in_jira)
    target = {"project": "APL", "assignee": {"email": person.email.upper()}}
    content = {"title": "Milestone: launch review", "description": "**Status**: on track",
               "due": "2026-12-05T10:00:00+08:00", "status_category": "in_progress",
               "labels": ["collabhub", "milestone"]}
    first = await writer.deliver(Delivery("mirror-1", "task", target, content))
    issue = cloud_sim.issue(first.detail["key"])
    assert issue["assignee"] == person.jira_account_id and issue["status"] == "In Progress"
    assert issue["duedate"] == "2026-12-05" and {"collabhub", "milestone"} <= set(issue["labels"])
    done = await writer.deliver(Delivery("mirror-1", "task", target, {**content, "status_category": "done"},
                                         link=link_for(first, "task")))
    assert issue["status"] == "Done" and done.detail["transitions"] == ["Request review", "Approve"]
    assert done.fingerprint == await pulled_fingerprint(connector, cloud_sim, issue["key"])
    unassigned = await writer.deliver(Delivery("mirror-2", "task", {"project": "APL", "assignee": {
        "email": hidden.email}}, {"title": "hidden email"}))
    assert cloud_sim.issue(unassigned.detail["key"])["assignee"] in (None, hidden.jira_account_id)


def test_pacer_keeps_writes_to_one_issue_below_the_per_issue_limit():
    now = [100.0]
    pacer = IssueWritePacer(clock=lambda: now[0])
    for _ in range(20):
        assert pacer.delay("APL-1") == 0
        pacer._log["APL-1"].append(now[0])
    assert pacer.delay("APL-1") == pytest.approx(2.0)
    assert pacer.delay("APL-2") == 0
    now[0] += 2.0
    assert pacer.delay("APL-1") == 0
