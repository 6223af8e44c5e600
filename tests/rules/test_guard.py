"""The confidential guard: free/busy at most without a written reason; nothing beyond the allowlist."""

from __future__ import annotations

from datetime import timedelta

from collabhub.model import Attendee, Booking, PersonRef, SourceRef, Visibility
from collabhub.rules.guard import allowed_field_paths, is_confidential, merge_views, share
from rules.helpers import T0, meeting, task


def test_allowlist_copies_only_the_named_fields():
    view = share(task(title="Plan", description="internal notes", labels=["x"]), ["title", "url"])
    assert view is not None
    assert dict(view.fields) == {"title": "Plan", "url": view.fields["url"]}
    assert view.fields_sent == ["title", "url"]


def test_sub_field_paths_copy_one_sub_field():
    person = PersonRef(connector="jira", external_id="acc-1", display_name="Wang Wei", email="w@x.com",
                       mobile="+86 138")
    view = share(task(assignee=person), ["assignee.display_name"])
    assert dict(view.fields) == {"assignee": {"display_name": "Wang Wei"}}


def test_list_sub_fields_pick_from_every_item():
    attendees = [Attendee(person=PersonRef(connector="m365", display_name=n, email=f"{n}@x.com")) for n in "ab"]
    view = share(meeting(attendees=attendees), ["attendees.person"])
    assert [a["person"]["display_name"] for a in view.fields["attendees"]] == ["a", "b"]
    assert set(view.fields["attendees"][0]) == {"person"}


def test_confidential_task_is_withheld_entirely():
    assert share(task(confidential=True), ["title", "due", "description"]) is None


def test_private_meeting_leaves_as_free_busy_only():
    private = meeting(visibility=Visibility.PRIVATE, title="Board: layoffs", body="secret", location="Room 1")
    assert is_confidential(private)
    view = share(private, ["title", "body", "location", "start", "end", "attendees"])
    assert view is not None and view.free_busy
    assert dict(view.fields) == {"start": private.start.isoformat().replace("+00:00", "Z"),
                                 "end": private.end.isoformat().replace("+00:00", "Z"), "show_as": "busy"}


def test_confidential_booking_is_free_busy_too():
    booking = Booking(source=SourceRef(connector="m365", kind="booking", external_id="b1"), resource_id="room-1",
                      start=T0, end=T0 + timedelta(hours=1), confidential=True, title="Secret interview")
    view = share(booking, ["title", "resource_id", "start", "end"])
    assert view.free_busy and set(view.fields) == {"start", "end", "show_as"}


def test_a_written_reason_lifts_the_guard_and_is_recorded():
    view = share(task(confidential=True, title="Audit"), ["title"], allow_confidential_reason="auditors need it")
    assert view.fields["title"] == "Audit" and view.confidential_reason == "auditors need it"
    assert share(task(confidential=True), ["title"], allow_confidential_reason="   ") is None


def test_merge_keeps_the_union_of_allowed_parts():
    entity = task(title="T", description="D")
    merged = merge_views([share(entity, ["title"]), share(entity, ["description"])])
    assert dict(merged.fields) == {"title": "T", "description": "D"}
    busy = share(meeting(visibility=Visibility.CONFIDENTIAL), ["title"])
    assert merge_views([busy]).free_busy


def test_allowed_paths_name_real_fields():
    paths = allowed_field_paths("task")
    assert {"title", "due", "assignee", "assignee.email", "url"} <= paths
    assert "source" not in paths and "start" not in paths
