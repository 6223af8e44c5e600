"""HubConfig.locate() and the lookups built on the loaded config."""

from __future__ import annotations

from datetime import timedelta

import pytest

from collabhub.config import ConnectorEntry, load_config
from collabhub.errors import ConfigError

CONFIG = """
timezone: Asia/Shanghai
connectors:
  eng:
    type: notes
    base_url: https://notes.example.com
    api_token: t
    schedule: every 5m
  ops:
    type: notes
    enabled: false
    base_url: https://ops.example.com
    api_token: t
    schedule: "0 9 * * 1-5"
departments:
  - id: eng
    name: Engineering
    aliases:
      eng: [ENG, PLAT]
      ops: 12345
  - id: ops
    name: Operations
    parent: eng
people:
  - name: Li Lei
    email: li.lei@example.com
    department: eng
    ids: {eng: u-1, ops: [7, "8"]}
projects:
  - id: launch
    name: Product launch
    departments: [eng, ops]
    lead: li.lei@example.com
    chats: {eng: oc_123}
coordination_office:
  name: Coordination office
  chats: {ops: cid-9}
sharing:
  - name: done tasks
    when: task.status_category == 'done'
  - name: quoted
    when: "meeting.visibility == 'normal'"
  - name: block
    when: |
      task.priority == 'high'
      && task.department == 'eng'
"""


@pytest.fixture
def config(write, host):
    return load_config(write(CONFIG), host=host, env={})


def test_locate_keys_items_and_values(config):
    path = config.source_path
    assert config.locate(("connectors",)) == f"{path}:2:1"
    assert config.locate(("connectors", "eng")) == f"{path}:3:3"
    assert config.locate(("connectors", "eng", "base_url")) == f"{path}:5:15"
    assert config.locate(("departments", 1)) == f"{path}:20:5"
    assert config.locate(("departments", 0, "aliases", "eng", 1)) == f"{path}:18:18"
    assert config.locate(("sharing", 0)) == f"{path}:38:5"
    assert config.locate(("nope",)) is None
    assert config.locate(("sharing", 9, "when")) is None


def test_locate_points_at_expression_text_for_offsets(config):
    """The rules compiler adds a column offset inside the expression to locate()'s column."""
    path = config.source_path
    lines = path.read_text().splitlines()
    for index, expected in ((0, "task.status_category"), (1, "meeting.visibility"), (2, "task.priority")):
        where = config.locate(("sharing", index, "when"))
        line, column = map(int, where.rsplit(":", 2)[1:])
        assert lines[line - 1][column - 1:].startswith(expected), where


def test_connector_entries(config):
    eng = config.connector("eng")
    assert isinstance(eng, ConnectorEntry)
    assert (eng.name, eng.type, eng.enabled) == ("eng", "notes", True)
    assert eng.schedule is not None and eng.schedule.interval == timedelta(minutes=5)
    assert eng.config.base_url == "https://notes.example.com"
    assert eng.location == f"{config.source_path}:3:3"
    assert [e.name for e in config.enabled_connectors()] == ["eng"]
    assert str(config.schedule_for("ops")) == "0 9 * * 1-5"
    assert config.schedule_for("ops").tz == config.tz


def test_unknown_connector_name_lists_configured_ones(config):
    with pytest.raises(ConfigError, match=r"no connector named 'jira' is configured; configured: eng, ops"):
        config.connector("jira")


def test_department_for_uses_aliases(config):
    assert config.department_for("eng", "PLAT") == "eng"
    assert config.department_for("ops", "12345") == "eng"
    assert config.department_for("ops", 12345) == "eng"
    assert config.department_for("eng", "OPS") is None
    assert config.department_for("jira", "ENG") is None


def test_sections_are_parsed(config):
    assert config.department("ops").parent == "eng"
    assert config.people[0].ids == {"eng": ["u-1"], "ops": ["7", "8"]}
    assert config.project("launch").departments == ["eng", "ops"]
    assert config.coordination_office.chats == {"ops": "cid-9"}
    assert config.sharing[2]["when"] == "task.priority == 'high'\n&& task.department == 'eng'\n"
    assert config.tz.key == "Asia/Shanghai"
