"""The demo's past: a series already under way, with attendance, texts and an inbox to work.

So every part of the app can be tried at once: a Tucson client five weeks into a 12-week
series with Dr. Ana Reyes (sessions attended, one no-show, a weekly goal agreed and rated by
text, so her next session has a weekly review), a session earlier today whose attendance is
still to be recorded (when Tucson has been open long enough today), and an inbox with a
reschedule request, a free-text reply and an undeliverable phone.

History is written through the same use cases staff and clients use, each run with the clock
set to when it happened (`demo_common.as_of`), so rows, audit entries and texts look as they would.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta
from typing import Literal

from sqlalchemy.orm import Session

from ..db.models import Client, OutboundMessage, Series, Therapist, TherapySession
from . import booking, demo_course, inbound, inbox, session_changes
from .context import ServiceContext
from .demo_common import OFFICE, as_of, open_weekday, tucson_client
from .errors import Conflict

WEEKS_AGO = 5
GOAL = "Ask my sister to lunch and tell her about the new job"
_sids = itertools.count(1)


def _sid() -> str:
    return f"SMdemo{next(_sids):026x}"


def seed_history(db: Session, ctx: ServiceContext, ana: Therapist, clients: list[Client]) -> None:
    """Past sessions with attendance, a goal and its rating, and three inbox items."""
    loc = ctx.locations[OFFICE]
    now = ctx.clock()
    today = now.astimezone(loc.tz).date()
    elena = tucson_client(db, ctx, "Elena", "Ruiz", "+15205550164")
    series = _past_series(db, ctx, ana, elena, today - timedelta(weeks=WEEKS_AGO), time(16))
    _attendance(db, ctx, series, now)
    _goal_and_rating(db, ctx, series, now)
    demo_course.seed_courses(db, ctx, ana, series)
    _session_today(db, ctx, ana, now)
    _inbox(db, ctx, clients, now)


def _past_series(
    db: Session, ctx: ServiceContext, ana: Therapist, client: Client, first: date, at: time
) -> Series:
    loc = ctx.locations[OFFICE]
    first = open_weekday(ctx, first)
    booked_at = datetime.combine(first - timedelta(days=3), time(10), loc.tz)
    request = booking.SeriesRequest(
        client_id=client.id,
        therapist_id=ana.id,
        location_id=OFFICE,
        first_session_date=first,
        start_time=at,
        session_count=12,
        problem_area="role_transition",
        room="Room 2",
    )
    return booking.book_series(db, as_of(ctx, booked_at), request, actor="demo").series


def _attendance(db: Session, ctx: ServiceContext, series: Series, now: datetime) -> None:
    """Every past session attended, except the third: a no-show."""
    for s in series.sessions:
        if s.ends_at > now:
            break
        status: Literal["attended", "no_show"] = "no_show" if s.number == 3 else "attended"
        session_changes.mark(db, as_of(ctx, s.ends_at), s.id, status, actor="desk@demo.invalid")


def _goal_and_rating(db: Session, ctx: ServiceContext, series: Series, now: datetime) -> None:
    """The goal of the last attended session whose prompt (two days later) has gone out,
    rated 4 by text. (A session attended earlier today has no prompt yet.)"""
    prompt_after = timedelta(days=2)
    done = [
        s for s in series.sessions if s.status == "attended" and s.starts_at + prompt_after < now
    ]
    if not done:
        return
    last = done[-1]
    session_changes.set_weekly_goal(db, last.id, GOAL, actor="ana.reyes@demo.invalid")
    sent_at = last.starts_at + prompt_after
    loc = ctx.locations[OFFICE]
    client = series.client
    db.add(
        OutboundMessage(
            client_id=client.id,
            session_id=last.id,
            series_id=series.id,
            office_id=OFFICE,
            kind="goal_prompt",
            send_at=sent_at,
            expires_at=sent_at + timedelta(hours=10),
            status="delivered",
            provider_sid=_sid(),
            body=f"Hi {client.first_name}, how did this week go? Reply 1-5 (5 = great).",
            sent_at=sent_at,
            created_at=sent_at - timedelta(days=2),
            updated_at=sent_at,
        )
    )
    db.flush()
    for minutes, body in ((40, "4"), (42, "Lunch is on Saturday, a bit nervous")):
        sms = inbound.InboundSms(_sid(), client.phone, loc.sms_number, body)
        inbound.receive(db, as_of(ctx, sent_at + timedelta(minutes=minutes)), sms)


def _session_today(db: Session, ctx: ServiceContext, ana: Therapist, now: datetime) -> None:
    """A session that began earlier today, waiting for its attendance (if Tucson was open).

    An hour ago where Dr. Reyes is free then; her other demo series meet on today's weekday
    too (Elena's at 4 PM), so two and three hours ago are the fallbacks.
    """
    loc = ctx.locations[OFFICE]
    local = now.astimezone(loc.tz)
    client = None
    for hours_ago in (1, 2, 3):
        start = (local - timedelta(hours=hours_ago)).replace(minute=0, second=0, microsecond=0)
        end = start + timedelta(minutes=50)
        if start.date() != local.date() or not loc.is_open(start.date(), start.time(), end.time()):
            continue
        client = client or tucson_client(db, ctx, "Grace", "Holm", "+15205550158")
        request = booking.SeriesRequest(
            client_id=client.id,
            therapist_id=ana.id,
            location_id=OFFICE,
            first_session_date=start.date() - timedelta(weeks=1),
            start_time=start.time(),
            session_count=12,
            problem_area="grief",
            room="Room 1",
        )
        try:
            with db.begin_nested():
                series = booking.book_series(
                    db, as_of(ctx, start - timedelta(weeks=2)), request, actor="demo"
                )
        except Conflict:
            continue  # Dr. Reyes is with another demo client then
        first: TherapySession = series.series.sessions[0]
        session_changes.mark(db, as_of(ctx, first.ends_at), first.id, "attended", actor="demo")
        return


def _inbox(db: Session, ctx: ServiceContext, clients: list[Client], now: datetime) -> None:
    """A reschedule request, a free-text reply and a phone texts cannot reach."""
    maria, james, _priya, tom = clients
    tucson, miami = ctx.locations[OFFICE], ctx.locations["miami"]
    texts = [
        (maria, tucson, "R", 95),
        (james, tucson, "Running 10 minutes late today, sorry!", 30),
        (tom, miami, "Can we switch to mornings from next month?", 200),
    ]
    for client, loc, body, minutes_ago in texts:
        sms = inbound.InboundSms(_sid(), client.phone, loc.sms_number, body)
        inbound.receive(db, as_of(ctx, now - timedelta(minutes=minutes_ago)), sms)
    dana = tucson_client(db, ctx, "Dana", "Whitfield", "+15205550199")
    reason = "the carrier reports the number is not a mobile phone (Twilio 21614)"
    dana.phone_undeliverable_at = now - timedelta(hours=3)
    dana.phone_undeliverable_reason = reason
    inbox.report_undeliverable_phone(db, dana, reason, at=now - timedelta(hours=3))
