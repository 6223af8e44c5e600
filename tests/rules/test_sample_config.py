"""The sharing rules of config/demo.yaml compile against the sample company's departments and projects."""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML

from collabhub.config import ConnectorEntry, HubConfig
from collabhub.config.sections import CoordinationOffice, DepartmentSpec, ProjectSpec
from collabhub.connector import ConnectorConfig
from collabhub.rules import RuleSet
from collabhub.testing.company import generate_company

SAMPLE = Path(__file__).resolve().parents[2] / "config" / "demo.yaml"


def sample_config() -> HubConfig:
    company = generate_company()
    sharing = YAML(typ="safe").load(SAMPLE.read_text(encoding="utf-8"))["sharing"]
    return HubConfig(
        connectors={name: ConnectorEntry(name, name, True, None, ConnectorConfig())
                    for name in ("jira", "m365", "feishu", "dingtalk")},
        departments=[DepartmentSpec(id=u.id, name=u.name_en, owner=f"{u.id}.lead@example.com")
                     for u in company.departments],
        projects=[ProjectSpec(id=p.id, name=p.name, departments=list(p.departments), lead="pm@example.com",
                              chats={"feishu": f"oc_{p.id}"}, jira_epic=f"{p.key}-1") for p in company.projects],
        coordination_office=CoordinationOffice(name="协调办公室", email="office@example.com",
                                               chats={"feishu": "oc_office"}),
        sharing=sharing,
    )


def test_sample_rules_compile():
    ruleset = RuleSet.from_config(sample_config())
    assert len(ruleset.rules) == 6
    assert {c for r in ruleset.rules for d in r.spec.deliver for c in [d.channel]} == {"card", "task", "comment",
                                                                                       "event"}
    assert sum(1 for r in ruleset.rules if r.confidential_reason) == 1
