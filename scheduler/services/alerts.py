"""The safe path: urgent alerts for the treating therapist when an answer signals risk.

A PHQ-9 item 9 answer above "Not at all" raises an alert at once, in the same transaction
as the answer, and puts an admins-only item in the office's inbox so that someone makes sure
it is followed up. Nothing is texted about it: texts are not a crisis channel. An alert stays
open until the therapist (or an admin) acknowledges it with a note; every step is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Select, String, func, literal, null, select, union_all
from sqlalchemy.orm import Session, joinedload

from ..db.models import Alert, MeasureResponse, Series, TherapySession
from ..db.models.inbound import InboxItem
from . import audit, inbox, inbox_threads
from .errors import Invalid, NotFound

RISK_KIND = "phq9_item9"
NOTE_MIN, NOTE_MAX = 3, 2000


def raise_risk_alert(
    db: Session, measure: MeasureResponse, session: TherapySession, *, at: datetime
) -> Alert:
    """Open an urgent alert for the session's therapist and tell the admins (no text goes out)."""
    series = session.series
    alert = Alert(
        kind=RISK_KIND,
        level="urgent",
        status="open",
        therapist_id=session.therapist_id,
        office_id=session.office_id,
        client_id=series.client_id,
        series_id=series.id,
        session_id=session.id,
        measure_id=measure.id,
        created_at=at,
    )
    db.add(alert)
    db.flush()
    client = series.client
    inbox.open_item(
        db,
        office_id=session.office_id,
        kind="measure_alert",
        admins_only=True,
        summary=(
            f"Urgent: a questionnaire answer from {client.initials} (session {session.number} "
            f"with {series.therapist.name}) needs a clinician's attention today. Alert "
            f"#{alert.id} is with the therapist until acknowledged."
        ),
        at=at,
        client_id=series.client_id,
        session_id=session.id,
        series_id=series.id,
    )
    # No series_id on the entry: the series page's audit trail is read by the front desk.
    audit.record(
        db,
        actor="system",
        action="alert.raised",
        entity="alert",
        entity_id=alert.id,
        kind=RISK_KIND,
        therapist_id=session.therapist_id,
        session_id=session.id,
    )
    return alert


def _open(therapist_id: int | None) -> list[ColumnElement[bool]]:
    criteria = [Alert.status == "open"]
    if therapist_id is not None:
        criteria.append(Alert.therapist_id == therapist_id)
    return criteria


def open_alerts(
    db: Session, *, therapist_id: int | None, viewed_by: str | None = None
) -> list[Alert]:
    """Open alerts, oldest first: one therapist's, or every one (None, for admins).

    `viewed_by`: the read records that user's view of each alert (`audit.listed_and_recorded`),
    for the request to commit."""
    query = (
        select(Alert)
        .where(*_open(therapist_id))
        .options(
            joinedload(Alert.series).joinedload(Series.client),
            joinedload(Alert.session),
            joinedload(Alert.measure),
        )
        .order_by(Alert.created_at, Alert.id)
    )
    if viewed_by is None:
        return list(db.scalars(query).unique())
    return audit.listed_and_recorded(db, query, Alert, "alert", viewed_by)


def count_open(db: Session, *, therapist_id: int | None) -> int:
    """How many alerts are open (one indexed count; the page banner asks on every page)."""
    return int(db.scalar(_count_open(therapist_id)) or 0)


def _count_open(therapist_id: int | None) -> Select[tuple[int]]:
    return select(func.count()).select_from(Alert).where(*_open(therapist_id))


def unread_and_open(
    db: Session, user_id: int, *, inbox_where: ColumnElement[bool], therapist_id: int | None
) -> tuple[dict[str | None, int], int]:
    """The page header's two counts in one statement (an admin's): unread inbox items per
    office, as `inbox_threads.unread_counts`, and open alerts, as `count_open`."""
    unread = inbox_threads.unread_counts_query(user_id, where=inbox_where).subquery()
    both = union_all(
        select(literal(False), *unread.c),
        select(literal(True), null().cast(String), _count_open(therapist_id).scalar_subquery()),
    )
    counts: dict[str | None, int] = {}
    alerts = 0
    for is_alerts, office_id, n in db.execute(both):
        if is_alerts:
            alerts = int(n or 0)
        else:
            counts[office_id] = int(n)
    return counts, alerts


def alerts_of_series(db: Session, series_id: int) -> list[Alert]:
    query = select(Alert).where(Alert.series_id == series_id).order_by(Alert.created_at, Alert.id)
    return list(db.scalars(query))


def get_alert(db: Session, alert_id: int) -> Alert:
    found = db.get(Alert, alert_id)
    if found is None:
        raise NotFound("alert", alert_id)
    return found


def acknowledge(db: Session, alert_id: int, note: str, *, actor: str, at: datetime) -> Alert:
    """Close an alert with a note saying what was done; the admins' inbox item is resolved too."""
    text = " ".join((note or "").split())
    if not NOTE_MIN <= len(text) <= NOTE_MAX:
        raise Invalid({"note": f"say what was done ({NOTE_MIN}-{NOTE_MAX} characters)"})
    alert = db.execute(
        select(Alert).where(Alert.id == alert_id).with_for_update(of=Alert)
    ).scalar_one_or_none()
    if alert is None:
        raise NotFound("alert", alert_id)
    if alert.status != "open":
        raise Invalid({"status": "this alert was already acknowledged"})
    alert.status = "acknowledged"
    alert.acknowledged_at = at
    alert.acknowledged_by = actor
    alert.note = text
    audit.record(
        db,
        actor=actor,
        action="alert.acknowledged",
        entity="alert",
        entity_id=alert.id,
        note=text,
    )
    for item in _admin_items(db, alert):
        inbox.update_item(
            db,
            item.id,
            status="resolved",
            note=f"Alert #{alert.id} acknowledged by {actor}: {text}",
            actor=actor,
            at=at,
        )
    db.flush()
    return alert


def _admin_items(db: Session, alert: Alert) -> Sequence[InboxItem]:
    query = select(InboxItem).where(
        InboxItem.kind == "measure_alert",
        InboxItem.session_id == alert.session_id,
        InboxItem.status == "open",
    )
    return db.scalars(query).all()
