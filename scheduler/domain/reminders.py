"""What to text when: reminder lead times, quiet hours in the client's zone, per-client caps.

Pure planning: plain values in, `PlannedMessage` values out. The caller stores the plans as
rows; a dispatcher sends the due ones. Every instant here is aware; outputs are in UTC.

Rules, stated once:
- Allowed window: `quiet_start <= local time < quiet_end` in the CLIENT's zone (the names
  follow the settings: the window is where texting is allowed, the rest is quiet).
- A reminder whose natural time (session start minus lead, in elapsed time) falls in quiet
  hours moves EARLIER, to the last allowed minute before it: `quiet_end` minus one minute
  (20:59 by default) on the same evening, or on the previous evening if it fell in the early
  morning. Moving earlier keeps the reminder useful; moving later could pass the start.
- A reminder is suppressed, with a reason, if it would be at/after the session start, in the
  past (`now`), or not strictly after the reminder planned before it for the same session.
- Of the lead times, the longest is kind "reminder_24h" and the shortest "reminder_2h" (the
  kinds name the defaults). A single lead is "reminder_24h" if it is 12 hours or more.
- Goal prompt: `goal_prompt_days_after` local days after the session's local date, at
  `goal_prompt_at`; never after the last session, never at/after the next session start.
- Closing: `closing_days_after` local days after the last session, at `goal_prompt_at`.
- Questionnaire link ("measure_link"), for sessions where the measure plan asks for one:
  24 hours before the start (elapsed time), moved earlier out of quiet hours like a reminder;
  it expires when the session starts.
- Notices (booking, change, cancellation, a new series length, the rest of a series
  cancelled) are due now; in quiet hours they wait for the next
  allowed moment instead of being dropped.
- Caps: per client, at most `max_per_day` per local day and `max_per_week` in any 7
  consecutive local days (rolling, not ISO weeks, so no "Sunday + Monday" bursts).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

MessageKind = Literal[
    "booking_confirmation",
    "session_changed",
    "session_cancelled",
    "series_changed",
    "series_cancelled",
    "reminder_24h",
    "reminder_2h",
    "goal_prompt",
    "closing",
    "measure_link",
]

# Statuses for which a session still gets reminders and follow-ups; any other status
# (cancelled, missed, ...) yields suppressed plans whose reason names the status.
REMINDABLE_STATUSES = frozenset({"scheduled", "confirmed"})

# Lower wins when a cap is reached.
CAP_PRIORITY: dict[str, int] = {
    "session_cancelled": 0,
    "session_changed": 0,
    "series_changed": 0,
    "series_cancelled": 0,
    "reminder_2h": 1,
    "reminder_24h": 2,
    "booking_confirmation": 3,
    "goal_prompt": 4,
    "closing": 5,
    # Last: when a cap bites, the questionnaire is handed over in the office instead.
    "measure_link": 6,
}
# Change and cancellation notices count towards the caps but are never dropped by them:
# a client who misses one may travel to an appointment that no longer exists.
CAP_EXEMPT = frozenset(
    {"session_cancelled", "session_changed", "series_changed", "series_cancelled"}
)

# How long a goal prompt or closing text stays worth sending if dispatch is delayed and no
# next session bounds it.
FOLLOW_UP_LIFETIME = timedelta(days=3)
# The private questionnaire link goes out this long before the session.
MEASURE_LINK_LEAD = timedelta(hours=24)
_ONE_MINUTE = timedelta(minutes=1)
# Window edges at or after 04:00 can never sit in a DST gap or fold (US changes at 02:00).
_EARLIEST_WINDOW_START = time(4)


@dataclass(frozen=True)
class TextingPolicy:
    """When texting is allowed (client local time) and how much of it."""

    quiet_start: time = time(8)
    quiet_end: time = time(21)
    max_per_day: int = 2
    max_per_week: int = 4
    reminder_leads: tuple[timedelta, ...] = (timedelta(hours=24), timedelta(hours=2))
    goal_prompt_days_after: int = 2
    goal_prompt_at: time = time(10)
    closing_days_after: int = 1

    def __post_init__(self) -> None:
        for name in ("quiet_start", "quiet_end", "goal_prompt_at"):
            if getattr(self, name).tzinfo is not None:
                raise ValueError(f"{name} is a local wall time and must be naive")
        if not _EARLIEST_WINDOW_START <= self.quiet_start < self.quiet_end:
            raise ValueError("quiet_start must be 04:00 or later and before quiet_end")
        if self.last_allowed < self.quiet_start:
            raise ValueError("the allowed window must be at least one minute long")
        if not self.quiet_start <= self.goal_prompt_at <= self.last_allowed:
            raise ValueError("goal_prompt_at must fall inside the allowed window")
        if self.max_per_day < 1 or self.max_per_week < 1:
            raise ValueError("max_per_day and max_per_week must be at least 1")
        leads = self.reminder_leads
        if len(leads) > 2 or len(set(leads)) != len(leads) or any(x <= timedelta(0) for x in leads):
            raise ValueError("reminder_leads: at most two distinct positive durations")
        if self.goal_prompt_days_after < 0 or self.closing_days_after < 0:
            raise ValueError("goal_prompt_days_after and closing_days_after must be >= 0")

    @property
    def last_allowed(self) -> time:
        """The last minute of the allowed window, where quiet-hour moves land."""
        return (datetime.combine(date(2000, 1, 1), self.quiet_end) - _ONE_MINUTE).time()


@dataclass(frozen=True)
class SessionSlot:
    """The facts about one session that planning needs."""

    session_id: int
    number: int
    session_count: int
    starts_at: datetime
    ends_at: datetime
    status: str = "scheduled"

    def __post_init__(self) -> None:
        _require_aware(self.starts_at, "starts_at")
        _require_aware(self.ends_at, "ends_at")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")


@dataclass(frozen=True)
class PlannedMessage:
    """A text to send at `send_at` (UTC), or a suppressed one (`send_at` None) with a reason."""

    kind: MessageKind
    session_id: int | None
    send_at: datetime | None
    suppressed_reason: str | None
    expires_at: datetime | None

    @property
    def suppressed(self) -> bool:
        return self.send_at is None


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")


def _wall(day: date, at: time, tz: ZoneInfo) -> datetime:
    """A local wall time in `tz` as a UTC instant (zoneinfo applies that day's offset)."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def is_allowed(instant: datetime, client_zone: str, policy: TextingPolicy) -> bool:
    """True when `instant` is inside the allowed texting window, client local time."""
    _require_aware(instant, "instant")
    local = instant.astimezone(ZoneInfo(client_zone)).time()
    return policy.quiet_start <= local < policy.quiet_end


def latest_allowed_at_or_before(
    instant: datetime, client_zone: str, policy: TextingPolicy
) -> datetime:
    """`instant` itself if allowed, else the last allowed minute before it."""
    if is_allowed(instant, client_zone, policy):
        return instant.astimezone(UTC)
    tz = ZoneInfo(client_zone)
    local = instant.astimezone(tz)
    evening = local.date() if local.time() >= policy.quiet_end else local.date() - timedelta(1)
    return _wall(evening, policy.last_allowed, tz)


def next_allowed_at_or_after(
    instant: datetime, client_zone: str, policy: TextingPolicy
) -> datetime:
    """`instant` itself if allowed, else the start of the next allowed window."""
    if is_allowed(instant, client_zone, policy):
        return instant.astimezone(UTC)
    tz = ZoneInfo(client_zone)
    local = instant.astimezone(tz)
    morning = local.date() if local.time() < policy.quiet_start else local.date() + timedelta(1)
    return _wall(morning, policy.quiet_start, tz)


def reminder_kinds(policy: TextingPolicy) -> list[tuple[timedelta, MessageKind]]:
    """Each reminder lead with its message kind, longest lead first."""
    leads = sorted(policy.reminder_leads, reverse=True)
    if len(leads) == 2:
        return [(leads[0], "reminder_24h"), (leads[1], "reminder_2h")]
    if len(leads) == 1:
        return [(leads[0], "reminder_24h" if leads[0] >= timedelta(hours=12) else "reminder_2h")]
    return []


def _planned(
    kind: MessageKind,
    session_id: int | None,
    send_at: datetime,
    reason: str | None,
    expires_at: datetime | None,
) -> PlannedMessage:
    if reason is not None:
        return PlannedMessage(kind, session_id, None, reason, expires_at)
    return PlannedMessage(kind, session_id, send_at, None, expires_at)


def plan_session_messages(
    slot: SessionSlot,
    *,
    client_zone: str,
    policy: TextingPolicy,
    now: datetime,
    is_last: bool,
    goal_prompts: bool,
    next_starts_at: datetime | None = None,
    measure_link: bool = False,
) -> list[PlannedMessage]:
    """Reminders, goal prompt, closing text and questionnaire link for one session (see the
    module rules); `measure_link` when the measure plan asks for a questionnaire there."""
    _require_aware(now, "now")
    if next_starts_at is not None:
        _require_aware(next_starts_at, "next_starts_at")
    tz = ZoneInfo(client_zone)
    sid = slot.session_id
    kinds: list[MessageKind] = [kind for _, kind in reminder_kinds(policy)]
    if goal_prompts and not is_last:
        kinds.append("goal_prompt")
    if is_last:
        kinds.append("closing")
    if measure_link:
        kinds.append("measure_link")
    if slot.status not in REMINDABLE_STATUSES:
        why = f"session is {slot.status}"
        return [PlannedMessage(kind, sid, None, why, None) for kind in kinds]

    plans: list[PlannedMessage] = []
    previous: datetime | None = None
    reason: str | None
    for lead, kind in reminder_kinds(policy):
        natural = slot.starts_at - lead  # elapsed time: "24 hours before" across DST too
        send_at = latest_allowed_at_or_before(natural, client_zone, policy)
        moved = send_at != natural
        reason = None
        if send_at >= slot.starts_at:
            reason = "no allowed texting time before the appointment"
        elif send_at < now:
            reason = "quiet hours moved it into the past" if moved else "its time has passed"
        elif previous is not None and send_at <= previous:
            reason = "quiet hours moved it to or before the earlier reminder"
        plans.append(_planned(kind, sid, send_at, reason, slot.starts_at))
        if reason is None:
            previous = send_at

    local_day = slot.starts_at.astimezone(tz).date()
    if goal_prompts and not is_last:
        day = local_day + timedelta(days=policy.goal_prompt_days_after)
        send_at = _wall(day, policy.goal_prompt_at, tz)
        expires = next_starts_at if next_starts_at is not None else send_at + FOLLOW_UP_LIFETIME
        reason = None
        if send_at <= slot.ends_at:
            reason = "would arrive before the appointment ends"
        elif next_starts_at is not None and send_at >= next_starts_at:
            reason = "the next appointment comes first"
        elif send_at < now:
            reason = "its time has passed"
        plans.append(_planned("goal_prompt", sid, send_at, reason, expires))

    if is_last:
        day = local_day + timedelta(days=policy.closing_days_after)
        send_at = _wall(day, policy.goal_prompt_at, tz)
        reason = None
        if send_at <= slot.ends_at:
            reason = "would arrive before the appointment ends"
        elif send_at < now:
            reason = "its time has passed"
        plans.append(_planned("closing", sid, send_at, reason, send_at + FOLLOW_UP_LIFETIME))

    if measure_link:
        natural = slot.starts_at - MEASURE_LINK_LEAD
        send_at = latest_allowed_at_or_before(natural, client_zone, policy)
        reason = None
        if send_at >= slot.starts_at:
            reason = "no allowed texting time before the appointment"
        elif send_at < now:
            reason = "its time has passed"
        plans.append(_planned("measure_link", sid, send_at, reason, slot.starts_at))
    return plans


def immediate(
    kind: MessageKind,
    session_id: int | None,
    *,
    now: datetime,
    client_zone: str,
    policy: TextingPolicy,
    starts_at: datetime | None = None,
) -> PlannedMessage:
    """A notice due now, or at the next allowed moment if now is quiet.

    With `starts_at` (the session the notice is about), the notice expires then, and is
    suppressed if quiet hours would hold it until the session has begun.
    """
    _require_aware(now, "now")
    send_at = next_allowed_at_or_after(now, client_zone, policy)
    reason = None
    if starts_at is not None:
        _require_aware(starts_at, "starts_at")
        if send_at >= starts_at:
            reason = "no allowed texting time before the appointment"
    return _planned(kind, session_id, send_at, reason, starts_at)


def apply_caps(
    messages: Sequence[PlannedMessage],
    *,
    already_sent: Sequence[datetime],
    client_zone: str,
    policy: TextingPolicy,
) -> list[PlannedMessage]:
    """Suppress what would break one client's daily or rolling-weekly cap.

    `messages` are all of the client's pending plans; `already_sent` the send instants of
    texts already out. Messages are admitted by priority (CAP_PRIORITY), then time, then
    input position, so the result is deterministic; it keeps the input order.
    """
    tz = ZoneInfo(client_zone)
    per_day: Counter[date] = Counter(s.astimezone(tz).date() for s in already_sent)

    def window_full(day: date) -> bool:
        # Every 7-day window containing `day` must stay under the cap.
        for offset in range(7):
            start = day - timedelta(days=offset)
            if sum(per_day[start + timedelta(days=k)] for k in range(7)) >= policy.max_per_week:
                return True
        return False

    result = list(messages)
    live = [i for i, m in enumerate(messages) if m.send_at is not None]
    live.sort(key=lambda i: (CAP_PRIORITY[messages[i].kind], messages[i].send_at, i))
    for i in live:
        message = messages[i]
        if message.send_at is None:  # cannot happen (filtered above); narrows the type
            continue
        day = message.send_at.astimezone(tz).date()
        if message.kind not in CAP_EXEMPT:
            if per_day[day] >= policy.max_per_day:
                result[i] = replace(message, send_at=None, suppressed_reason="daily cap")
                continue
            if window_full(day):
                result[i] = replace(message, send_at=None, suppressed_reason="weekly cap")
                continue
        per_day[day] += 1
    return result
