"""``collabhub rules check|preview`` and ``collabhub audit``: the functions and the commands."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from collabhub.errors import ConfigError
from collabhub.rules import RulesEngine
from collabhub.rules.cli import audit_records, check_rows, format_audit, parse_since
from rules.helpers import T0, fake_connectors, make_config, put, task

RULES = [
    {"name": "mirror", "provider": "eng", "receivers": ["sales"], "what": {"kinds": ["task"]},
     "fields": ["title"], "deliver": [{"channel": "task", "connector": "jira"}]},
    {"name": "digest", "provider": "eng", "receivers": [{"department": "ops", "chats": {"feishu": "oc_ops"}}],
     "what": {"kinds": ["task"], "filter": 'status_category != "done"'}, "fields": ["title", "due"],
     "deliver": [{"channel": "card"}], "schedule": {"cron": "0 9 * * 1-5", "quiet_hours": "22:00-08:00"},
     "allow_confidential": {"reason": "ops runs the incident room"}},
]


def test_check_rows_describe_each_rule():
    rows = check_rows(make_config(RULES))
    assert [r["rule"] for r in rows] == ["mirror", "digest"]
    assert rows[0]["deliver"] == "task@jira" and rows[0]["confidential guard"] == "on"
    assert rows[1]["what"] == 'task if status_category != "done"'
    assert rows[1]["confidential guard"] == "lifted: ops runs the incident room"
    assert rows[1]["duties"] == "cron 0 9 * * 1-5; quiet 22:00-08:00"


async def test_audit_records_and_formats(store, clock, remote):
    put(store, task(external_id="T1", title="One"))
    engine = RulesEngine(make_config(RULES[:1]), store, clock=clock)
    engine.plan()
    await engine.dispatch(fake_connectors(remote))
    (record,) = audit_records(store, rule="mirror")
    assert record["receiver"] == "department:sales" and record["entity"] == "jira/task/T1"
    assert record["fields_sent"] == ["title"] and record["target"] == "task-1" and record["entity_version"] == 1
    assert audit_records(store, rule="other") == []
    assert audit_records(store, since=T0 + timedelta(hours=1)) == []
    assert json.loads(format_audit([record], "jsonl"))["rule"] == "mirror"
    table = format_audit([record], "table").splitlines()
    assert table[0].split()[:3] == ["at", "rule", "receiver"] and "jira/task/T1" in table[1]
    with pytest.raises(ConfigError):
        format_audit([record], "xml")


def test_parse_since():
    now = datetime(2024, 5, 6, tzinfo=UTC)
    assert parse_since("7d", now=now) == now - timedelta(days=7)
    assert parse_since("24h", now=now) == now - timedelta(hours=24)
    assert parse_since("2024-05-01") == datetime(2024, 5, 1, tzinfo=UTC)
    assert parse_since(None) is None
    with pytest.raises(ConfigError):
        parse_since("yesterday")


CONFIG = """\
store:
  url: sqlite:///{db}
departments:
  - {{id: eng, name: Engineering}}
  - {{id: ops, name: Operations}}
sharing:
  - name: eng-to-ops
    provider: eng
    receivers: [{{department: ops, chats: {{feishu: oc_ops}}}}]
    what: {{kinds: [task], filter: 'title != ""'}}
    fields: [title]
    deliver: [{{channel: card}}]
"""


def test_commands(tmp_path):
    from collabhub.cli import app

    path = tmp_path / "collabhub.yaml"
    path.write_text(CONFIG.format(db=(tmp_path / "hub.sqlite").as_posix()), encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["rules", "check", "-c", str(path)])
    assert result.exit_code == 0, result.output
    assert "eng-to-ops" in result.output
    result = runner.invoke(app, ["rules", "preview", "-c", str(path)])
    assert result.exit_code == 0 and "every receiver is up to date" in result.output
    result = runner.invoke(app, ["audit", "-c", str(path), "--format", "jsonl"])
    assert result.exit_code == 0 and result.output.strip() == ""

    path.write_text(path.read_text().replace('title != ""', 'title != "" &&'), encoding="utf-8")
    result = runner.invoke(app, ["rules", "check", "-c", str(path)])
    assert isinstance(result.exception, ConfigError)
    line = path.read_text().splitlines()[9]
    assert result.exception.location == f"{path}:10:{line.index('&&') + 3}"  # end of input, after "&&"
