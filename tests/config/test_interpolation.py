"""${VAR} interpolation: defaults, escapes, strings only, nothing evaluated."""

from __future__ import annotations

import pytest

from collabhub.config import load_config
from collabhub.config._interpolate import interpolate_text
from collabhub.errors import ConfigError


@pytest.mark.parametrize(("text", "expected"), [
    ("${HOST}", "notes.example.com"),
    ("https://${HOST}/api", "https://notes.example.com/api"),
    ("${MISSING:-fallback}", "fallback"),
    ("${EMPTY:-fallback}", "fallback"),
    ("${HOST:-fallback}", "notes.example.com"),
    ("${MISSING:-}", ""),
    ("$${HOST}", "${HOST}"),
    ("cost: $5 and $$5", "cost: $5 and $$5"),
    ("$${HOST} is ${HOST}", "${HOST} is notes.example.com"),
    ("${HOST}${HOST}", "notes.example.comnotes.example.com"),
])
def test_interpolate_text(text, expected):
    env = {"HOST": "notes.example.com", "EMPTY": ""}
    assert interpolate_text(text, env) == expected


@pytest.mark.parametrize(("text", "problem"), [
    ("${MISSING}", "environment variable MISSING is not set"),
    ("${not valid}", "is not a valid variable reference"),
    ("${1ABC}", "is not a valid variable reference"),
    ("${HOST", "is not closed"),
    ("${__import__('os').system('id')}", "is not a valid variable reference"),
])
def test_interpolate_text_errors(text, problem):
    with pytest.raises(ValueError) as info:
        interpolate_text(text, {"HOST": "h"})
    assert problem in str(info.value)


def test_values_are_interpolated_before_validation(write, host):
    path = write("""
        connectors:
          eng:
            type: notes
            base_url: https://${NOTES_HOST:-notes.example.com}/api
            api_token: ${NOTES_TOKEN}
            page_size: ${PAGE_SIZE}
            projects: ["${PROJECT}", "$${LITERAL}"]
        sharing:
          - name: escaped
            when: "$${not_an_env_var}"
        """)
    config = load_config(path, host=host, env={"NOTES_TOKEN": "s3cret", "PAGE_SIZE": "25", "PROJECT": "ENG"})
    notes = config.connector("eng").config
    assert notes.base_url == "https://notes.example.com/api"
    assert notes.api_token.get_secret_value() == "s3cret"
    assert notes.page_size == 25
    assert notes.projects == ["ENG", "${LITERAL}"]
    assert config.sharing == [{"name": "escaped", "when": "${not_an_env_var}"}]


def test_keys_and_non_strings_are_not_interpolated(write, host):
    path = write("""
        departments:
          - id: eng
            name: "${DEPT_NAME}"
            aliases: {}
        people:
          - name: ${PERSON}
            ids: {}
            mobile: 13800000000
        """)
    config = load_config(path, host=host, env={"DEPT_NAME": "Engineering", "PERSON": "Li Lei"})
    assert config.departments[0].name == "Engineering"
    assert config.people[0].name == "Li Lei"
    assert config.people[0].mobile == "13800000000"


def test_missing_variable_in_a_disabled_connector_is_tolerated(write, host):
    path = write("""
        connectors:
          later:
            type: notes
            enabled: false
            base_url: https://notes.example.com
            api_token: ${NOT_YET_ISSUED}
        """)
    config = load_config(path, host=host, env={})
    assert config.connector("later").enabled is False
    assert config.enabled_connectors() == []


def test_every_missing_variable_is_reported(write, host):
    path = write("""
        store:
          url: ${DB_URL}
        timezone: ${TZ_NAME}
        """)
    with pytest.raises(ConfigError) as info:
        load_config(path, host=host, env={})
    assert info.value.errors == [
        f"{path}:2:8: store.url: environment variable DB_URL is not set "
        "(set DB_URL in the environment collabhub runs in, or write ${DB_URL:-default})",
        f"{path}:3:11: timezone: environment variable TZ_NAME is not set "
        "(set TZ_NAME in the environment collabhub runs in, or write ${TZ_NAME:-default})",
    ]
