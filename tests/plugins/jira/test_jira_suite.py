"""The Jira connector passes the standard connector suite against the Cloud simulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from collabhub.connector import Delivery
from collabhub.testing.company import generate_company
from collabhub.testing.sims.jira import JiraSimulator
from collabhub.testing.suite import ConnectorSuite, SuiteHarness
from collabhub_jira.connector import JiraConnector


def jira_harness(tmp_path: Path) -> Iterator[SuiteHarness]:
    """The standard suite's harness: a Cloud simulator and small pages, so a run spans several pages."""
    with JiraSimulator(generate_company(tasks=300, task_systems=("jira",))) as sim:
        issues = sorted(sim.data.issues.values(), key=lambda i: int(i["id"]))
        first = issues[0]
        todo = next(i for i in issues if i["status"] == "To Do")
        yield SuiteHarness(
            JiraConnector, sim.connector_settings(page_size=40), simulator=sim,
            sample_deliveries={
                "comment": Delivery("suite-comment", "comment", {"issue": first["key"]}, {"body": "status: on track"}),
                "labels": Delivery("suite-labels", "labels", {"issue": first["key"]}, {"add": ["cross-dept"]}),
                "transition": Delivery("suite-transition", "transition", {"issue": todo["key"]},
                                       {"status": "In Progress"}),
                "task": Delivery("suite-task", "task", {"project": "APL", "assignee": {"email": "nobody@example.com"}},
                                 {"title": "Follow up: budget review", "description": "from the monthly meeting",
                                  "status_category": "todo", "labels": ["collabhub"]}),
            },
        )


class TestJiraConnector(ConnectorSuite, harness=jira_harness):
    pass
