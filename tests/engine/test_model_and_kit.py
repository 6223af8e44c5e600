"""The unified model's invariants and the test kit's foundations (sample company, simulator faults)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import httpx
import orjson
import pytest
from pydantic import ValidationError
from starlette.responses import JSONResponse
from starlette.routing import Route

from collabhub.model import (
    EntityKind,
    Meeting,
    PersonRef,
    SourceRef,
    Task,
    content_hash,
    echo_fingerprint,
    entity_from_data,
    entity_json,
)
from collabhub.testing import Simulator, generate_company


def _task(**kw):
    return Task(source=SourceRef(connector="j", kind=EntityKind.TASK, external_id="1", **kw.pop("src", {})),
                title=kw.pop("title", "t"), **kw)


def test_times_must_be_timezone_aware():
    with pytest.raises(ValidationError, match="timezone"):
        _task(updated=datetime(2026, 11, 2, 9, 0))
    with pytest.raises(ValidationError):
        Meeting(source=SourceRef(connector="m", kind=EntityKind.MEETING, external_id="e"), title="x",
                start=datetime(2026, 11, 2, 9), end=datetime(2026, 11, 2, 10))


def test_unknown_fields_are_rejected():
    with pytest.raises(ValidationError, match="extra"):
        _task(colour="red")


def test_content_hash_ignores_the_remote_version_stamp_only():
    base = _task(src={"version": "1", "url": "https://x/1"})
    assert content_hash(base) == content_hash(_task(src={"version": "2", "url": "https://x/2"}))
    assert content_hash(base) != content_hash(_task(title="other"))
    assert content_hash(base) == content_hash(_task(src={"updated": datetime(2026, 11, 5, tzinfo=UTC)}))


def test_content_hash_does_not_depend_on_the_key_order_of_extra():
    a = _task(extra={"b": 1, "a": {"y": 2, "x": [{"q": 1, "p": 2}]}})
    b = _task(extra={"a": {"x": [{"p": 2, "q": 1}], "y": 2}, "b": 1})
    assert content_hash(a) == content_hash(b)
    assert content_hash(a) != content_hash(_task(extra={"b": 2, "a": {"y": 2, "x": [{"q": 1, "p": 2}]}}))


def test_entity_json_is_the_model_dump():
    task = _task(assignee=PersonRef(connector="j", external_id="acc"), labels=["跨部门"], extra={"n": 1})
    assert orjson.loads(entity_json(task)) == task.model_dump(mode="json")


def test_echo_fingerprint_covers_writer_fields_only():
    a = _task(due=datetime(2026, 11, 30, tzinfo=UTC), labels=["x"])
    b = _task(due=datetime(2026, 11, 30, tzinfo=UTC), labels=["y"], updated=datetime(2026, 11, 3, tzinfo=UTC))
    assert echo_fingerprint(a) == echo_fingerprint(b)
    assert echo_fingerprint(a) != echo_fingerprint(_task(title="changed"))


def test_entities_round_trip_through_their_json():
    task = _task(assignee=PersonRef(connector="j", external_id="acc", email="a@example.com"), labels=["跨部门"])
    assert entity_from_data("task", task.model_dump(mode="json")) == task


def test_sample_company_is_deterministic_and_scales():
    one, again = generate_company(), generate_company()
    assert [p.email for p in one.people] == [p.email for p in again.people]
    assert [t.title for t in one.tasks] == [t.title for t in again.tasks]
    assert len({p.email for p in one.people}) == len(one.people)
    assert any("\u4e00" <= p.name[0] <= "\u9fff" for p in one.people)  # Chinese names
    assert all(p.name_en.isascii() for p in one.people)
    assert all(m.start.tzinfo is not None for m in one.meetings)
    assert any(m.recurrence for m in one.meetings) and any(m.rooms for m in one.meetings)
    big = generate_company(3)
    assert len(big.people) == 3 * len(one.people) and len(big.tasks) == 3 * len(one.tasks)
    assert len(generate_company(tasks=5000).tasks) == 5000


class _Hello(Simulator):
    name = "hello"

    def routes(self):
        async def hello(request):
            return JSONResponse({"hello": "world"})

        return [Route("/hello", hello)]


def test_simulator_faults_and_call_log():
    with _Hello() as sim:
        url = sim.base_url + "/hello"
        assert httpx.get(url).json() == {"hello": "world"}
        sim.faults.rate_limit(2, retry_after=3)
        first = httpx.get(url)
        assert first.status_code == 429 and first.headers["Retry-After"] == "3"
        assert httpx.get(url).status_code == 429 and httpx.get(url).status_code == 200
        sim.faults.fail(1, status=502)
        assert httpx.get(url).status_code == 502
        sim.faults.truncate(1)
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(url)
        sim.faults.hang(1, seconds=0.5)
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(url, timeout=0.1)
        assert sim.count("/hello") == 7
        assert [c.status for c in sim.calls[:4]] == [200, 429, 429, 200]


def _rich_entities():
    """One entity of every kind with most fields set, odd values included."""
    from collabhub.model import Booking, Department, Person, Project, Resource

    cst = "2026-11-02T09:30:15.250000+08:00"
    src = {"connector": "c", "url": "https://x/1?a=b", "version": "7", "updated": "2026-11-02T01:00:00Z"}
    ref = {"connector": "c", "external_id": "u1", "person_id": 12, "display_name": "李娜 \"Lina\"",
           "email": "l@example.com"}
    extra = {"z": [1, 2.5, None, {"b": 1, "a": "跨部门"}], "when": datetime(2026, 1, 1, tzinfo=UTC)}
    return [
        Task.model_validate({"source": {**src, "kind": "task", "external_id": "T-1"}, "title": "Ship \\ it\n",
                             "status_category": "in_progress", "assignee": ref, "labels": ["a", "ä"], "due": cst,
                             "created": cst, "updated": cst, "extra": extra, "department": "rnd"}),
        Meeting.model_validate({"source": {**src, "kind": "meeting", "external_id": "M-1"}, "title": "周会",
                                "start": cst, "end": "2026-11-02T10:00:00Z", "organizer": ref,
                                "attendees": [{"person": ref, "response": "accepted", "optional": True}],
                                "recurrence": {"series_id": "S", "instance_start": cst}, "rooms": ["r1"],
                                "visibility": "private", "confidential": True, "extra": {"f": 1 / 3}}),
        Booking.model_validate({"source": {**src, "kind": "booking", "external_id": "B-1"}, "resource_id": "r1",
                                "start": cst, "end": cst, "booked_by": ref, "status": "declined", "reason": "busy"}),
        Resource.model_validate({"source": {**src, "kind": "resource", "external_id": "R-1"}, "name": "Room 1",
                                 "capacity": 12}),
        Person.model_validate({"source": {**src, "kind": "person", "external_id": "P-1"}, "name": "王芳",
                               "departments": ["ops", "rnd"], "active": False}),
        Department.model_validate({"source": {**src, "kind": "department", "external_id": "D-1"}, "name": "运营部",
                                   "leader": ref}),
        Project.model_validate({"source": {**src, "kind": "project", "external_id": "J-1"}, "name": "Hub",
                                "lead": ref, "start": "2026-11-02", "end": cst, "deleted": True}),
        # beyond what orjson can write: the pydantic path takes over
        Resource.model_validate({"source": {**src, "kind": "resource", "external_id": "R-2"}, "name": "Big",
                                 "capacity": 2**70, "extra": {"id": 2**80}}),
    ]


def test_entity_json_and_hash_match_pydantics_serialiser_byte_for_byte():
    from collabhub.model import _JSON_OPTIONS, _NOT_HASHED, _canonical, _plain_fields

    entities = _rich_entities()
    for entity in entities[:-1]:  # these take orjson's fast path, which must equal pydantic's output
        fast = orjson.dumps(entity, default=_plain_fields, option=_JSON_OPTIONS).decode()
        assert fast == entity.__pydantic_serializer__.to_json(entity).decode(), entity.kind
    for entity in entities:
        serializer = entity.__pydantic_serializer__
        assert entity_json(entity) == serializer.to_json(entity).decode(), entity.kind
        expected = hashlib.sha256(serializer.to_json(entity, exclude=_NOT_HASHED))
        if entity.extra:
            expected.update(_canonical(entity.extra))
        assert content_hash(entity) == expected.hexdigest()[:32], entity.kind
