"""Each broken config gives ONE located line: file:line:column: key: what was expected."""

from __future__ import annotations

import pytest

from collabhub.config import ConfigProblems, load_config, validate_file
from collabhub.errors import ConfigError

ENTRY_OK = """
connectors:
  eng:
    type: notes
    base_url: https://notes.example.com
    api_token: ${NOTES_TOKEN}
"""
ENV = {"NOTES_TOKEN": "t0ken-value"}


def load_error(path, host, env=ENV) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(path, host=host, env=env)
    error = info.value
    assert "\n" not in error.one_line()
    return error


def test_bad_indentation(write, host):
    path = write("""
        store:
          url: sqlite:///hub.db
         connectors:
          eng: {}
        """)
    error = load_error(path, host)
    assert error.location == f"{path}:3:2"
    assert error.one_line().startswith(f"{path}:3:2: bad indentation")


def test_tab_indentation(write, host):
    path = write("store:\n\turl: sqlite:///hub.db\n")
    error = load_error(path, host)
    assert error.one_line() == (f"{path}:2:1: a tab character is used for indentation; YAML allows only spaces "
                                "(the file is not valid YAML)")


def test_duplicate_key(write, host):
    path = write("""
        store:
          url: sqlite:///a.db
          url: sqlite:///b.db
        """)
    error = load_error(path, host)
    assert error.one_line() == (f"{path}:3:3: url: duplicate key 'url' (first defined at line 2) "
                                "(each key may appear once per mapping)")


def test_unknown_top_level_key(write, host):
    path = write("""
        timezone: UTC
        stroe:
          url: sqlite:///hub.db
        """)
    error = load_error(path, host)
    assert error.location == f"{path}:2:1"
    assert error.key == "stroe"
    assert error.message == "unknown key"
    assert "did you mean 'store'?" in error.one_line()


def test_unknown_key_inside_connector_entry(write, host):
    path = write(ENTRY_OK + "    page_sise: 10\n")
    error = load_error(path, host)
    assert error.location == f"{path}:6:5"
    assert error.key == "connectors.eng.page_sise"
    assert error.one_line().startswith(f"{path}:6:5: connectors.eng.page_sise: unknown key (did you mean 'page_size'?")
    assert "type, enabled, schedule" in error.hint


def test_missing_secret_variable(write, host):
    path = write(ENTRY_OK)
    error = load_error(path, host, env={})
    assert error.one_line() == (
        f"{path}:5:16: connectors.eng.api_token: environment variable NOTES_TOKEN is not set "
        "(set NOTES_TOKEN in the environment collabhub runs in, or write ${NOTES_TOKEN:-default})")


def test_wrong_type_in_connector(write, host):
    path = write(ENTRY_OK + "    page_size: many\n")
    error = load_error(path, host)
    assert error.one_line() == (f"{path}:6:16: connectors.eng.page_size: Input should be a valid integer, "
                                "unable to parse string as an integer (got 'many')")


def test_wrong_type_in_section(write, host):
    path = write("""
        daemon:
          webhooks:
            port: 70000
        """)
    error = load_error(path, host)
    assert error.one_line() == (f"{path}:3:11: daemon.webhooks.port: Input should be less than or equal to 65535 "
                                "(got 70000)")


def test_section_of_wrong_shape_points_at_its_key(write, host):
    path = write("""
        timezone: UTC
        departments:
          eng: Engineering
        """)
    error = load_error(path, host)
    assert error.location == f"{path}:2:1"
    assert error.key == "departments"
    assert "valid list" in error.message
    assert error.hint == "got a mapping"


def test_unknown_connector_type(write, host):
    path = write("""
        connectors:
          eng:
            type: nots
        """)
    error = load_error(path, host)
    assert error.location == f"{path}:3:11"
    assert error.key == "connectors.eng.type"
    assert error.message == "unknown connector type 'nots'; installed types: notes"


def test_missing_required_key_points_at_the_entry(write, host):
    path = write("""
        connectors:
          eng:
            type: notes
            api_token: x
        """)
    error = load_error(path, host)
    assert error.one_line() == f"{path}:2:3: connectors.eng.base_url: field required"


def test_invalid_cron_is_located_at_the_schedule(write, host):
    path = write(ENTRY_OK + '    schedule: "61 * * * *"\n')
    error = load_error(path, host)
    assert error.location == f"{path}:6:16"
    assert error.key == "connectors.eng.schedule"
    assert "invalid cron line" in error.message


def test_invalid_default_schedule(write, host):
    path = write("daemon:\n  default_schedule: every 5 fortnights\n")
    error = load_error(path, host)
    assert error.location == f"{path}:2:21"
    assert error.key == "daemon.default_schedule"
    assert "unknown time unit" in error.message


def test_unknown_timezone(write, host):
    path = write("timezone: Mars/Olympus\n")
    error = load_error(path, host)
    assert error.one_line() == (f"{path}:1:11: timezone: unknown time zone; use an IANA name like Asia/Shanghai "
                                "or UTC (got 'Mars/Olympus')")


def test_every_error_is_kept_in_file_order(write, host):
    path = write(ENTRY_OK + """\
    page_size: 0
departments:
  - id: eng
    owner: not-an-email
bogus: 1
""")
    with pytest.raises(ConfigProblems) as info:
        load_config(path, host=host, env={})
    lines = info.value.errors
    assert [line.split(": ")[:2] for line in lines] == [
        [f"{path}:5:16", "connectors.eng.api_token"],
        [f"{path}:6:16", "connectors.eng.page_size"],
        [f"{path}:8:5", "departments[0].name"],
        [f"{path}:9:12", "departments[0].owner"],
        [f"{path}:10:1", "bogus"],
    ]
    assert info.value.one_line() == lines[0]
    assert validate_file(path, host=host, env={}) == lines


def test_missing_key_in_list_item_names_the_item(write, host):
    path = write("""
        departments:
          - id: eng
            name: Engineering
          - id: ops
        """)
    error = load_error(path, host)
    assert error.one_line() == f"{path}:4:5: departments[1].name: field required"


def test_union_alternatives_are_merged_into_one_line(write, host):
    path = write("""
        connectors:
          eng: {type: notes, base_url: "https://x", api_token: y}
        people:
          - name: Li Lei
            ids:
              eng: {nested: 1}
        """)
    error = load_error(path, host)
    assert error.location == f"{path}:6:7"
    assert error.key == "people[0].ids.eng"
    assert len(error.errors) == 1


def test_missing_file_names_the_path_and_the_fix(tmp_path, host):
    missing = tmp_path / "nope.yaml"
    error = load_error(missing, host)
    assert str(missing) in error.one_line()
    assert error.message == f"config file {missing} does not exist"
    assert "COLLABHUB_CONFIG" in error.hint


def test_top_level_must_be_a_mapping(write, host):
    path = write("- store\n- connectors\n")
    error = load_error(path, host)
    assert error.location == f"{path}:1:1"
    assert "must be a mapping" in error.message


def test_cross_references_are_checked(write, host):
    path = write("""
        connectors:
          eng: {type: notes, base_url: "https://x", api_token: y}
        departments:
          - id: eng
            name: Engineering
            aliases: {eng: [ENG], jira: ENG}
          - id: ops
            name: Operations
            parent: opz
            aliases: {eng: ENG}
          - id: eng
            name: Again
        """)
    lines = validate_file(path, host=host, env={})
    assert lines == [
        f"{path}:6:27: departments[0].aliases.jira: no connector named 'jira' is configured "
        "(configured connectors: eng)",
        f"{path}:9:13: departments[1].parent: no department with id 'opz' (known departments: eng, ops)",
        f"{path}:10:20: departments[1].aliases.eng[0]: eng id 'ENG' is already an alias of department 'eng' "
        "(an alias may mean one department only)",
        f"{path}:11:9: departments[2].id: duplicate id 'eng' (departments[0] already uses it; ids must be unique)",
    ]
