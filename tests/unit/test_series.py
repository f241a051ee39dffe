"""Weekly series in wall-clock time: DST, gaps and folds, closures, numbering."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.domain.calendar import closed_checker, holiday_calendar
from scheduler.domain.series import (
    CalendarExhausted,
    ClosureRejected,
    LocalTimeError,
    SeriesPlan,
    Skip,
    expand_weekly,
    plan_series,
    resolve_local,
)

SEATTLE = "America/Los_Angeles"
TUCSON = "America/Phoenix"
EASTERN = "America/New_York"
CENTRAL = "America/Chicago"
# The zones of the nine offices (AZ; CA, WA; FL, MA, MD, NJ, NY; TX), deduplicated.
OFFICE_ZONES = (TUCSON, SEATTLE, EASTERN, CENTRAL)

FIFTY_MIN = timedelta(minutes=50)
PST = timedelta(hours=-8)
PDT = timedelta(hours=-7)


def never_closed(day: date) -> str | None:
    return None


def closed_on(days: dict[date, str]) -> Callable[[date], str | None]:
    def closed(day: date) -> str | None:
        return days.get(day)

    return closed


def plan(**overrides: object) -> SeriesPlan:
    args: dict[str, object] = {
        "first_date": date(2027, 2, 24),
        "start_time": time(17, 0),
        "zone": SEATTLE,
        "session_count": 16,
        "duration": FIFTY_MIN,
        "closed": never_closed,
    }
    args.update(overrides)
    return plan_series(**args)  # type: ignore[arg-type]


# --- DST: the wall clock stays put, the UTC instant moves ---------------------------------


def test_seattle_series_keeps_five_pm_across_spring_forward() -> None:
    result = plan()
    sessions = result.sessions
    assert len(sessions) == 16
    assert result.skipped == ()
    assert [s.number for s in sessions] == list(range(1, 17))
    assert sessions[0].local_date == date(2027, 2, 24)
    assert sessions[-1].local_date == date(2027, 6, 9)
    for s in sessions:
        local = s.starts_at.astimezone(ZoneInfo(SEATTLE))
        assert (local.date(), local.time()) == (s.local_date, time(17, 0))
        assert (s.local_time, s.zone) == (time(17, 0), SEATTLE)
        expected = PST if s.local_date < date(2027, 3, 14) else PDT
        assert s.utc_offset == expected, s.local_date

    on = {s.local_date: s for s in sessions}
    seventeenth = on[date(2027, 3, 17)]
    assert seventeenth.utc_offset == PDT
    assert seventeenth.starts_at == datetime(2027, 3, 18, 0, 0, tzinfo=UTC)
    tenth = on[date(2027, 3, 10)]
    assert tenth.starts_at == datetime(2027, 3, 11, 1, 0, tzinfo=UTC)
    # One calendar week apart on the wall, but only 167 hours apart in elapsed time.
    assert seventeenth.starts_at - tenth.starts_at == timedelta(days=7) - timedelta(hours=1)
    # Only the first session after the change is flagged.
    assert [s.local_date for s in sessions if s.dst_changed] == [date(2027, 3, 17)]


def test_seattle_series_across_fall_back_2027() -> None:
    sessions = plan(first_date=date(2027, 10, 6), session_count=8).sessions
    dates = [s.local_date for s in sessions]
    assert dates == expand_weekly(date(2027, 10, 6), 8)
    for s in sessions:
        expected = PDT if s.local_date < date(2027, 11, 7) else PST
        assert s.utc_offset == expected, s.local_date
        assert s.starts_at.astimezone(ZoneInfo(SEATTLE)).time() == time(17, 0)
    on = {s.local_date: s for s in sessions}
    nov3, nov10 = on[date(2027, 11, 3)], on[date(2027, 11, 10)]
    assert nov3.starts_at == datetime(2027, 11, 4, 0, 0, tzinfo=UTC)
    assert nov10.starts_at == datetime(2027, 11, 11, 1, 0, tzinfo=UTC)
    assert [s.local_date for s in sessions if s.dst_changed] == [date(2027, 11, 10)]


def test_tucson_has_no_dst_all_year() -> None:
    sessions = plan(
        zone=TUCSON, first_date=date(2027, 1, 5), session_count=52, start_time=time(9, 0)
    ).sessions
    assert len(sessions) == 52
    assert {s.utc_offset for s in sessions} == {timedelta(hours=-7)}
    assert not any(s.dst_changed for s in sessions)
    assert {s.starts_at.time() for s in sessions} == {time(16, 0)}


def test_previous_offset_flags_a_change_on_the_first_appended_session() -> None:
    appended = plan(first_date=date(2027, 3, 17), session_count=2, previous_offset=PST)
    assert [s.dst_changed for s in appended.sessions] == [True, False]
    same = plan(first_date=date(2027, 3, 17), session_count=2, previous_offset=PDT)
    assert [s.dst_changed for s in same.sessions] == [False, False]


def test_times_are_utc_aware_and_last_the_duration() -> None:
    for s in plan(duration=timedelta(minutes=45)).sessions:
        assert s.starts_at.tzinfo is UTC
        assert s.ends_at.tzinfo is UTC
        assert s.ends_at - s.starts_at == timedelta(minutes=45)


# --- gaps and folds ------------------------------------------------------------------------


def test_spring_forward_gap_is_nonexistent() -> None:
    with pytest.raises(LocalTimeError) as info:
        resolve_local(date(2027, 3, 14), time(2, 30), EASTERN)
    err = info.value
    assert err.kind == "nonexistent"
    assert err.local == datetime(2027, 3, 14, 2, 30)
    assert err.zone == EASTERN
    assert str(err) == "2027-03-14 02:30 does not exist in America/New_York (clocks spring forward)"


def test_fall_back_fold_is_ambiguous() -> None:
    with pytest.raises(LocalTimeError) as info:
        resolve_local(date(2027, 11, 7), time(1, 30), CENTRAL)
    assert info.value.kind == "ambiguous"
    assert info.value.local == datetime(2027, 11, 7, 1, 30)
    assert "2027-11-07 01:30" in str(info.value)
    assert "America/Chicago" in str(info.value)


@pytest.mark.parametrize(
    ("zone", "day", "at", "hours"),
    [
        # Phoenix keeps standard time, so neither transition touches it.
        (TUCSON, date(2027, 3, 14), time(2, 30), -7),
        (TUCSON, date(2027, 11, 7), time(1, 30), -7),
        # 01:59 is still standard time and 03:00 already daylight time; only 02:xx is missing.
        (EASTERN, date(2027, 3, 14), time(1, 59), -5),
        (EASTERN, date(2027, 3, 14), time(3, 0), -4),
    ],
)
def test_times_beside_or_outside_transitions_resolve(
    zone: str, day: date, at: time, hours: int
) -> None:
    assert resolve_local(day, at, zone).utcoffset() == timedelta(hours=hours)


def test_series_through_a_gap_names_the_date_and_does_not_shift() -> None:
    with pytest.raises(LocalTimeError) as info:
        plan(zone=EASTERN, first_date=date(2027, 3, 7), start_time=time(2, 30), session_count=3)
    assert info.value.local.date() == date(2027, 3, 14)
    assert "2027-03-14" in str(info.value)


def test_a_closed_gap_day_is_skipped_not_an_error() -> None:
    closed = closed_on({date(2027, 3, 14): "Office closed"})
    result = plan(
        zone=EASTERN,
        first_date=date(2027, 3, 7),
        start_time=time(2, 30),
        session_count=2,
        closed=closed,
    )
    assert [s.local_date for s in result.sessions] == [date(2027, 3, 7), date(2027, 3, 21)]


def test_aware_start_time_is_refused() -> None:
    with pytest.raises(ValueError, match="tzinfo"):
        resolve_local(date(2027, 1, 1), time(9, 0, tzinfo=UTC), EASTERN)


def test_unknown_zone_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        plan(zone="Mars/Olympus")


# --- closures and holidays -----------------------------------------------------------------


def test_thanksgiving_week_is_skipped_and_made_up() -> None:
    closed = closed_checker("WA", {}, [2027])
    result = plan(
        first_date=date(2027, 11, 18), start_time=time(10, 0), session_count=4, closed=closed
    )
    expected = [date(2027, 11, 18)] + [date(2027, 12, d) for d in (2, 9, 16)]
    assert [s.local_date for s in result.sessions] == expected
    assert [s.number for s in result.sessions] == [1, 2, 3, 4]
    assert result.skipped == (Skip(date(2027, 11, 25), "Thanksgiving Day (holiday)"),)
    assert result.end_date == date(2027, 12, 16)


def test_closure_reason_wins_over_holiday_name() -> None:
    closed = closed_checker("WA", {date(2027, 11, 25): "Building repairs"}, [2027])
    assert closed(date(2027, 11, 25)) == "Building repairs"
    assert closed(date(2027, 11, 24)) is None


def test_holidays_of_a_year_not_preloaded_are_still_found() -> None:
    closed = closed_checker("TX", {}, [2027])
    assert closed(date(2028, 11, 23)) == "Thanksgiving Day (holiday)"


def test_state_holidays_are_included() -> None:
    # Cesar Chavez Day is a California state holiday, not a federal one.
    assert "Chavez" in holiday_calendar("CA", [2027]).get(date(2027, 3, 31), "")
    assert date(2027, 3, 31) not in holiday_calendar("WA", [2027])


def test_holiday_calendar_is_read_only_and_cached() -> None:
    first = holiday_calendar("ny", [2027, 2028])
    assert first is holiday_calendar("NY", (2028, 2027, 2027))
    with pytest.raises(TypeError):
        first[date(2027, 1, 2)] = "made up"  # type: ignore[index]


def test_unknown_state_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="ZZ"):
        holiday_calendar("ZZ", [2027])
    with pytest.raises(ValueError):
        closed_checker("Washington", {}, [2027])


def test_reject_policy_lists_every_closed_date_in_the_contract() -> None:
    closures = {
        date(2027, 3, 3): "Staff training",
        date(2027, 3, 24): "Flooring",
        # Beyond the four contracted weeks: not part of this plan, so not reported.
        date(2027, 3, 31): "Later",
    }
    with pytest.raises(ClosureRejected) as info:
        plan(
            first_date=date(2027, 3, 3),
            session_count=4,
            policy="reject",
            closed=closed_on(closures),
        )
    assert info.value.skipped == (
        Skip(date(2027, 3, 3), "Staff training"),
        Skip(date(2027, 3, 24), "Flooring"),
    )
    assert "2027-03-03" in str(info.value)
    assert "2027-03-24" in str(info.value)
    assert len(plan(session_count=3, policy="reject").sessions) == 3  # nothing closed: plans


def test_make_up_weeks_can_themselves_be_skipped() -> None:
    closed = closed_on({date(2027, 3, 10): "A", date(2027, 3, 17): "B"})
    result = plan(first_date=date(2027, 3, 3), session_count=2, closed=closed)
    assert [s.local_date for s in result.sessions] == [date(2027, 3, 3), date(2027, 3, 24)]
    assert [s.day for s in result.skipped] == [date(2027, 3, 10), date(2027, 3, 17)]


def test_guard_stops_a_calendar_that_is_always_closed() -> None:
    asked: list[date] = []

    def always(day: date) -> str:
        asked.append(day)
        return "closed"

    with pytest.raises(CalendarExhausted) as info:
        plan(session_count=4, closed=always, max_weeks=10)
    assert len(asked) == 10
    assert len(info.value.skipped) == 10
    assert isinstance(info.value, ClosureRejected)
    with pytest.raises(CalendarExhausted):
        plan(session_count=2, closed=always)  # default guard: session_count + 26 weeks


# --- arguments -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"session_count": 0},
        {"first_number": 0},
        {"first_number": 3, "session_count": 4, "total": 5},
        {"duration": timedelta(0)},
        {"policy": "shift"},
        {"session_count": 5, "max_weeks": 4},
    ],
)
def test_bad_arguments_are_value_errors(overrides: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        plan(**overrides)


def test_expand_weekly_counts_calendar_days() -> None:
    assert expand_weekly(date(2027, 12, 30), 2) == [date(2027, 12, 30), date(2028, 1, 6)]
    assert expand_weekly(date(2027, 1, 1), 0) == []


# --- properties ----------------------------------------------------------------------------

quarter_hours = st.builds(
    time, st.integers(min_value=7, max_value=19), st.sampled_from([0, 15, 30, 45])
)
any_quarter_hour = st.builds(
    time, st.integers(min_value=0, max_value=23), st.sampled_from([0, 15, 30, 45])
)
first_dates = st.dates(min_value=date(2026, 1, 1), max_value=date(2028, 12, 31))


@given(
    zone=st.sampled_from(OFFICE_ZONES),
    first=first_dates,
    at=quarter_hours,
    count=st.integers(min_value=1, max_value=20),
    minutes=st.integers(min_value=15, max_value=120),
    closed_weeks=st.frozensets(st.integers(min_value=0, max_value=30), max_size=6),
)
def test_plan_keeps_wall_time_weekday_and_weekly_spacing(
    zone: str,
    first: date,
    at: time,
    count: int,
    minutes: int,
    closed_weeks: frozenset[int],
) -> None:
    closures = {first + timedelta(weeks=w): f"closure {w}" for w in closed_weeks}
    duration = timedelta(minutes=minutes)
    try:
        result = plan(
            zone=zone,
            first_date=first,
            start_time=at,
            session_count=count,
            duration=duration,
            closed=closed_on(closures),
        )
    except LocalTimeError:
        return
    tz = ZoneInfo(zone)
    sessions = result.sessions
    assert len(sessions) == count
    assert [s.number for s in sessions] == list(range(1, count + 1))
    for s in sessions:
        assert s.starts_at.utcoffset() == timedelta(0)
        assert s.ends_at - s.starts_at == duration
        local = s.starts_at.astimezone(tz)
        assert local.date() == s.local_date
        assert local.time() == at
        assert local.weekday() == first.weekday()
        assert local.utcoffset() == s.utc_offset
        assert s.local_date not in closures
    # Every week from the first to the last session is either a session or a recorded skip.
    planned = {s.local_date for s in sessions}
    skipped = {k.day for k in result.skipped}
    weeks = (sessions[-1].local_date - first).days // 7 + 1
    assert planned | skipped == set(expand_weekly(first, weeks))
    assert not planned & skipped
    for earlier, later in pairwise(sessions):
        gap = (later.local_date - earlier.local_date).days
        between = {d for d in skipped if earlier.local_date < d < later.local_date}
        assert gap == 7 * (1 + len(between))


@given(zone=st.sampled_from(OFFICE_ZONES), day=first_dates, at=any_quarter_hour)
def test_resolve_local_round_trips_or_explains(zone: str, day: date, at: time) -> None:
    tz = ZoneInfo(zone)
    naive = datetime.combine(day, at)
    try:
        resolved = resolve_local(day, at, zone)
    except LocalTimeError as err:
        assert err.local == naive
        assert zone != TUCSON
        # Only Sundays in March (gap) and November (fold) at 01:00-02:59 can fail.
        assert day.weekday() == 6 and day.month in (3, 11) and at.hour in (1, 2)
        round_trip = naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)
        if err.kind == "nonexistent":
            assert round_trip.replace(tzinfo=None) != naive
        else:
            assert err.kind == "ambiguous"
            assert naive.replace(tzinfo=tz, fold=1).utcoffset() != round_trip.utcoffset()
        return
    assert resolved.replace(tzinfo=None) == naive
    assert resolved.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive
