"""Schedules (intervals and cron, in the config's time zone) and quiet hours across midnight."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import BaseModel, ValidationError

from collabhub.schedule import QuietHours, Schedule

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(("text", "seconds", "shown"), [
    ("every 30s", 30, "every 30s"),
    ("every 5m", 300, "every 5m"),
    ("every 2h", 7200, "every 2h"),
    ("every 1d", 86400, "every 1d"),
    ("every 90 seconds", 90, "every 90s"),
    ("Every  120 minutes", 7200, "every 2h"),
])
def test_interval_schedules(text, seconds, shown):
    schedule = Schedule.parse(text)
    assert schedule.interval == timedelta(seconds=seconds)
    assert schedule.cron is None
    assert str(schedule) == shown
    start = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert schedule.next_after(start) == start + timedelta(seconds=seconds)


def test_cron_is_evaluated_in_the_config_time_zone():
    schedule = Schedule.parse("0 9 * * 1-5", tz=SHANGHAI)
    assert str(schedule) == "0 9 * * 1-5"
    # Thursday 2024-05-02 00:30 UTC is 08:30 in Shanghai: the run is at 09:00 Shanghai, 01:00 UTC
    nxt = schedule.next_after(datetime(2024, 5, 2, 0, 30, tzinfo=UTC))
    assert nxt == datetime(2024, 5, 2, 9, 0, tzinfo=SHANGHAI)
    assert nxt.astimezone(UTC) == datetime(2024, 5, 2, 1, 0, tzinfo=UTC)
    # Friday 09:00 exactly: strictly after, so Monday
    assert schedule.next_after(datetime(2024, 5, 3, 9, 0, tzinfo=SHANGHAI)) == datetime(2024, 5, 6, 9, 0,
                                                                                         tzinfo=SHANGHAI)


def test_cron_without_time_zone_uses_the_datetime_zone():
    schedule = Schedule.parse("*/15 * * * *")
    assert schedule.next_after(datetime(2024, 5, 1, 10, 7, tzinfo=UTC)) == datetime(2024, 5, 1, 10, 15, tzinfo=UTC)
    assert schedule.with_timezone(SHANGHAI).tz is SHANGHAI


def test_cron_across_a_dst_change():
    new_york = ZoneInfo("America/New_York")
    schedule = Schedule.parse("0 3 * * *", tz=new_york)
    nxt = schedule.next_after(datetime(2024, 3, 9, 12, 0, tzinfo=UTC))  # the night clocks spring forward
    assert nxt.astimezone(new_york).hour == 3
    assert nxt.utcoffset() == timedelta(hours=-4)


@pytest.mark.parametrize(("text", "problem"), [
    ("", "empty schedule"),
    ("every 0m", "zero interval"),
    ("every 5 weeks", "unknown time unit 'weeks'"),
    ("every now and then", "cannot read interval"),
    ("61 * * * *", "invalid cron line"),
    ("* * * *", "has 4 field(s), not 5"),
    ("0 0 * * * *", "has 6 field(s), not 5"),
    ("0 25 * * *", "invalid cron line"),
])
def test_invalid_schedules(text, problem):
    with pytest.raises(ValueError) as info:
        Schedule.parse(text)
    assert problem in str(info.value)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="no time zone"):
        Schedule.parse("every 5m").next_after(datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="no time zone"):
        QuietHours.parse("22:00-08:00").contains(datetime(2024, 1, 1))


def test_quiet_hours_across_midnight():
    quiet = QuietHours.parse("22:00-08:00", tz=SHANGHAI)
    assert quiet.crosses_midnight
    assert (quiet.start, quiet.end, str(quiet)) == (time(22), time(8), "22:00-08:00")

    def at(hour: int, minute: int = 0, day: int = 1) -> datetime:
        return datetime(2024, 5, day, hour, minute, tzinfo=SHANGHAI)

    assert quiet.contains(at(22))
    assert quiet.contains(at(23, 59))
    assert quiet.contains(at(0))
    assert quiet.contains(at(7, 59))
    assert not quiet.contains(at(8))
    assert not quiet.contains(at(12))
    assert not quiet.contains(at(21, 59))
    # evaluated in the configured zone: 15:00 UTC is 23:00 in Shanghai
    assert quiet.contains(datetime(2024, 5, 1, 15, 0, tzinfo=UTC))

    assert quiet.next_end(at(23)) == at(8, day=2)     # late evening: tomorrow morning
    assert quiet.next_end(at(3, day=2)) == at(8, day=2)  # after midnight: this morning
    assert quiet.next_end(at(12)) == at(8, day=2)     # outside: the end of the coming night
    assert quiet.next_end(at(8)) == at(8, day=2)      # strictly after


def test_quiet_hours_within_a_day():
    quiet = QuietHours.parse("12:00-13:30")
    assert not quiet.crosses_midnight
    noon = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert quiet.contains(noon)
    assert quiet.contains(noon + timedelta(minutes=89))
    assert not quiet.contains(noon + timedelta(minutes=90))
    assert not quiet.contains(noon - timedelta(minutes=1))
    assert quiet.next_end(noon) == datetime(2024, 5, 1, 13, 30, tzinfo=UTC)


@pytest.mark.parametrize("text", ["22:00", "22-08", "25:00-08:00", "22:00-08:60", "08:00-08:00", "a-b-c"])
def test_invalid_quiet_hours(text):
    with pytest.raises(ValueError, match="quiet hours"):
        QuietHours.parse(text)


def test_pydantic_fields():
    class Rule(BaseModel):
        schedule: Schedule
        quiet: QuietHours | None = None

    rule = Rule.model_validate({"schedule": "every 10m", "quiet": "22:00-07:00"})
    assert rule.schedule.interval == timedelta(minutes=10)
    assert rule.model_dump() == {"schedule": "every 10m", "quiet": "22:00-07:00"}
    with pytest.raises(ValidationError, match="invalid cron line"):
        Rule.model_validate({"schedule": "99 * * * *"})
