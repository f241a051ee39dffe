"""The visit an incoming free-text message is filed under (see `domain.reply_context`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Series, TherapySession
from ..domain.reply_context import LikelyVisit, VisitTimes, likely_visit

# A visit under way may already be marked attended; one ahead must still be scheduled.
_UNDER_WAY_STATUSES = ("scheduled", "attended")


def visit_for_text(
    db: Session, client_id: int, now: datetime, *, office_id: str | None = None
) -> LikelyVisit | None:
    """The client's visit a text received at `now` most likely concerns (one query)."""
    rows = db.execute(
        select(
            TherapySession.id,
            TherapySession.starts_at,
            TherapySession.ends_at,
            TherapySession.office_id,
            TherapySession.status,
        )
        .join(Series, Series.id == TherapySession.series_id)
        .where(
            Series.client_id == client_id,
            TherapySession.status.in_(_UNDER_WAY_STATUSES),
            TherapySession.ends_at > now,
        )
    ).all()
    visits = [
        VisitTimes(r.id, r.starts_at, r.ends_at, r.office_id)
        for r in rows
        if r.status == "scheduled" or r.starts_at <= now
    ]
    return likely_visit(visits, now, office_id=office_id)
