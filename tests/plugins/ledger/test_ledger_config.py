"""Config validation names the wrong key and what would be right; paths resolve as documented."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from collabhub.model import ENTITY_TYPES, PersonRef
from collabhub_ledger import LedgerConfig
from collabhub_ledger.config import CONFIG_DIR_ENV, resolve_base_dir
from collabhub_ledger.fields import FIELDS, PERSON_PARTS, person_field

TASK = {"path": "a.xlsx", "kind": "task", "columns": {"title": "事项"}}


def error_of(**source) -> str:
    with pytest.raises(ValidationError) as info:
        LedgerConfig.model_validate({"sources": [{**TASK, **source}]})
    return str(info.value)


def test_every_mappable_field_is_a_real_field_of_its_kind():
    for kind, fields in FIELDS.items():
        model_fields = ENTITY_TYPES[kind].model_fields
        for field in fields:
            person = person_field(field)
            if person is None:
                assert field in model_fields, f"{kind}.{field}"
            else:
                assert person[0] in model_fields and person[1] in PersonRef.model_fields, f"{kind}.{field}"
    assert set(PERSON_PARTS.values()) <= set(PersonRef.model_fields)


def test_unknown_field_lists_the_real_ones():
    message = error_of(columns={"title": "事项", "owner": "负责人"})
    assert "owner is not a field of a task; task fields are: title, description, status" in message


def test_required_fields_must_be_mapped():
    assert "a booking sheet must map start, end under columns" in error_of(kind="booking",
                                                                            columns={"resource_id": "房间"})


def test_status_map_values_are_checked_per_kind():
    assert "status_map values must be one of todo, in_progress, done; got {'搁置': 'paused'}" in \
        error_of(status_map={"搁置": "paused"})
    assert "status_map applies to task and booking sheets" in error_of(kind="resource", columns={"name": "名称"},
                                                                       status_map={"x": "todo"})


@pytest.mark.parametrize(("source", "message"), [
    ({"path": "a.xls"}, "expected a .xlsx or .csv file, got 'a.xls' (save .xls files as .xlsx)"),
    ({"path": "a.csv", "sheet": "x"}, "sheet applies to .xlsx files only"),
    ({"timezone": "Mars/Base"}, "unknown time zone 'Mars/Base'"),
    ({"id_column": "编号", "writeback": {"column": "编号"}}, "writeback.column must not be the id_column"),
    ({"header_row": 0}, "greater than or equal to 1"),
    ({"date_formats": ["YYYY-MM-DD"]}, "date formats need strptime codes"),
    ({"surprise": 1}, "Extra inputs are not permitted"),
])
def test_source_errors(source, message):
    assert message in error_of(**source)


def test_one_sheet_per_kind_per_connector():
    with pytest.raises(ValidationError, match=r"'a\.xlsx' and 'b\.xlsx' are both task sheets"):
        LedgerConfig.model_validate({"sources": [TASK, {**TASK, "path": "b.xlsx"}]})


def test_stream_names_come_from_file_stem_and_kind():
    config = LedgerConfig.model_validate({"sources": [
        {**TASK, "path": "sub/行动 项.XLSX"},
        {"path": "Rooms-2026.csv", "kind": "resource", "columns": {"name": "n"}},
    ]})
    assert [s.stream_name for s in config.sources] == ["行动_项_task", "rooms_2026_resource"]


def test_base_dir_resolution(tmp_path, monkeypatch):
    monkeypatch.delenv(CONFIG_DIR_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert resolve_base_dir("ledger") == tmp_path / "ledger"
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path / "config"))
    assert resolve_base_dir("ledger") == tmp_path / "config" / "ledger"
    assert resolve_base_dir(str(tmp_path / "abs")) == tmp_path / "abs"
    source = LedgerConfig.model_validate({"sources": [TASK]}).sources[0]
    assert source.resolve(tmp_path) == tmp_path / "a.xlsx"
    assert source.model_copy(update={"path": str(tmp_path / "x.xlsx")}).resolve(tmp_path / "elsewhere") == \
        tmp_path / "x.xlsx"
