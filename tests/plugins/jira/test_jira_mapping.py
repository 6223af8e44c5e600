"""Raw Jira issues (Cloud v3 and Data Center v2 shapes) to unified tasks; ADF; the cursor; the JQL."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime

import pytest

from collabhub.errors import MappingError
from collabhub.model import StatusCategory
from collabhub_jira import jql
from collabhub_jira.adf import adf_to_text, text_to_adf
from collabhub_jira.cursor import MAX_RECENT, IssueCursor
from collabhub_jira.mapping import MAPPED_FIELDS, IssueMapper, updated_ms

CLOUD_ISSUE = {
    "expand": "renderedFields,names,schema,operations,editmeta,changelog",
    "id": "10042",
    "self": "https://acme.atlassian.net/rest/api/3/issue/10042",
    "key": "APL-17",
    "fields": {
        "summary": "Prepare monthly coordination minutes",
        "description": {"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "Collect "},
                                              {"type": "mention", "attrs": {"id": "5b10ac", "text": "@Wei Wang"}}]},
            {"type": "bulletList", "content": [
                {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": word}]}]}
                for word in ("risks", "asks")]}]},
        "status": {"self": "https://acme.atlassian.net/rest/api/3/status/10002", "name": "Done", "id": "10002",
                   "statusCategory": {"id": 3, "key": "done", "colorName": "green", "name": "Done"}},
        "assignee": {"accountId": "5b10a2844c20165700ede21g", "displayName": "王伟", "active": True,
                     "emailAddress": "wei.wang001@example.com", "timeZone": "Asia/Shanghai"},
        "reporter": {"accountId": "5b10ac8d82e05b22cc7d4ef5", "displayName": "Mia Krystof", "active": True},
        "project": {"id": "11000", "key": "APL", "name": "Apollo 新品发布", "projectTypeKey": "software"},
        "labels": ["cross-dept", "milestone", "collabhub-0123456789abcdef"],
        "priority": {"name": "High", "id": "2"},
        "duedate": "2026-11-20",
        "parent": {"id": "10001", "key": "APL-1", "fields": {"summary": "Launch"}},
        "components": [{"id": "10500", "name": "Logistics"}],
        "security": {"id": "10100", "name": "Confidential", "description": "Only the project team"},
        "created": "2026-11-02T09:00:00.000+0800",
        "updated": "2026-11-05T17:30:12.345+0800",
        "resolutiondate": "2026-11-05T17:30:12.345+0800",
        "issuetype": {"id": "10001", "name": "Task", "subtask": False},
    },
}

DC_ISSUE = {
    "id": "20001", "key": "OPS-3",
    "fields": {
        "summary": "Book the large room", "description": "line one\nline two",
        "status": {"name": "In Review", "id": "10001", "statusCategory": {"id": 4, "key": "indeterminate"}},
        "assignee": {"name": "li.na", "key": "JIRAUSER10002", "displayName": "李娜", "emailAddress": "na.li@corp.cn"},
        "reporter": None, "project": {"key": "OPS"}, "labels": [], "priority": None, "duedate": None,
        "components": [], "security": None, "created": "2026-11-01T10:00:00.000+0000",
        "updated": "2026-11-01T10:05:00.000+0000", "resolutiondate": None, "issuetype": {"name": "Milestone"},
        "customfield_10008": "OPS-1",
    },
}


def mapper(**kw) -> IssueMapper:
    return IssueMapper("jira", "https://acme.atlassian.net", marker_label_prefix="collabhub-", **kw)


def test_cloud_issue_maps_every_field():
    task = mapper().task(CLOUD_ISSUE)
    assert task.source.external_id == "10042" and task.source.url == "https://acme.atlassian.net/browse/APL-17"
    assert task.title == "Prepare monthly coordination minutes"
    assert task.description == "Collect @Wei Wang\n- risks\n- asks"
    assert (task.status, task.status_category) == ("Done", StatusCategory.DONE)
    assert task.assignee.external_id == "5b10a2844c20165700ede21g"
    assert task.assignee.email == "wei.wang001@example.com"
    assert task.reporter.email is None  # hidden by the user's profile visibility
    assert (task.department, task.project) == ("APL", "APL")
    assert task.labels == ["cross-dept", "milestone"]  # the hub's own marker label is not a user label
    assert task.priority == "High" and task.due == date(2026, 11, 20)
    assert task.parent == "APL-1" and task.components == ["Logistics"]
    assert task.confidential is True and task.extra["security_level"] == "Confidential"
    assert task.is_milestone is True
    assert task.updated == datetime(2026, 11, 5, 9, 30, 12, 345000, tzinfo=UTC)
    assert task.completed == task.updated


def test_data_center_issue_uses_user_key_and_epic_link():
    task = mapper(epic_link_field="customfield_10008").task(DC_ISSUE)
    assert task.assignee.external_id == "JIRAUSER10002" and task.assignee.email == "na.li@corp.cn"
    assert task.description == "line one\nline two"
    assert task.status_category is StatusCategory.IN_PROGRESS
    assert task.parent == "OPS-1" and task.is_milestone and not task.confidential
    assert task.reporter is None and task.completed is None


@pytest.mark.parametrize(("key", "category"), [("new", StatusCategory.TODO), ("indeterminate",
                                                StatusCategory.IN_PROGRESS), ("done", StatusCategory.DONE)])
def test_status_categories(key, category):
    raw = copy.deepcopy(DC_ISSUE)
    raw["fields"]["status"]["statusCategory"]["key"] = key
    assert mapper().task(raw).status_category is category


def test_done_without_resolution_takes_the_time_from_the_changelog():
    raw = copy.deepcopy(CLOUD_ISSUE)
    raw["fields"]["resolutiondate"] = None
    raw["changelog"] = {"histories": [
        {"id": "1", "created": 1793000000000, "items": [{"field": "status", "fieldId": "status", "to": "3"}]},
        {"id": "2", "created": 1793500000000, "items": [{"field": "status", "fieldId": "status", "to": "10002"}]},
    ]}
    assert mapper().task(raw).completed == datetime.fromtimestamp(1793500000, UTC)


@pytest.mark.parametrize("breakage", ["summary", "status", "updated_naive"])
def test_bad_records_raise_mapping_error(breakage):
    raw = copy.deepcopy(CLOUD_ISSUE)
    if breakage == "summary":
        raw["fields"]["summary"] = ""
    elif breakage == "status":
        raw["fields"]["status"]["statusCategory"]["key"] = "weird"
    else:
        raw["fields"]["updated"] = "2026-11-05T17:30:12"
    with pytest.raises(MappingError, match=r"APL-17|2026-11-05"):
        mapper().task(raw)


def test_fields_asked_for_are_the_mapped_ones_never_all():
    assert mapper().fields() == list(MAPPED_FIELDS)
    assert "*all" not in MAPPED_FIELDS and "*navigable" not in MAPPED_FIELDS
    assert mapper(epic_link_field="customfield_10008").fields()[-1] == "customfield_10008"


@pytest.mark.parametrize("text", ["one line", "a\nb", "a\n\nb\n", "", "中文 说明"])
def test_adf_round_trip(text):
    assert adf_to_text(text_to_adf(text)) == text


def test_updated_ms_reads_the_offset():
    assert updated_ms(CLOUD_ISSUE) == int(datetime(2026, 11, 5, 9, 30, 12, 345000, tzinfo=UTC).timestamp() * 1000)


# -- JQL ------------------------------------------------------------------------------------


def test_jql_uses_epoch_milliseconds_and_a_stable_order():
    text = jql.window(jql.scope(["APL", "HRM"], "issuetype != Sub-task"), 1793000000123)
    assert text == ('(project in ("APL", "HRM") AND (issuetype != Sub-task)) AND updated >= 1793000000123 '
                    "ORDER BY updated ASC, key ASC")


def test_jql_quotes_values():
    assert jql.quote('a "b" \\c') == '"a \\"b\\" \\\\c"'
    assert jql.window(None, 5) == "updated >= 5 ORDER BY updated ASC, key ASC"


# -- cursor ---------------------------------------------------------------------------------


def test_cursor_skips_only_the_exact_version_already_emitted():
    cursor = IssueCursor()
    cursor.advance("1", 1000, "APL-1", overlap_ms=120_000)
    cursor.advance("2", 1000, "APL-2", overlap_ms=120_000)
    assert (cursor.updated, cursor.key) == (1000, "APL-2")
    assert cursor.seen("1", 1000) and not cursor.seen("1", 1001) and not cursor.seen("3", 1000)
    restored = IssueCursor.load(cursor.dump())
    assert restored == cursor
    assert restored.lower_bound(120_000, floor_ms=0) == 0
    assert IssueCursor(updated=500_000).lower_bound(120_000, floor_ms=0) == 380_000


def test_cursor_key_order_is_numeric_within_the_same_millisecond():
    cursor = IssueCursor()
    cursor.advance("9", 7, "APL-9", overlap_ms=0)
    cursor.advance("10", 7, "APL-10", overlap_ms=0)
    assert cursor.key == "APL-10"


def test_cursor_forgets_what_left_the_overlap_window_and_stays_bounded():
    cursor = IssueCursor()
    cursor.advance("old", 1_000, "A-1", overlap_ms=60_000)
    cursor.advance("new", 100_000, "A-2", overlap_ms=60_000)
    assert set(cursor.recent) == {"new"}
    for n in range(MAX_RECENT + 50):
        cursor.advance(str(n), 200_000, f"B-{n}", overlap_ms=60_000)
    assert len(cursor.recent) <= MAX_RECENT
