"""Series and sessions: book, read, list an office's days, change one session or a series."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from ...db.models import Client, Series, Therapist, TherapySession
from ...domain.series import Skip
from ...inputs import date_problem
from ...services import (
    access,
    attendance,
    booking,
    measures,
    session_changes,
    session_moves,
    session_reads,
    visible_rows,
)
from ...services.errors import Invalid
from ...services.queries import local_day_bounds
from ...services.session_changes import CancelledBy
from ...services.session_view import SessionView
from ...services.text_state import SessionTexts, states_of_views, text_states
from ..context import ctx, db, unit_of_work
from ..reach import allow, clinical, load, served
from ..render_cache import json_answer, renders
from . import serialize
from .auth import current_user
from .base import blueprint
from .schemas import SeriesIn, SeriesPatch, SessionPatch, parse

MAX_LIST_DAYS = 62


def _who_cancelled(cancelled_by: CancelledBy | None, hint: str) -> CancelledBy:
    """The required `cancelled_by` of a cancellation, or Invalid with `hint`."""
    if cancelled_by is None:
        raise Invalid({"cancelled_by": hint})
    return cancelled_by


def _series_json(
    session: Session, series: Series, skipped: tuple[Skip, ...] = ()
) -> dict[str, Any]:
    """A series with its sessions' text states and which questionnaires are due."""
    sessions = list(series.sessions)
    return serialize.series(
        series,
        skipped,
        text_states(session, sessions),
        clinical=clinical(series),
        now=ctx().clock(),
        due=measures.measure_due(session, sessions),
    )


@blueprint.post("/series")
def create_series() -> ResponseReturnValue:
    user = current_user()
    allow("use_front_desk")
    body = parse(SeriesIn)
    if ctx().locations.get(body.location_id):
        allow("book", body.location_id)
    # A client or therapist the caller does not reach reads exactly like one that is missing.
    visible_rows.get_visible(db(), user, Client, body.client_id, field="client_id")
    visible_rows.get_visible(db(), user, Therapist, body.therapist_id, field="therapist_id")
    if body.continues_series_id is not None:  # the course a maintenance series continues
        visible_rows.get_visible(
            db(), user, Series, body.continues_series_id, field="continues_series_id"
        )
    req = booking.SeriesRequest(**body.model_dump())
    with unit_of_work() as session:
        result = booking.book_series(session, ctx(), req, actor=user.email)
        out = _series_json(session, result.series, result.skipped)
    return jsonify(out), 201


@blueprint.get("/series/<int:series_id>")
def get_series(series_id: int) -> ResponseReturnValue:
    series = load(Series, series_id, viewed="series")  # records this view (see `load`)
    out = _series_json(db(), series)
    served()
    return jsonify(out)


_MEASURE_PLAN = ("measure_schedule", "measure_gad7")


@blueprint.patch("/series/<int:series_id>")
def change_series(series_id: int) -> ResponseReturnValue:
    user = current_user()
    found = load(Series, series_id)
    body = parse(SeriesPatch)
    given = body.model_dump(exclude_none=True)
    plan = any(k in given for k in _MEASURE_PLAN)
    actions = [k for k in ("session_count", "status") if k in given] + (["plan"] if plan else [])
    if len(actions) != 1:
        raise Invalid(
            {
                "body": "give exactly one of session_count, status or the measure plan "
                "(measure_schedule and/or measure_gad7)"
            }
        )
    if plan:
        allow("write_clinical", found)
        with unit_of_work() as session:
            series = measures.change_plan(
                session,
                ctx(),
                series_id,
                schedule=body.measure_schedule,
                gad7=body.measure_gad7,
                actor=user.email,
            )
            out = _series_json(session, series)
        return jsonify(out)
    allow("change_schedule", found)
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
        out = _series_json(session, series)
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
    # Desk staff see the office's whole schedule; a therapist lists their own sessions there.
    if access.reach(user).desk:
        allow("view_schedule", location_id)
    problems = {}
    days: dict[str, date] = {}
    for key in ("from", "to"):
        raw = args.get(key)
        try:
            days[key] = date.fromisoformat(raw) if raw else ctx().clock().astimezone(loc.tz).date()
        except ValueError:
            problems[key] = "must be a date like 2027-03-01"
        else:
            if problem := date_problem(days[key]):
                problems[key] = problem
    if problems:
        raise Invalid(problems)
    if days["to"] < days["from"]:
        raise Invalid({"to": "is before from"})
    if (days["to"] - days["from"]).days > MAX_LIST_DAYS:
        raise Invalid({"to": f"at most {MAX_LIST_DAYS} days after from"})
    start, end = local_day_bounds(loc.timezone, days["from"], days["to"])
    # The desk asks for the same week again and again: its JSON is kept while its rows stay
    # as they were (web.render_cache), and rendered afresh the moment any of them changes.
    version = (
        session_reads.between_version(db(), user, start=start, end=end, office_id=location_id)
        if renders().enabled
        else None
    )
    return json_answer(
        ("sessions", access.reach(user), location_id, start, end),
        version,
        lambda: _views_json(
            session_reads.between(db(), user, start=start, end=end, office_id=location_id)
        ),
    )


@blueprint.get("/sessions/<int:session_id>")
def get_session(session_id: int) -> ResponseReturnValue:
    user = current_user()
    # The read records this view in the audit log itself (in the same statement on PostgreSQL).
    s, texts = session_reads.one(db(), user, session_id, viewer=user.email)
    out = _views_json([s], {s.id: texts})[0]
    served()
    return jsonify(out)


def _views_json(
    views: list[SessionView], texts: dict[int, SessionTexts] | None = None
) -> list[dict[str, Any]]:
    """Sessions read as views (services.session_reads), as `session_json` shows one: the
    text states in one query (unless given), whether a questionnaire is due in at most one
    more."""
    due = measures.measure_due(db(), views)
    texts = texts if texts is not None else states_of_views(db(), views)
    reach = access.reach(current_user())
    return [
        serialize.session(
            v, texts[v.id], clinical=access.clinical_visible_in(reach, v), measure_due=due[v.id]
        )
        for v in views
    ]


def session_json(session: Session, s: TherapySession) -> dict[str, Any]:
    """A session with its text state, whether a questionnaire is due, and its clinical fields
    for readers allowed them."""
    return serialize.session(
        s,
        text_states(session, [s])[s.id],
        clinical=clinical(s),
        measure_due=measures.measure_due(session, [s])[s.id],
    )


MOVE_FIELDS = ("starts_at_local", "room", "therapist_id")


def move_request(given: dict[str, Any]) -> session_moves.MoveRequest:
    """The move asked for; a room left out stays, `"room": null` means none in particular."""
    return session_moves.MoveRequest(
        starts_at_local=given.get("starts_at_local"),
        room=given.get("room", session_moves.KEEP),
        therapist_id=given.get("therapist_id"),
    )


@blueprint.patch("/sessions/<int:session_id>")
def change_session(session_id: int) -> ResponseReturnValue:
    row = load(TherapySession, session_id)
    body = parse(SessionPatch)
    user = current_user()
    given = body.model_dump(exclude_unset=True)
    kinds = {"move": MOVE_FIELDS, "status": ("status",), "goal": ("weekly_goal",)}
    groups = [name for name, keys in kinds.items() if any(k in given for k in keys)]
    if len(groups) != 1:
        raise Invalid(
            {
                "body": "give one change: starts_at_local/room/therapist_id (a move), status, "
                "or weekly_goal"
            }
        )
    action = groups[0]
    if action == "goal":
        allow("write_clinical", row)
    elif action == "status" and body.status in (*attendance.MARKS, "scheduled"):
        allow("mark_attendance", row)
    else:
        allow("change_schedule", row)
    if action == "move" and given.get("therapist_id") is not None:
        # A therapist the caller does not reach reads exactly like one that is missing.
        visible_rows.get_visible(db(), user, Therapist, given["therapist_id"], field="therapist_id")
    with unit_of_work() as session:
        if action == "move":
            s = session_moves.move_session(
                session, ctx(), session_id, move_request(given), actor=user.email
            )
        elif action == "goal":
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
        elif body.status in attendance.MARKS:
            s = attendance.record(
                session, ctx(), session_id, body.status, actor=user.email, reason=body.reason
            )
        elif body.status == "scheduled":
            s = attendance.undo(session, ctx(), session_id, actor=user.email)
        else:
            raise Invalid({"status": "is required"})
        out = session_json(session, s)
    return jsonify(out)
