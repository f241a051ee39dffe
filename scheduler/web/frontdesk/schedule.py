"""An office's day and week, in the office's own local time."""

from __future__ import annotations

from datetime import date, timedelta

from flask import redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from ...locations import Location
from ...services import inbox
from ...texts.history import messages_for_sessions
from ..context import ctx, db
from . import access, present, reads
from .base import page_blueprint

bp = page_blueprint("schedule", __name__)

UPCOMING_DAYS = 7


def _today(loc: Location) -> date:
    return ctx().clock().astimezone(loc.tz).date()


def _day_arg(name: str, default: date) -> date:
    raw = request.args.get(name, "")
    try:
        return date.fromisoformat(raw) if raw else default
    except ValueError:
        return default


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
    endpoint = {"week": "schedule.week", "inbox": "inbox.office"}.get(view, "schedule.day")
    return redirect(url_for(endpoint, office_id=loc.id))


@bp.get("/offices/<office_id>/day")
def day(office_id: str) -> ResponseReturnValue:
    loc = access.location(office_id)
    _remember(loc)
    today = _today(loc)
    shown = _day_arg("date", today)
    sessions = reads.office_days(db(), loc, shown, 1)
    upcoming = reads.office_days(db(), loc, shown + timedelta(days=1), UPCOMING_DAYS - 1)
    texts = messages_for_sessions(db(), [s.id for s in [*sessions, *upcoming]])
    return render_template(
        "pages/day.html",
        loc=loc,
        shown=shown,
        today=today,
        sessions=sessions,
        upcoming=upcoming,
        texts=texts,
        prev_day=shown - timedelta(days=1),
        next_day=shown + timedelta(days=1),
        inbox_count=len(
            inbox.list_items(db(), office_ids=[loc.id], include_unrouted=False, status="open")
        ),
    )


@bp.get("/offices/<office_id>/week")
def week(office_id: str) -> ResponseReturnValue:
    loc = access.location(office_id)
    _remember(loc)
    today = _today(loc)
    shown = _day_arg("start", today)
    monday = shown - timedelta(days=shown.weekday())
    sessions = reads.office_days(db(), loc, monday, 7)
    days = [monday + timedelta(days=i) for i in range(7)]
    by_day = {d: [s for s in sessions if s.local_date == d] for d in days}
    zones = {d: present.zone_label(loc.timezone, d) for d in days}
    return render_template(
        "pages/week.html",
        loc=loc,
        today=today,
        monday=monday,
        days=days,
        by_day=by_day,
        texts=messages_for_sessions(db(), [s.id for s in sessions]),
        zone_changes=len(set(zones.values())) > 1,
        zones=zones,
        prev_week=monday - timedelta(weeks=1),
        next_week=monday + timedelta(weeks=1),
    )
