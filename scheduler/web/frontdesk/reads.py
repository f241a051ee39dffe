"""Read-only look-ups the pages need beyond `services.queries` (no writes, no rules).

Lists take `where`: the reader's reach from `services.access`, applied in the query.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from ...db.models import AuditEntry, Client, Series, Therapist, TherapySession, therapist_offices
from ...db.models.practice import CLIENT_SEARCH_NAME
from ...locations import Location
from ...services.audit import Viewed
from ...services.queries import local_day_bounds, sessions_between

SEARCH_LIMIT = 25


def office_days(
    db: Session,
    loc: Location,
    first: date,
    days: int,
    *,
    therapist_id: int | None = None,
    measures: bool = False,
) -> list[TherapySession]:
    """Sessions at the office over `days` whole local days from `first`, with their clients;
    `measures`: and which questionnaires they have (the day sheet marks "measure due")."""
    start, end = local_day_bounds(loc.timezone, first, first + timedelta(days=days - 1))
    return sessions_between(
        db,
        start=start,
        end=end,
        office_id=loc.id,
        therapist_id=therapist_id,
        people=True,
        measures=measures,
    )


def therapist_days(
    db: Session,
    therapist_id: int,
    zone: str,
    first: date,
    days: int,
    *,
    where: ColumnElement[bool],
    viewed: tuple[Viewed, str] | None = None,
) -> list[TherapySession]:
    """The therapist's sessions over `days` whole local days from `first`, with their clients
    and which questionnaires they have (the week marks "measure due"); `viewed`: as
    `sessions_between` records it."""
    start, end = local_day_bounds(zone, first, first + timedelta(days=days - 1))
    return sessions_between(
        db,
        start=start,
        end=end,
        therapist_id=therapist_id,
        where=where,
        people=True,
        measures=True,
        viewed=viewed,
    )


def therapists(db: Session, *, where: ColumnElement[bool]) -> list[Therapist]:
    """Active therapists, by name."""
    query = select(Therapist).where(Therapist.active, where).order_by(Therapist.name)
    return list(db.scalars(query.options(selectinload(Therapist.offices))))


def office_therapists(
    db: Session,
    office_id: str,
    *,
    with_ids: Sequence[int] = (),
    where: ColumnElement[bool],
    with_offices: bool = True,
) -> list[Therapist]:
    """The office's active therapists, plus `with_ids` (those holding sessions there), by name.

    `with_offices`: load each one's offices too (one more SELECT; a list of names needs none).
    """
    listed = select(therapist_offices.c.therapist_id).where(
        therapist_offices.c.office_id == office_id
    )
    here = Therapist.active & Therapist.id.in_(listed)
    query = select(Therapist).where(or_(here, Therapist.id.in_(list(with_ids))), where)
    if with_offices:
        query = query.options(selectinload(Therapist.offices))
    return list(db.scalars(query.order_by(Therapist.name, Therapist.id)))


def search_clients(
    db: Session, text: str, *, where: ColumnElement[bool], limit: int = SEARCH_LIMIT
) -> list[Client]:
    """Clients whose name or phone matches `text`."""
    text = text.strip()[:100]
    query = (
        select(Client)
        .where(Client.merged_into_id.is_(None))
        .order_by(Client.last_name, Client.first_name, Client.id)
    )
    if text:
        like = f"%{_escape_like(text.lower())}%"
        terms = [CLIENT_SEARCH_NAME.like(like, escape="\\")]
        digits = re.sub(r"\D", "", text)
        if len(digits) >= 3:
            terms.append(Client.phone.like(f"%{digits}%"))
        query = query.where(or_(*terms))
    return list(db.scalars(query.where(where).limit(limit)).unique())


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def series_of_client(db: Session, client_id: int, *, where: ColumnElement[bool]) -> list[Series]:
    query = (
        select(Series)
        .where(Series.client_id == client_id, where)
        .options(joinedload(Series.office), joinedload(Series.therapist))  # the page shows both
        .order_by(Series.created_at.desc())
    )
    return list(db.scalars(query).unique())


def series_of_therapist(
    db: Session, therapist_id: int, *, where: ColumnElement[bool]
) -> list[Series]:
    query = (
        select(Series)
        .where(Series.therapist_id == therapist_id, Series.status == "active", where)
        # The page shows each one's client, office and course status (from its sessions): in
        # this one SELECT, not one more per series.
        .options(joinedload(Series.client), joinedload(Series.office), joinedload(Series.sessions))
        .order_by(Series.first_session_date)
    )
    return list(db.scalars(query).unique())


def audit_trail(db: Session, series_id: int, limit: int = 200) -> list[AuditEntry]:
    query = (
        select(AuditEntry)
        .where(AuditEntry.series_id == series_id)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    return list(db.scalars(query))


def clients_seen(
    db: Session,
    start: datetime,
    end: datetime,
    *,
    where: ColumnElement[bool],
    latest_first: bool,
    limit: int = 12,
) -> list[TherapySession]:
    """One session per client in [start, end): the nearest to now (clients list: recent, next)."""
    order = TherapySession.starts_at.desc() if latest_first else TherapySession.starts_at
    query = (
        select(TherapySession)
        .where(
            TherapySession.starts_at >= start,
            TherapySession.starts_at < end,
            TherapySession.status != "cancelled",
            where,
        )
        .options(joinedload(TherapySession.series).joinedload(Series.client))
        .order_by(order, TherapySession.id)
        .limit(limit * 20)  # a client has at most a few sessions in the window
    )
    picked: dict[int, TherapySession] = {}
    for s in db.scalars(query).unique():
        picked.setdefault(s.series.client_id, s)
        if len(picked) == limit:
            break
    return list(picked.values())


def client_sessions(
    db: Session, client_id: int, *, where: ColumnElement[bool]
) -> list[TherapySession]:
    """Every session of the client's series the reader reaches, in time order."""
    query = (
        select(TherapySession)
        .join(Series, Series.id == TherapySession.series_id)
        .where(Series.client_id == client_id, where)
        .options(joinedload(TherapySession.series).joinedload(Series.office))
        .order_by(TherapySession.starts_at, TherapySession.id)
    )
    return list(db.scalars(query).unique())
