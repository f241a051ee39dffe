"""Read-side questions the edges ask (kept out of views so they stay thin)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select, union
from sqlalchemy.orm import Session, joinedload

from ..db.models import Client, Series, TherapySession, therapist_offices
from . import audit
from .row_loads import MEASURES


def local_day_bounds(zone: str, first: date, last: date) -> tuple[datetime, datetime]:
    """UTC instants spanning whole local days `first`..`last` in `zone` (DST-safe)."""
    tz = ZoneInfo(zone)
    start = datetime.combine(first, time(0), tz)
    end = datetime.combine(last + timedelta(days=1), time(0), tz)
    return start, end


def sessions_between(
    db: Session,
    *,
    start: datetime,
    end: datetime,
    office_id: str | None = None,
    therapist_id: int | None = None,
    where: ColumnElement[bool] | None = None,
    people: bool = False,
    measures: bool = False,
    viewed: tuple[audit.Viewed, str] | None = None,
) -> list[TherapySession]:
    """Sessions starting in [start, end); `where` narrows further (e.g. to a user's reach).

    `people`: load each session's client and therapist in the same query (a page that names
    them), so the page's statements do not grow with its rows. `measures`: which questionnaires
    each one has (their instruments only) in it too, for a list that marks "measure due"
    (`measures.due_instruments` then reads none). `viewed` (what, by whom): the read records
    that view of each session (`audit.listed_and_recorded`), for the request to commit.
    """
    query = select(TherapySession).where(
        TherapySession.starts_at >= start, TherapySession.starts_at < end
    )
    if where is not None:
        query = query.where(where)
    if office_id is not None:
        query = query.where(TherapySession.office_id == office_id)
    if therapist_id is not None:
        query = query.where(TherapySession.therapist_id == therapist_id)
    query = query.options(joinedload(TherapySession.series)).order_by(
        TherapySession.starts_at, TherapySession.id
    )
    if people:
        query = query.options(
            joinedload(TherapySession.series).joinedload(Series.client),
            joinedload(TherapySession.therapist),
        )
    if measures:
        query = query.options(MEASURES)
    if viewed is not None:
        what, actor = viewed
        return audit.listed_and_recorded(db, query, TherapySession, what, actor)
    return list(db.scalars(query).unique())


def therapist_office_ids(db: Session, therapist_id: int) -> set[str]:
    """Where a therapist works: the offices listed for them and those of their series."""
    listed = select(therapist_offices.c.office_id).where(
        therapist_offices.c.therapist_id == therapist_id
    )
    treating = select(Series.office_id).where(Series.therapist_id == therapist_id)
    return set(db.scalars(union(listed, treating)))


def client_office_ids(db: Session, client: Client) -> set[str]:
    """Where a client is known: the home office and the offices of their series."""
    treated = db.scalars(select(Series.office_id).where(Series.client_id == client.id).distinct())
    return {client.home_office_id, *treated}
