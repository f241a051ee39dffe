"""Series and sessions: book, read, list an office's days, change one session or a series."""

from __future__ import annotations

from datetime import date
from typing import Any, TypeVar

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from ...db.models import Series, TherapySession, User
from ...domain.series import Skip
from ...services import booking, course_access, measures, session_changes
from ...services.errors import Forbidden, Invalid, NotFound
from ...services.queries import local_day_bounds, sessions_between
from ...services.session_changes import CancelledBy
from ..context import ctx, db, unit_of_work
from . import serialize
from .auth import current_user, require, require_access, require_office
from .base import blueprint
from .schemas import SeriesIn, SeriesPatch, SessionPatch, parse

MAX_LIST_DAYS = 62


_Row = TypeVar("_Row", Series, TherapySession)


def _load(model: type[_Row], what: str, row_id: int) -> _Row:
    """The series or session `row_id`, if the user may see it (else NotFound or Forbidden)."""
    row = db().get(model, row_id)
    if row is None:
        raise NotFound(what, row_id)
    require_access(row.office_id, row.therapist_id)
    return row


def _who_cancelled(cancelled_by: CancelledBy | None, hint: str) -> CancelledBy:
    """The required `cancelled_by` of a cancellation, or Invalid with `hint`."""
    if cancelled_by is None:
        raise Invalid({"cancelled_by": hint})
    return cancelled_by


def _series_json(series: Series, user: User, skipped: tuple[Skip, ...] = ()) -> dict[str, Any]:
    due = measures.measure_due(db(), list(series.sessions))
    return serialize.series(
        series,
        skipped,
        now=ctx().clock(),
        due=due,
        clinical=course_access.sees_clinical(user, series.therapist_id),
    )


def _continued_visible(user: User, series_id: int | None) -> None:
    """The course a maintenance series continues must be one the booker may see."""
    if series_id is None:
        return
    found = db().get(Series, series_id)
    if found is None:
        raise NotFound("series", series_id, field="continues_series_id")
    course_access.require_in_reach(
        user,
        found.office_id,
        found.therapist_id,
        what="series",
        ident=series_id,
        field="continues_series_id",
    )


@blueprint.post("/series")
def create_series() -> ResponseReturnValue:
    user = require("admin", "front_desk")
    body = parse(SeriesIn)
    if ctx().locations.get(body.location_id):
        require_office(body.location_id)
    _continued_visible(user, body.continues_series_id)
    req = booking.SeriesRequest(**body.model_dump())
    with unit_of_work() as session:
        result = booking.book_series(session, ctx(), req, actor=user.email)
        out = _series_json(result.series, user, result.skipped)
    return jsonify(out), 201


@blueprint.get("/series/<int:series_id>")
def get_series(series_id: int) -> ResponseReturnValue:
    return jsonify(_series_json(_load(Series, "series", series_id), current_user()))


_MEASURE_PLAN = ("measure_schedule", "measure_gad7")


@blueprint.patch("/series/<int:series_id>")
def change_series(series_id: int) -> ResponseReturnValue:
    body = parse(SeriesPatch)
    found = _load(Series, "series", series_id)
    given = body.model_dump(exclude_none=True)
    plan = [k for k in _MEASURE_PLAN if k in given]
    actions = [k for k in ("session_count", "status") if k in given] + (
        ["measure_plan"] if plan else []
    )
    if len(actions) != 1:
        raise Invalid(
            {
                "body": "give exactly one of session_count, status or the measure plan "
                "(measure_schedule and/or measure_gad7)"
            }
        )
    if plan:
        user = current_user()
        course_access.require_clinical(
            user, found.office_id, found.therapist_id, what="series", ident=series_id
        )
        with unit_of_work() as session:
            series = measures.change_plan(
                session,
                ctx(),
                series_id,
                schedule=body.measure_schedule,
                gad7=body.measure_gad7,
                actor=user.email,
            )
            out = _series_json(series, user)
        return jsonify(out)
    user = require("admin", "front_desk")
    with unit_of_work() as session:
        if body.session_count is not None:
            series = session_changes.renegotiate(
                session, ctx(), series_id, body.session_count, actor=user.email
            )
        else:
            series = session_changes.cancel_rest(
                session,
                ctx(),
                series_id,
                cancelled_by=_who_cancelled(body.cancelled_by, "is required to cancel a series"),
                reason=body.reason,
                actor=user.email,
            )
        out = _series_json(series, user)
    return jsonify(out)


@blueprint.get("/sessions")
def list_sessions() -> ResponseReturnValue:
    args = request.args
    location_id = args.get("location_id")
    if not location_id:
        raise Invalid({"location_id": "is required"})
    loc = ctx().locations.get(location_id)
    if loc is None:
        raise Invalid({"location_id": f"unknown location {location_id!r}"})
    user = current_user()
    therapist_id = user.therapist_id if user.role == "therapist" else None
    if user.role != "therapist":
        require_office(location_id)
    problems = {}
    days: dict[str, date] = {}
    for key in ("from", "to"):
        raw = args.get(key)
        try:
            days[key] = date.fromisoformat(raw) if raw else ctx().clock().astimezone(loc.tz).date()
        except ValueError:
            problems[key] = "must be a date like 2027-03-01"
    if problems:
        raise Invalid(problems)
    if days["to"] < days["from"]:
        raise Invalid({"to": "is before from"})
    if (days["to"] - days["from"]).days > MAX_LIST_DAYS:
        raise Invalid({"to": f"at most {MAX_LIST_DAYS} days after from"})
    start, end = local_day_bounds(loc.timezone, days["from"], days["to"])
    found = sessions_between(
        db(), start=start, end=end, office_id=location_id, therapist_id=therapist_id
    )
    due = measures.measure_due(db(), found)
    return jsonify([serialize.session(s, due[s.id]) for s in found])


def _session_json(s: TherapySession) -> dict[str, Any]:
    return serialize.session(s, measures.measure_due(db(), [s])[s.id])


@blueprint.get("/sessions/<int:session_id>")
def get_session(session_id: int) -> ResponseReturnValue:
    return jsonify(_session_json(_load(TherapySession, "session", session_id)))


@blueprint.patch("/sessions/<int:session_id>")
def change_session(session_id: int) -> ResponseReturnValue:
    body = parse(SessionPatch)
    _load(TherapySession, "session", session_id)
    user = current_user()
    given = body.model_dump(exclude_unset=True)
    actions = [k for k in ("starts_at_local", "status", "weekly_goal") if k in given]
    if len(actions) != 1:
        raise Invalid({"body": "give exactly one of starts_at_local, status or weekly_goal"})
    action = actions[0]
    if user.role == "therapist" and not (
        action == "weekly_goal" or body.status in ("attended", "no_show")
    ):
        raise Forbidden("therapists may set the weekly goal and attendance only")
    with unit_of_work() as session:
        if action == "starts_at_local":
            when = body.starts_at_local
            if when is None or when.tzinfo is not None:
                raise Invalid(
                    {
                        "starts_at_local": "must be a local time without offset, "
                        "like 2027-03-03T18:00"
                    }
                )
            s = session_changes.reschedule(session, ctx(), session_id, when, actor=user.email)
        elif action == "weekly_goal":
            s = session_changes.set_weekly_goal(
                session, session_id, body.weekly_goal, actor=user.email
            )
        elif body.status == "cancelled":
            s = session_changes.cancel(
                session,
                ctx(),
                session_id,
                cancelled_by=_who_cancelled(body.cancelled_by, "is required: client or practice"),
                make_up=body.make_up,
                reason=body.reason,
                actor=user.email,
            )
        elif body.status in ("attended", "no_show"):
            s = session_changes.mark(session, ctx(), session_id, body.status, actor=user.email)
        else:
            raise Invalid({"status": "is required"})
        out = _session_json(s)
    return jsonify(out)
