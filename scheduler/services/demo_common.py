"""What the demo's past (demo_history) and its courses (demo_course) both need: Tucson clients
that consent to texts, the office's next open weekday, and a context whose clock is stopped at
the moment a piece of history happened, so rows, audit entries and texts look as they would."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from ..db.models import Client
from . import directory
from .context import ServiceContext

OFFICE = "tucson"


def as_of(ctx: ServiceContext, when: datetime) -> ServiceContext:
    """The same context with its clock stopped at `when`."""
    return replace(ctx, clock=lambda: when)


def tucson_client(db: Session, ctx: ServiceContext, first: str, last: str, phone: str) -> Client:
    """A Tucson client who consents to reminders and goal prompts."""
    new = directory.NewClient(
        first_name=first,
        last_name=last,
        phone=phone,
        home_location_id=OFFICE,
        sms_consent=True,
        goal_prompt_consent=True,
    )
    return directory.create_client(db, ctx, new, actor="demo", source="demo")


def open_weekday(ctx: ServiceContext, day: date) -> date:
    """`day`, or the next weekday (Mon-Fri) Tucson has hours on."""
    hours = dict(ctx.locations[OFFICE].hours)
    while day.weekday() >= 5 or not hours.get(day.weekday()):
        day += timedelta(days=1)
    return day
