"""The reminder planner: lead times, quiet hours in the client's zone, DST, caps."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.domain.reminders import (
    CAP_EXEMPT,
    MessageKind,
    PlannedMessage,
    SessionSlot,
    TextingPolicy,
    apply_caps,
    immediate,
    is_allowed,
    plan_session_messages,
    reminder_kinds,
)

LA, NY, PHX, CHI = "America/Los_Angeles", "America/New_York", "America/Phoenix", "America/Chicago"
ZONES = (PHX, LA, NY, CHI)
DEFAULT = TextingPolicy()


def at(zone: str, y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    """A local wall time as an aware UTC instant."""
    return datetime(y, mo, d, h, mi, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def slot(
    start: datetime, *, number: int = 5, count: int = 16, status: str = "scheduled"
) -> SessionSlot:
    return SessionSlot(7, number, count, start, start + timedelta(minutes=50), status)


def plan(
    s: SessionSlot,
    zone: str,
    now: datetime,
    *,
    policy: TextingPolicy = DEFAULT,
    is_last: bool = False,
    goal_prompts: bool = True,
    next_starts_at: datetime | None = None,
) -> dict[str, PlannedMessage]:
    messages = plan_session_messages(
        s,
        client_zone=zone,
        policy=policy,
        now=now,
        is_last=is_last,
        goal_prompts=goal_prompts,
        next_starts_at=next_starts_at,
    )
    by_kind: dict[str, PlannedMessage] = {m.kind: m for m in messages}
    assert len(by_kind) == len(messages)
    return by_kind


EARLY = datetime(2027, 1, 1, tzinfo=UTC)

# --- quiet-hour window -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("h", "mi", "s", "allowed"),
    [(7, 59, 59, False), (8, 0, 0, True), (20, 59, 59, True), (21, 0, 0, False), (2, 0, 0, False)],
)
def test_window_edges(h: int, mi: int, s: int, allowed: bool) -> None:
    instant = datetime(2027, 6, 2, h, mi, s, tzinfo=ZoneInfo(CHI))
    assert is_allowed(instant, CHI, DEFAULT) is allowed


# --- reminders -------------------------------------------------------------------------


def test_default_evening_session() -> None:
    start = at(LA, 2027, 6, 2, 17)  # Wednesday
    p = plan(slot(start), LA, EARLY, next_starts_at=start + timedelta(days=7))
    assert p["reminder_24h"].send_at == at(LA, 2027, 6, 1, 17)
    assert p["reminder_2h"].send_at == at(LA, 2027, 6, 2, 15)
    assert p["reminder_24h"].expires_at == p["reminder_2h"].expires_at == start
    assert p["goal_prompt"].send_at == at(LA, 2027, 6, 4, 10)  # Friday 10:00
    assert p["goal_prompt"].expires_at == start + timedelta(days=7)
    assert "closing" not in p
    assert all(m.suppressed_reason is None for m in p.values())


def test_early_session_moves_2h_reminder_to_previous_evening() -> None:
    start = at(NY, 2027, 6, 2, 9)
    p = plan(slot(start), NY, EARLY)
    assert p["reminder_24h"].send_at == at(NY, 2027, 6, 1, 9)
    assert p["reminder_2h"].send_at == at(NY, 2027, 6, 1, 20, 59)


def test_late_reminder_moves_back_within_the_same_evening() -> None:
    start = at(NY, 2027, 6, 2, 21, 30)  # 24h lead lands at 21:30, just past the window
    p = plan(slot(start), NY, EARLY)
    assert p["reminder_24h"].send_at == at(NY, 2027, 6, 1, 20, 59)


def test_client_in_another_zone_gets_client_quiet_hours() -> None:
    start = at(NY, 2027, 6, 2, 8)  # 05:00 in Los Angeles
    p = plan(slot(start), LA, EARLY)
    assert p["reminder_24h"].send_at == at(LA, 2027, 5, 31, 20, 59)
    assert p["reminder_2h"].send_at == at(LA, 2027, 6, 1, 20, 59)
    # The same session for a New York client needs no moving at all.
    q = plan(slot(start), NY, EARLY)
    assert q["reminder_24h"].send_at == at(NY, 2027, 6, 1, 8)


def test_second_reminder_landing_on_the_first_is_suppressed() -> None:
    policy = TextingPolicy(reminder_leads=(timedelta(hours=4), timedelta(hours=2)))
    p = plan(slot(at(CHI, 2027, 6, 2, 9)), CHI, EARLY, policy=policy)
    assert p["reminder_24h"].send_at == at(CHI, 2027, 6, 1, 20, 59)
    assert p["reminder_2h"].send_at is None
    assert p["reminder_2h"].suppressed_reason == (
        "quiet hours moved it to or before the earlier reminder"
    )


def test_passed_reminder_is_suppressed_with_reason() -> None:
    start = at(LA, 2027, 6, 2, 17)
    p = plan(slot(start), LA, at(LA, 2027, 6, 1, 18))
    assert p["reminder_24h"].send_at is None
    assert p["reminder_24h"].suppressed_reason == "its time has passed"
    assert p["reminder_2h"].send_at == at(LA, 2027, 6, 2, 15)


def test_reminder_moved_into_the_past_is_suppressed() -> None:
    start = at(LA, 2027, 6, 2, 9)  # 2h lead is 07:00, moved to 20:59 the evening before
    p = plan(slot(start), LA, at(LA, 2027, 6, 1, 22))
    assert p["reminder_2h"].suppressed_reason == "quiet hours moved it into the past"


def test_cancelled_session_gets_only_suppressed_plans() -> None:
    p = plan(slot(at(LA, 2027, 6, 2, 17), status="cancelled"), LA, EARLY)
    assert set(p) == {"reminder_24h", "reminder_2h", "goal_prompt"}
    assert all(
        m.send_at is None and m.suppressed_reason == "session is cancelled" for m in p.values()
    )


def test_single_and_no_leads() -> None:
    assert [k for _, k in reminder_kinds(TextingPolicy(reminder_leads=(timedelta(hours=3),)))] == [
        "reminder_2h"
    ]
    assert [k for _, k in reminder_kinds(TextingPolicy(reminder_leads=(timedelta(days=2),)))] == [
        "reminder_24h"
    ]
    assert reminder_kinds(TextingPolicy(reminder_leads=())) == []


# --- DST weeks of 2027 -----------------------------------------------------------------


def test_24h_lead_is_elapsed_time_across_spring_forward() -> None:
    start = at(LA, 2027, 3, 14, 9)  # Sunday, the clocks went forward at 02:00
    p = plan(slot(start), LA, EARLY)
    assert p["reminder_24h"].send_at == at(LA, 2027, 3, 13, 8)  # 24 real hours: 08:00 PST


def test_24h_lead_across_spring_forward_into_quiet_hours() -> None:
    start = at(NY, 2027, 3, 14, 8, 30)  # 24 real hours earlier is 07:30 EST on Saturday
    p = plan(slot(start), NY, EARLY)
    assert p["reminder_24h"].send_at == at(NY, 2027, 3, 12, 20, 59)


def test_24h_lead_across_fall_back() -> None:
    start = at(CHI, 2027, 11, 7, 8, 30)  # Sunday, clocks went back at 02:00
    p = plan(slot(start), CHI, EARLY)
    assert p["reminder_24h"].send_at == at(CHI, 2027, 11, 6, 9, 30)  # 09:30 CDT


def test_goal_prompt_lands_at_local_ten_after_the_change() -> None:
    start = at(NY, 2027, 3, 12, 17)  # Friday; the prompt is Sunday, the first EDT day
    p = plan(slot(start), NY, EARLY)
    assert p["goal_prompt"].send_at == datetime(2027, 3, 14, 14, 0, tzinfo=UTC)
    start = at(NY, 2027, 11, 5, 17)
    p = plan(slot(start), NY, EARLY)
    assert p["goal_prompt"].send_at == datetime(2027, 11, 7, 15, 0, tzinfo=UTC)


def test_phoenix_does_not_shift_in_march() -> None:
    start = at(PHX, 2027, 3, 15, 9)
    p = plan(slot(start), PHX, EARLY)
    assert p["reminder_24h"].send_at == datetime(2027, 3, 14, 16, 0, tzinfo=UTC)


# --- goal prompts and closing ----------------------------------------------------------


def test_no_goal_prompt_without_consent_or_after_last() -> None:
    start = at(LA, 2027, 6, 2, 17)
    assert "goal_prompt" not in plan(slot(start), LA, EARLY, goal_prompts=False)
    last = plan(slot(start, number=16), LA, EARLY, is_last=True)
    assert "goal_prompt" not in last
    assert last["closing"].send_at == at(LA, 2027, 6, 3, 10)


def test_goal_prompt_suppressed_when_next_session_comes_first() -> None:
    start = at(LA, 2027, 6, 2, 17)
    p = plan(slot(start), LA, EARLY, next_starts_at=at(LA, 2027, 6, 4, 9))
    assert p["goal_prompt"].suppressed_reason == "the next appointment comes first"


def test_same_day_goal_prompt_before_session_end_is_suppressed() -> None:
    policy = TextingPolicy(goal_prompt_days_after=0)
    p = plan(slot(at(LA, 2027, 6, 2, 17)), LA, EARLY, policy=policy)
    assert p["goal_prompt"].suppressed_reason == "would arrive before the appointment ends"


# --- immediate notices -----------------------------------------------------------------


def test_notice_in_the_window_is_due_now() -> None:
    now = at(CHI, 2027, 6, 2, 14, 7)
    m = immediate("booking_confirmation", 7, now=now, client_zone=CHI, policy=DEFAULT)
    assert m.send_at == now
    assert m.expires_at is None


@pytest.mark.parametrize(
    ("zone", "now", "due"),
    [
        (CHI, at(CHI, 2027, 6, 2, 22, 30), at(CHI, 2027, 6, 3, 8)),
        (CHI, at(CHI, 2027, 6, 2, 6), at(CHI, 2027, 6, 2, 8)),
        (LA, at(LA, 2027, 3, 13, 23), at(LA, 2027, 3, 14, 8)),  # night of spring-forward
        (NY, at(NY, 2027, 11, 7, 1, 30), at(NY, 2027, 11, 7, 8)),  # inside the repeated hour
    ],
)
def test_notice_in_quiet_hours_waits_for_morning(zone: str, now: datetime, due: datetime) -> None:
    m = immediate("session_changed", 7, now=now, client_zone=zone, policy=DEFAULT)
    assert m.send_at == due


def test_notice_that_cannot_arrive_before_the_session_is_suppressed() -> None:
    now = at(LA, 2027, 6, 2, 22)
    start = at(NY, 2027, 6, 3, 10)  # 07:00 for the Los Angeles client
    m = immediate("session_changed", 7, now=now, client_zone=LA, policy=DEFAULT, starts_at=start)
    assert m.send_at is None
    assert m.suppressed_reason == "no allowed texting time before the appointment"
    assert m.expires_at == start


# --- caps ------------------------------------------------------------------------------


def msg(kind: MessageKind, send_at: datetime) -> PlannedMessage:
    return PlannedMessage(kind, 1, send_at, None, None)


def test_daily_cap_keeps_the_most_important() -> None:
    day = (2027, 6, 2)
    messages = [
        msg("goal_prompt", at(LA, *day, 10)),
        msg("booking_confirmation", at(LA, *day, 11)),
        msg("reminder_24h", at(LA, *day, 17)),
    ]
    out = apply_caps(messages, already_sent=[], client_zone=LA, policy=DEFAULT)
    assert [m.suppressed_reason for m in out] == ["daily cap", None, None]
    assert out[1] == messages[1] and out[2] == messages[2]


def test_already_sent_counts_towards_the_day() -> None:
    messages = [msg("reminder_2h", at(LA, 2027, 6, 2, 15))]
    sent = [at(LA, 2027, 6, 2, 9), at(LA, 2027, 6, 2, 9, 30)]
    out = apply_caps(messages, already_sent=sent, client_zone=LA, policy=DEFAULT)
    assert out[0].suppressed_reason == "daily cap"
    # The same instants are a different local day in New York: 2 per day is not reached there.
    late = [at(LA, 2027, 6, 1, 22), at(LA, 2027, 6, 1, 23)]  # June 2 after 01:00 in New York
    out = apply_caps(
        [msg("reminder_2h", at(NY, 2027, 6, 2, 15))],
        already_sent=late,
        client_zone=NY,
        policy=DEFAULT,
    )
    assert out[0].suppressed_reason == "daily cap"
    out = apply_caps(
        [msg("reminder_2h", at(LA, 2027, 6, 2, 15))],
        already_sent=late,
        client_zone=LA,
        policy=DEFAULT,
    )
    assert out[0].suppressed_reason is None


def test_weekly_cap_is_rolling_seven_local_days() -> None:
    sent = [at(LA, 2027, 6, d, 10) for d in (1, 2, 3, 4)]  # Tue..Fri
    inside = apply_caps(
        [msg("reminder_24h", at(LA, 2027, 6, 7, 10))],
        already_sent=sent,
        client_zone=LA,
        policy=DEFAULT,
    )
    assert inside[0].suppressed_reason == "weekly cap"  # Jun 1..7 would hold five
    after = apply_caps(
        [msg("reminder_24h", at(LA, 2027, 6, 8, 10))],
        already_sent=sent,
        client_zone=LA,
        policy=DEFAULT,
    )
    assert after[0].suppressed_reason is None  # Jun 2..8 holds four


def test_change_and_cancellation_notices_are_never_capped() -> None:
    sent = [at(LA, 2027, 6, 2, 9), at(LA, 2027, 6, 2, 9, 30)]
    messages = [
        msg("session_cancelled", at(LA, 2027, 6, 2, 12)),
        msg("session_changed", at(LA, 2027, 6, 2, 13)),
    ]
    out = apply_caps(messages, already_sent=sent, client_zone=LA, policy=DEFAULT)
    assert out == messages


def test_caps_break_ties_by_time_then_position() -> None:
    policy = TextingPolicy(max_per_day=1)
    messages = [
        msg("reminder_24h", at(LA, 2027, 6, 2, 12)),
        msg("reminder_24h", at(LA, 2027, 6, 2, 9)),
    ]
    out = apply_caps(messages, already_sent=[], client_zone=LA, policy=policy)
    assert [m.suppressed_reason for m in out] == ["daily cap", None]


def test_suppressed_inputs_pass_through() -> None:
    gone = PlannedMessage("reminder_2h", 1, None, "its time has passed", None)
    assert apply_caps([gone], already_sent=[], client_zone=LA, policy=DEFAULT) == [gone]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"quiet_start": time(21), "quiet_end": time(8)},
        {"quiet_start": time(2)},
        {"goal_prompt_at": time(22)},
        {"max_per_day": 0},
        {"reminder_leads": (timedelta(hours=1),) * 2},
        {"reminder_leads": (timedelta(hours=-1),)},
        {"reminder_leads": (timedelta(hours=1), timedelta(hours=2), timedelta(hours=3))},
        {"quiet_start": time(8, tzinfo=UTC)},
    ],
)
def test_policy_rejects_nonsense(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        TextingPolicy(**kwargs)  # type: ignore[arg-type]


def test_slot_requires_aware_times() -> None:
    with pytest.raises(ValueError, match="aware"):
        SessionSlot(1, 1, 12, datetime(2027, 6, 2, 17), datetime(2027, 6, 2, 18))


# --- properties ------------------------------------------------------------------------

DST_WEEKS = [date(2027, 3, 8) + timedelta(days=i) for i in range(13)] + [
    date(2027, 11, 1) + timedelta(days=i) for i in range(13)
]
session_days = st.one_of(
    st.sampled_from(DST_WEEKS), st.dates(min_value=date(2027, 1, 1), max_value=date(2027, 12, 31))
)
# Offices book from 07:00 to 21:00 local in quarter hours: never in a DST gap or fold.
session_times = st.integers(min_value=7 * 4, max_value=21 * 4).map(
    lambda q: time(q // 4, q % 4 * 15)
)
policies = st.builds(
    TextingPolicy,
    quiet_start=st.sampled_from([time(8), time(9), time(7, 30)]),
    quiet_end=st.sampled_from([time(21), time(20), time(18, 30)]),
    max_per_day=st.integers(1, 3),
    max_per_week=st.integers(1, 6),
    reminder_leads=st.sampled_from(
        [
            (timedelta(hours=24), timedelta(hours=2)),
            (timedelta(hours=48), timedelta(hours=3)),
            (timedelta(hours=4), timedelta(hours=1)),
            (timedelta(hours=24),),
        ]
    ),
)


def weekly_starts(office: str, first: date, at_time: time, n: int) -> list[datetime]:
    tz = ZoneInfo(office)
    return [
        datetime.combine(first + timedelta(weeks=k), at_time, tzinfo=tz).astimezone(UTC)
        for k in range(n)
    ]


def local_time_ok(instant: datetime, zone: str, policy: TextingPolicy) -> bool:
    local = instant.astimezone(ZoneInfo(zone)).time()
    return policy.quiet_start <= local < policy.quiet_end


@settings(max_examples=300, deadline=None)
@given(
    office=st.sampled_from(ZONES),
    client=st.sampled_from(ZONES),
    first=session_days,
    at_time=session_times,
    count=st.integers(2, 4),
    policy=policies,
    now_before=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=9)),
    goal_prompts=st.booleans(),
)
def test_planned_messages_respect_quiet_hours_and_session_start(
    office: str,
    client: str,
    first: date,
    at_time: time,
    count: int,
    policy: TextingPolicy,
    now_before: timedelta,
    goal_prompts: bool,
) -> None:
    starts = weekly_starts(office, first, at_time, count)
    now = starts[0] - now_before
    for k, start in enumerate(starts):
        s = SessionSlot(k + 1, k + 1, count, start, start + timedelta(minutes=50), "scheduled")
        nxt = starts[k + 1] if k + 1 < count else None
        plans = plan_session_messages(
            s, client_zone=client, policy=policy, now=now, is_last=nxt is None,
            goal_prompts=goal_prompts, next_starts_at=nxt,
        )  # fmt: skip
        reminder_times = []
        for m in plans:
            assert (m.send_at is None) != (m.suppressed_reason is None), m
            if m.send_at is None:
                continue
            assert m.send_at.utcoffset() == timedelta(0)
            assert local_time_ok(m.send_at, client, policy), m
            assert m.send_at >= now, m
            if m.kind.startswith("reminder"):
                assert m.send_at < start, m
                assert m.expires_at == start
                reminder_times.append(m.send_at)
            else:
                assert m.send_at > s.ends_at, m
            if m.kind == "goal_prompt":
                assert nxt is not None and m.send_at < nxt, m
        assert reminder_times == sorted(set(reminder_times))
        # Nothing is dropped for no reason: a first reminder whose natural time is allowed and
        # still ahead goes out at exactly that time.
        lead, kind = reminder_kinds(policy)[0]
        natural = start - lead
        if natural >= now and local_time_ok(natural, client, policy):
            assert next(m for m in plans if m.kind == kind).send_at == natural


@settings(max_examples=200, deadline=None)
@given(
    office=st.sampled_from(ZONES),
    client=st.sampled_from(ZONES),
    first=session_days,
    at_time=session_times,
    policy=policies,
    sent_offsets=st.lists(st.integers(-10 * 24 * 60, 20 * 24 * 60), max_size=6),
    notices=st.lists(
        st.tuples(
            st.sampled_from(["booking_confirmation", "session_changed", "session_cancelled"]),
            st.integers(0, 20 * 24 * 60),
        ),
        max_size=4,
    ),
)
def test_caps_hold_after_apply_caps(
    office: str,
    client: str,
    first: date,
    at_time: time,
    policy: TextingPolicy,
    sent_offsets: list[int],
    notices: list[tuple[MessageKind, int]],
) -> None:
    starts = weekly_starts(office, first, at_time, 3)
    now = starts[0] - timedelta(days=10)
    planned: list[PlannedMessage] = []
    for k, start in enumerate(starts):
        s = SessionSlot(k + 1, k + 1, 3, start, start + timedelta(minutes=50), "scheduled")
        nxt = starts[k + 1] if k < 2 else None
        planned += plan_session_messages(
            s, client_zone=client, policy=policy, now=now, is_last=nxt is None,
            goal_prompts=True, next_starts_at=nxt,
        )  # fmt: skip
    for kind, minutes in notices:
        planned.append(
            immediate(
                kind, None, now=now + timedelta(minutes=minutes), client_zone=client, policy=policy
            )
        )
    sent = [now + timedelta(minutes=m) for m in sent_offsets]

    out = apply_caps(planned, already_sent=sent, client_zone=client, policy=policy)
    assert apply_caps(planned, already_sent=sent, client_zone=client, policy=policy) == out

    tz = ZoneInfo(client)
    per_day = Counter(x.astimezone(tz).date() for x in sent)
    per_day.update(m.send_at.astimezone(tz).date() for m in out if m.send_at is not None)

    def week_total(start: date) -> int:
        return sum(per_day[start + timedelta(days=i)] for i in range(7))

    assert len(out) == len(planned)
    for before, after in zip(planned, out, strict=True):
        assert after.kind == before.kind
        if after.send_at is not None:
            assert after == before
        if before.kind in CAP_EXEMPT:
            assert after == before
        if before.send_at is None:
            assert after == before
        elif after.send_at is None:
            # Only the caps suppress here, and only when the message really did not fit.
            day = before.send_at.astimezone(tz).date()
            windows = [week_total(day - timedelta(days=i)) for i in range(7)]
            assert (after.suppressed_reason, per_day[day] >= policy.max_per_day) in {
                ("daily cap", True),
                ("weekly cap", False),
            }
            if after.suppressed_reason == "weekly cap":
                assert max(windows) >= policy.max_per_week
        if after.send_at is not None and after.kind not in CAP_EXEMPT:
            day = after.send_at.astimezone(tz).date()
            assert per_day[day] <= policy.max_per_day
            assert all(week_total(day - timedelta(days=i)) <= policy.max_per_week for i in range(7))
