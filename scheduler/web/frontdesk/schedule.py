"""An office's day and week, in the office's own local time."""

from __future__ import annotations

from datetime import date, timedelta

from flask import redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from ...db.models import TherapySession
from ...inputs import day_arg
from ...locations import Location
from ...services import access as policy
from ...services.availability import closed_days
from ...services.text_state import states_from_texts
from ...texts.history import messages_for_sessions
from ..context import ctx, db
from ..reach import viewer
from . import access, attendance, grid, present, reads
from .base import page_blueprint
from .course_status import measure_due

bp = page_blueprint("schedule", __name__)


def _today(loc: Location) -> date:
    return ctx().clock().astimezone(loc.tz).date()


def _day_arg(name: str, default: date) -> date:
    return day_arg(request.args.get(name)) or default


def _remember(loc: Location) -> None:
    session["office"] = loc.id


@bp.get("/")
def landing() -> ResponseReturnValue:
    """Today at the office last chosen (or the first one this user may see)."""
    u = access.user()
    if u.role == "therapist" and u.therapist_id is not None:
        return redirect(url_for("people.therapist", therapist_id=u.therapist_id))
    offices = access.visible_locations(u)
    if not offices:
        return render_template("pages/error.html", status=403, message="No office to show."), 403
    chosen = session.get("office")
    loc = next((o for o in offices if o.id == chosen), offices[0])
    return redirect(url_for("schedule.day", office_id=loc.id))


@bp.get("/offices")
def switch() -> ResponseReturnValue:
    """The office picker in the header (a plain GET form, so it works without scripts)."""
    office_id = request.args.get("office", "")
    view = request.args.get("view", "day")
    loc = access.location(office_id)
    if view == "inbox":
        return redirect(url_for("inbox.everything", office=loc.id))
    endpoint = "schedule.week" if view == "week" else "schedule.day"
    return redirect(url_for(endpoint, office_id=loc.id))


def _grid_of_day(loc: Location, shown: date, sessions: list[TherapySession]) -> grid.Grid:
    """A column per therapist of the office (and any other therapist with a session there)."""
    active = [s for s in sessions if s.active]
    people = reads.office_therapists(
        db(),
        loc.id,
        with_ids=sorted({s.therapist_id for s in active}),
        where=policy.therapist_filter(viewer()),
    )
    specs = [
        grid.ColumnSpec(
            f"t{t.id}", t.name, shown, [s for s in active if s.therapist_id == t.id], t.id
        )
        for t in people
    ]
    shown_ids = {t.id for t in people}
    others = [s for s in active if s.therapist_id not in shown_ids]
    if others:  # a therapist outside the reader's reach covers a session here
        specs.append(grid.ColumnSpec("other", "Other therapist", shown, others))
    return grid.build(loc, specs, now=ctx().clock(), closed=closed_days(loc, [shown.year]))


def _grid_of_week(
    loc: Location, days: list[date], sessions: list[TherapySession], therapist_id: int | None
) -> grid.Grid:
    """A column per day; weekend days the office is shut and has nothing booked are left out."""
    active = [s for s in sessions if s.active]
    closed = closed_days(loc, sorted({d.year for d in days}))
    specs = []
    for d in days:
        booked = [s for s in active if s.local_date == d]
        if d.weekday() >= 5 and not booked and not loc.hours.get(d.weekday()):
            continue
        specs.append(grid.ColumnSpec(d.isoformat(), present.fmt_short_day(d), d, booked,
                                     therapist_id))  # fmt: skip
    return grid.build(loc, specs, now=ctx().clock(), closed=closed)


@bp.get("/offices/<office_id>/day")
def day(office_id: str) -> ResponseReturnValue:
    loc = access.location(office_id)
    _remember(loc)
    today = _today(loc)
    shown = _day_arg("date", today)
    sessions = reads.office_days(db(), loc, shown, 1, measures=True)
    texts = messages_for_sessions(db(), [s.id for s in sessions])
    return render_template(
        "pages/day.html",
        # From the texts just read and the clients read with the sessions: no query of its own.
        states=states_from_texts(sessions, texts),
        marks=attendance.for_sheet(sessions, loc, ctx().clock()),
        due=measure_due(sessions, ctx().clock()),
        back=request.full_path.rstrip("?"),
        loc=loc,
        shown=shown,
        today=today,
        sessions=sessions,
        grid=_grid_of_day(loc, shown, sessions),
        texts=texts,
        prev_day=shown - timedelta(days=1),
        next_day=shown + timedelta(days=1),
    )


@bp.get("/offices/<office_id>/week")
def week(office_id: str) -> ResponseReturnValue:
    loc = access.location(office_id)
    _remember(loc)
    today = _today(loc)
    shown = _day_arg("start", today)
    monday = shown - timedelta(days=shown.weekday())
    people = reads.office_therapists(db(), loc.id, where=policy.therapist_filter(viewer()))
    raw = request.args.get("therapist", "")
    chosen = next((t for t in people if raw.isdigit() and t.id == int(raw)), None)
    sessions = reads.office_days(db(), loc, monday, 7, therapist_id=chosen.id if chosen else None)
    days = [monday + timedelta(days=i) for i in range(7)]
    zones = {d: present.zone_label(loc.timezone, d) for d in days}
    return render_template(
        "pages/week.html",
        loc=loc,
        today=today,
        monday=monday,
        days=days,
        grid=_grid_of_week(loc, days, sessions, chosen.id if chosen else None),
        therapists=people,
        chosen=chosen,
        zone_changes=len(set(zones.values())) > 1,
        zones=zones,
        prev_week=monday - timedelta(weeks=1),
        next_week=monday + timedelta(weeks=1),
    )
