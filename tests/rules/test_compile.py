"""Rules load from the YAML with every error located at file:line:column (CEL errors at the bad token)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from collabhub.config import load_config
from collabhub.connector import CheckResult, Connector
from collabhub.errors import ConfigError
from collabhub.hookspecs import hookimpl
from collabhub.plugins import PluginHost
from collabhub.rules import RuleSet

HEAD = """\
timezone: Asia/Shanghai
departments:
  - id: eng
    name: Engineering
    owner: eng.lead@example.com
  - id: sales
    name: Sales
connectors:
  feishu:
    type: fakechat
  jira:
    type: fakechat
sharing:
"""


class FakeChat(Connector):
    type = "fakechat"

    async def check(self) -> CheckResult:
        return CheckResult.passed()


class _Plugin:
    @hookimpl
    def register_connectors(self, register: Callable[[type[Connector]], None]) -> None:
        register(FakeChat)


@pytest.fixture
def host() -> PluginHost:
    plugin_host = PluginHost(load_entry_points=False)
    plugin_host.register(_Plugin())
    return plugin_host


def load_rules(tmp_path: Path, host: PluginHost, rules: str) -> RuleSet:
    path = tmp_path / "collabhub.yaml"
    path.write_text(HEAD + rules, encoding="utf-8")
    return RuleSet.from_config(load_config(path, host=host, env={}))


def position(tmp_path: Path, needle: str, offset: int = 0) -> str:
    """``file:line:column`` (1-based) of ``needle`` in the written config, plus ``offset`` columns."""
    text = (tmp_path / "collabhub.yaml").read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return f"{tmp_path / 'collabhub.yaml'}:{number}:{line.index(needle) + 1 + offset}"
    raise AssertionError(f"{needle!r} not in the config")


GOOD = """\
  - name: eng-to-sales
    provider: eng
    receivers: [{department: sales, chats: {feishu: oc_sales}}]
    what: {kinds: [task], filter: 'status_category != "done"'}
    fields: [title, due]
    deliver: [{channel: card}]
"""


def test_a_valid_rule_compiles(tmp_path, host):
    ruleset = load_rules(tmp_path, host, GOOD)
    assert [r.name for r in ruleset.rules] == ["eng-to-sales"]
    assert ruleset.variables == {"status_category"}


def test_cel_syntax_error_points_at_the_bad_token(tmp_path, host):
    rules = GOOD.replace("""'status_category != "done"'""", """'status_category == "done" &&& labels'""")
    with pytest.raises(ConfigError) as info:
        load_rules(tmp_path, host, rules)
    # the third "&" is the token CEL cannot read
    assert info.value.location == position(tmp_path, "&&&", offset=2)
    assert info.value.key == "sharing[0].what.filter"
    assert "not valid CEL" in info.value.one_line()


def test_cel_error_on_the_second_line_of_a_block_filter(tmp_path, host):
    rules = GOOD.replace("""    what: {kinds: [task], filter: 'status_category != "done"'}\n""", """\
    what:
      kinds: [task]
      filter: |
        status_category != "done"
          && due <
""")
    with pytest.raises(ConfigError) as info:
        load_rules(tmp_path, host, rules)
    # the expression ends after "<": CEL reports the end of input right there
    assert info.value.location == position(tmp_path, "&& due <", offset=len("&& due <"))


def test_unknown_field_in_filter_is_located_at_its_name(tmp_path, host):
    rules = GOOD.replace("""'status_category != "done"'""", """'title != "" && satus == "x"'""")
    with pytest.raises(ConfigError) as info:
        load_rules(tmp_path, host, rules)
    assert info.value.location == position(tmp_path, "satus")
    assert "'satus'" in info.value.message and "status_category" in (info.value.hint or "")


def test_a_meeting_field_is_unknown_for_a_task_rule(tmp_path, host):
    rules = GOOD.replace("""'status_category != "done"'""", """'start > now'""")
    with pytest.raises(ConfigError) as info:
        load_rules(tmp_path, host, rules)
    assert info.value.location == position(tmp_path, "start > now")


def test_unknown_key_in_a_rule(tmp_path, host):
    with pytest.raises(ConfigError) as info:
        load_rules(tmp_path, host, GOOD + "    colour: blue\n")
    assert info.value.location == position(tmp_path, "colour", offset=len("colour: "))
    assert "unknown key 'colour'" in info.value.message


def test_field_outside_the_kinds_is_located_in_the_allowlist(tmp_path, host):
    with pytest.raises(ConfigError) as info:
        load_rules(tmp_path, host, GOOD.replace("fields: [title, due]", "fields: [title, rooms]"))
    assert info.value.location == position(tmp_path, "rooms]")
    assert "'rooms' is not a field of task" in info.value.message


def test_allow_confidential_needs_a_written_reason(tmp_path, host):
    with pytest.raises(ConfigError) as info:
        load_rules(tmp_path, host, GOOD + "    allow_confidential: {reason: '  '}\n")
    assert info.value.key == "sharing[0].allow_confidential.reason"
    assert info.value.location == position(tmp_path, "{reason", offset=len("{reason: ") + 1)
    ok = load_rules(tmp_path, host, GOOD + "    allow_confidential: {reason: 'legal asked for it (ticket 42)'}\n")
    assert ok.rules[0].confidential_reason == "legal asked for it (ticket 42)"


def test_unknown_receiver_department(tmp_path, host):
    with pytest.raises(ConfigError) as info:
        load_rules(tmp_path, host, GOOD.replace("department: sales", "department: legal"))
    assert "unknown department 'legal'" in info.value.message
    assert info.value.location == position(tmp_path, "{department: legal")


def test_unknown_connector_in_deliver(tmp_path, host):
    with pytest.raises(ConfigError) as info:
        load_rules(tmp_path, host, GOOD.replace("{channel: card}", "{channel: task, connector: jira-cloud}"))
    assert "no connector named 'jira-cloud'" in info.value.message
    assert info.value.location == position(tmp_path, "jira-cloud")


def test_several_bad_rules_report_every_error(tmp_path, host):
    second = GOOD.replace("eng-to-sales", "second").replace("provider: eng", "provider: nobody")
    with pytest.raises(ConfigError) as info:
        load_rules(tmp_path, host, GOOD.replace("fields: [title, due]", "fields: [nope]") + second)
    assert len(info.value.errors) == 2
    assert "'nope'" in info.value.errors[0] and "'nobody'" in info.value.errors[1]


def test_duplicate_rule_names(tmp_path, host):
    with pytest.raises(ConfigError) as info:
        load_rules(tmp_path, host, GOOD + GOOD)
    assert "used twice" in info.value.message


def test_unknown_function_is_located_at_the_call(tmp_path, host):
    rules = GOOD.replace("""'status_category != "done"'""", """'size(labels) > 0 && title.lowerAscii() == "x"'""")
    with pytest.raises(ConfigError) as info:
        load_rules(tmp_path, host, rules)
    assert info.value.location == position(tmp_path, "lowerAscii")
    assert "'lowerAscii'" in info.value.message
