"""CEL filters: the activation, dates, nulls, run-time errors."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from collabhub.errors import ConfigError
from collabhub.model import EntityKind, PersonRef
from collabhub.rules import RuleSet
from collabhub.rules.cel import Activation, compile_filter, offset_location
from collabhub.rules.evaluate import Evaluator
from rules.helpers import T0, make_config, meeting, task

TZ = ZoneInfo("Asia/Shanghai")


def matches(source: str, entity, kinds=(EntityKind.TASK,)) -> bool:
    compiled = compile_filter(source, kinds=kinds)
    return compiled.matches(Activation.build(entity, compiled.variables, now=T0, tz=TZ))


def test_fields_enums_lists_and_people():
    entity = task(title="Plan", labels=["milestone"], assignee=PersonRef(connector="jira", email="a@x.com"))
    assert matches('kind == "task" && status_category == "todo" && "milestone" in labels', entity)
    assert matches('assignee != null && assignee.email.endsWith("@x.com")', entity)
    assert matches('connector == "jira" && url.startsWith("https://")', entity)
    assert not matches("is_milestone", entity)


def test_dates_are_local_midnight_timestamps():
    entity = task(due=date(2024, 5, 6))
    assert matches('due == timestamp("2024-05-05T16:00:00Z")', entity)
    assert matches('due != null && due < now + duration("24h")', entity)
    assert not matches('due != null && due < now', task(due=date(2024, 5, 7)))
    assert matches("due == null", task())


def test_meeting_fields():
    entity = meeting(start=datetime(2024, 5, 7, 1, tzinfo=UTC))
    assert matches('visibility == "normal" && start > now', entity, kinds=(EntityKind.MEETING,))


def test_a_non_boolean_result_is_an_error():
    with pytest.raises(TypeError):
        matches("title", task())


def test_run_time_errors_match_nothing_and_are_counted():
    rules = [{"name": "r", "provider": "eng", "receivers": [{"department": "sales", "chats": {"feishu": "c"}}],
              "what": {"kinds": ["task"], "filter": "due < now"}, "fields": ["title"],
              "deliver": [{"channel": "card"}]}]
    evaluator = Evaluator(RuleSet.from_config(make_config(rules)), T0, TZ)
    assert evaluator.shares(task(due=None)) == []  # null < timestamp fails: not shared
    assert evaluator.errors == 1
    assert len(evaluator.shares(task(due=date(2024, 5, 1)))) == 1


def test_comprehension_variables_are_not_unknown_fields():
    assert matches('labels.exists(l, l.startsWith("mile"))', task(labels=["milestone"]))


def test_no_python_eval():
    with pytest.raises(ConfigError):
        compile_filter('__import__("os").system("true")', kinds=(EntityKind.TASK,))


def test_offset_location():
    assert offset_location("c.yaml:10:20", 1, 5) == "c.yaml:10:24"
    assert offset_location("c.yaml:10:9", 3, 2) == "c.yaml:12:10"
    assert offset_location(None, 1, 1) is None
