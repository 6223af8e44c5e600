"""Pull scenarios against the simulator over loopback: full sync, incremental with overlap, same-minute
updates, restarts, deletes, a 429 storm, Data Center windows, status history, check()."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta

import pytest

from collabhub.connector import ConnectorContext
from collabhub.model import EntityKind, StatusCategory
from collabhub.testing.sims.jira import JiraSimulator

SEARCH = "/rest/api/3/search/jql"


async def full_read(kit, sim, **settings):
    connector = kit.connector(sim, **settings)
    pages = await kit.read_pages(connector)
    return connector, pages, kit.last_cursor(pages)


@pytest.mark.parametrize("sim_name", ["cloud_sim", "dc_sim"])
async def test_full_sync_reads_every_issue_once_in_the_minimum_of_calls(request, kit, sim_name):
    sim: JiraSimulator = request.getfixturevalue(sim_name)
    connector, pages, _ = await full_read(kit, sim, page_size=100)
    ids = kit.record_ids(pages)
    assert sorted(ids) == sorted(sim.data.issues) and len(ids) == len(set(ids))
    assert connector.api_calls == math.ceil(len(ids) / 100)
    stream = connector.stream("issues")
    tasks = [t for page in pages for r in page.records for t in stream.normalize(r)]
    assert len(tasks) == 900 and all(t.source.connector == "jira" for t in tasks)
    assert sum(t.confidential for t in tasks) == sum(1 for i in sim.data.issues.values() if i["security"])


async def test_data_center_read_stays_below_the_result_window(kit, dc_sim):
    # dc_sim's window is 300 results and its page cap 100: 900 issues need the moving window
    _, pages, _ = await full_read(kit, dc_sim, page_size=1000)
    assert len(kit.record_ids(pages)) == 900
    assert all(c.status == 200 for c in dc_sim.calls)  # the simulator answers 500 past the window


async def test_no_change_run_makes_one_search_call_and_emits_nothing(kit, cloud_sim):
    connector, _, cursor = await full_read(kit, cloud_sim)
    connector.api_calls = 0
    pages = await kit.read_pages(connector, cursor)
    assert kit.record_ids(pages) == [] and connector.api_calls == 1


async def test_incremental_with_overlap_catches_an_update_the_index_showed_late(kit, cloud_sim):
    connector, _, cursor = await full_read(kit, cloud_sim)
    late, early = sorted(cloud_sim.data.issues)[:2]
    cloud_sim.data.index_lag = True
    cloud_sim.update_issue(cloud_sim.data.issues[late]["key"], summary="changed first, indexed late")
    cloud_sim.update_issue(cloud_sim.data.issues[early]["key"], summary="changed second, indexed at once")
    cloud_sim.data.flush_index([early])
    first = await kit.read_pages(connector, cursor)
    assert kit.record_ids(first) == [early]
    cloud_sim.data.flush_index()
    second = await kit.read_pages(connector, kit.last_cursor(first, cursor))
    assert kit.record_ids(second) == [late]  # inside the overlap window: read again, and only it
    third = await kit.read_pages(connector, kit.last_cursor(second, cursor))
    assert kit.record_ids(third) == []


async def test_issues_updated_in_the_same_minute_as_the_cursor(kit, cloud_sim):
    connector, _, cursor = await full_read(kit, cloud_sim)
    position = cursor["updated"]
    same_ms, next_ms = [i for i in sorted(cloud_sim.data.issues) if i not in cursor["recent"]][:2]
    cloud_sim.update_issue(cloud_sim.data.issues[same_ms]["key"], at_ms=position, summary="same millisecond")
    cloud_sim.update_issue(cloud_sim.data.issues[next_ms]["key"], at_ms=position + 1, summary="one ms later")
    pages = await kit.read_pages(connector, cursor)
    assert sorted(kit.record_ids(pages)) == sorted([same_ms, next_ms])
    again = await kit.read_pages(connector, kit.last_cursor(pages, cursor))
    assert kit.record_ids(again) == []


@pytest.mark.parametrize("sim_name", ["cloud_sim", "dc_sim"])
async def test_restart_after_any_committed_page_loses_and_doubles_nothing(request, kit, sim_name):
    sim: JiraSimulator = request.getfixturevalue(sim_name)
    connector = kit.connector(sim, page_size=250)
    reference = await kit.read_pages(connector)
    expected = kit.record_ids(reference)
    for k in range(1, len(reference)):
        committed = reference[:k]
        resumed = await kit.read_pages(connector, kit.last_cursor(committed))
        got = kit.record_ids(committed) + kit.record_ids(resumed)
        assert sorted(got) == sorted(expected) and len(got) == len(set(got)), f"restart after page {k}"


async def test_deleted_issues_vanish_through_the_periodic_id_sweep(kit, cloud_sim):
    now = datetime(2026, 11, 27, tzinfo=UTC)
    clock = {"now": now}
    context = ConnectorContext(clock=lambda: clock["now"])
    connector = kit.connector(cloud_sim, context=context, sweep_interval_hours=24)
    cursor = kit.last_cursor(await kit.read_pages(connector))
    gone = sorted(cloud_sim.data.issues)[:3]
    for issue_id in gone:
        cloud_sim.delete_issue(cloud_sim.data.issues[issue_id]["key"])
    quiet = await kit.read_pages(connector, cursor)
    assert all(p.sweep is None for p in quiet)  # the full read counted as a sweep
    clock["now"] = now + timedelta(hours=25)
    connector.api_calls = 0
    pages = await kit.read_pages(connector, cursor)
    sweep = pages[-1].sweep
    assert sweep is not None and pages[-1].deleted_kind is EntityKind.TASK
    assert sweep == set(cloud_sim.data.issues) and not set(gone) & sweep
    assert connector.api_calls == 1 + 1  # one incremental search, one id page (900 ids < 5000)
    assert pages[-1].cursor["swept_at"] == clock["now"].timestamp()


async def test_targeted_re_pull_returns_current_issues_and_reports_deleted_ones(kit, cloud_sim):
    connector = kit.connector(cloud_sim)
    keep, drop = sorted(cloud_sim.data.issues)[:2]
    cloud_sim.update_issue(cloud_sim.data.issues[keep]["key"], summary="fresh")
    cloud_sim.delete_issue(cloud_sim.data.issues[drop]["key"])
    pages = [p async for p in connector.stream("issues").fetch([keep, drop])]
    assert [r["fields"]["summary"] for r in pages[0].records] == ["fresh"]
    assert list(pages[0].deleted) == [drop] and pages[0].cursor is None
    assert cloud_sim.count("/rest/api/3/issue/bulkfetch") == 1


async def test_a_429_storm_is_waited_out_and_changes_nothing(kit, cloud_sim):
    cloud_sim.faults.rate_limit(6, retry_after=0.05, path=SEARCH)
    connector, pages, _ = await full_read(kit, cloud_sim, near_limit_pause=0.01, page_size=100,
                                          http={"max_retries": 8, "max_wait": 5})
    assert sorted(kit.record_ids(pages)) == sorted(cloud_sim.data.issues)
    assert connector.api_calls == 9 + 6
    assert sum(1 for c in cloud_sim.calls if c.status == 429) == 6


async def test_done_without_resolution_gets_its_time_from_the_bulk_changelog(kit, cloud_sim):
    connector, _, cursor = await full_read(kit, cloud_sim)
    todo = next(i for i in cloud_sim.data.issues.values() if i["status"] == "To Do")
    for status in ("In Progress", "In Review", "Done"):
        cloud_sim.update_issue(todo["key"], status=status)
    todo["resolutiondate"] = None  # a workflow that never sets a resolution
    pages = await kit.read_pages(connector, cursor)
    [record] = [r for p in pages for r in p.records]
    task = next(iter(connector.stream("issues").normalize(record)))
    assert task.status_category is StatusCategory.DONE
    assert task.completed == datetime.fromtimestamp(todo["history"][-1]["created"] / 1000, UTC)
    assert cloud_sim.count("/rest/api/3/changelog/bulkfetch") == 1


async def test_scope_limits_the_read_to_the_configured_projects(kit, cloud_sim):
    _, pages, _ = await full_read(kit, cloud_sim, projects=["apl"], jql="issuetype = Task")
    keys = {r["key"].split("-")[0] for p in pages for r in p.records}
    assert keys == {"APL"}
    assert len(kit.record_ids(pages)) == sum(1 for i in cloud_sim.data.issues.values()
                                            if i["project"] == "APL" and i["issuetype"] == "Task")


@pytest.mark.parametrize("sim_name", ["cloud_sim", "dc_sim"])
async def test_check_passes_with_the_jira_library(request, kit, sim_name):
    sim: JiraSimulator = request.getfixturevalue(sim_name)
    connector = kit.connector(sim, projects=["APL"])
    result = await connector.check()
    assert result.ok, result.details
    assert any("signed in as collabhub bot" in d for d in result.details)
    assert connector.api_calls >= 5  # library calls count too
    await connector.aclose()


async def test_check_explains_a_wrong_deployment_and_wrong_credentials(kit, dc_sim, cloud_sim):
    wrong_kind = kit.connector(dc_sim, deployment="cloud", email="a@b.c", api_token="x")
    result = await wrong_kind.check()
    assert not result.ok and "set deployment: datacenter" in result.details[-1]
    bad_token = kit.connector(cloud_sim, api_token="not-the-token")
    result = await bad_token.check()
    assert not result.ok and "401" in result.details[-1]


async def test_stopping_after_a_page_cancels_the_read_ahead(kit, cloud_sim):
    connector = kit.connector(cloud_sim, page_size=100)
    pages = connector.stream("issues").read(None)
    first = await anext(pages)
    await pages.aclose()
    assert len(first.records) == 100 and connector.api_calls <= 2  # the page in hand and at most one ahead
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
