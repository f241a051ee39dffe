"""What each feed shows: its sessions as FeedEvents, and nothing a subscriber should not see.

Therapist and office feeds name clients by initials only, cut to one letter in SQL, and never
read the phone, problem area, goals or notes. A client's own feed names the office and the
therapist. Every event's UID is fixed per session and feed kind; SEQUENCE is the session's
revision; cancelled sessions stay in the feed, marked CANCELLED, until they leave the window.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal, get_args
from urllib.parse import urlparse

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from ..db.models import Client, Office, Series, Therapist, TherapySession
from ..db.sql import one_of
from ..ical import FeedEvent, FeedMeta, Status
from .context import ServiceContext

FeedKind = Literal["therapist", "location", "client"]
FEED_KINDS: tuple[FeedKind, ...] = get_args(FeedKind)
# How often calendar apps are asked to poll (REFRESH-INTERVAL, X-PUBLISHED-TTL).
REFRESH = timedelta(hours=1)


def owner_key(kind: FeedKind, owner_id: str) -> int | str:
    """The owner's primary key as its table types it (offices have text ids)."""
    return owner_id if kind == "location" else int(owner_id)


def owner_filter(kind: FeedKind, owner: Any) -> ColumnElement[bool]:
    """The sessions of one feed's owner (before any time window); ``owner`` is its key or a
    bind parameter."""
    if kind == "therapist":
        return TherapySession.therapist_id == owner
    if kind == "location":
        return TherapySession.office_id == owner
    return TherapySession.series_id.in_(select(Series.id).where(Series.client_id == owner))


def feed_content(
    db: Session, ctx: ServiceContext, kind: FeedKind, owner_id: str, window_start: datetime
) -> tuple[FeedMeta, list[FeedEvent]]:
    """The calendar name and events of one feed: sessions starting at or after window_start.

    Therapist and office feeds read only initials (the first letter of each name, cut in SQL),
    never the client's last name, phone, problem area or goals.
    """
    s = TherapySession
    fields = [s.id, s.revision, s.starts_at, s.ends_at, s.timezone, s.status, s.number, s.counts]
    fields += [s.room, s.updated_at, s.series_id, Office.address]
    labelled = {
        "therapist_name": Therapist.name,
        "office_name": Office.name,
        "office_phone": Office.phone,
    }
    query = (
        select(*fields, *(column.label(name) for name, column in labelled.items()))
        .join(Therapist, Therapist.id == s.therapist_id)
        .join(Office, Office.id == s.office_id)
        .where(owner_filter(kind, owner_key(kind, owner_id)), s.starts_at >= window_start)
        .order_by(s.starts_at, s.id)
    )
    rows = db.execute(query).all()
    series = _series_of(db, kind, {row.series_id for row in rows})
    host = urlparse(ctx.settings.public_base_url).hostname or "ipt-scheduler"
    events = [_event(kind, row, series[row.series_id], host) for row in rows]
    return FeedMeta(name=_calendar_name(db, ctx, kind, owner_id), refresh=REFRESH), events


def _series_of(db: Session, kind: FeedKind, ids: set[int]) -> dict[int, Any]:
    """What the events tell of their series (and, but in a client's own feed, the client's
    initials), by series id.

    Read by id after the sessions, not joined to them: the planner joined a feed's few
    hundred sessions to every series of the practice by hash, so a refresh cost as much as
    the practice was big (20 ms at 180 offices, 3 ms at 9); by id it costs what the feed shows.
    """
    if not ids:
        return {}
    query: Select[Any] = select(Series.id, Series.session_count, Series.kind)
    if kind != "client":  # a client's own feed names no client
        query = query.add_columns(
            func.substr(Client.first_name, 1, 1).label("first_initial"),
            func.substr(Client.last_name, 1, 1).label("last_initial"),
        ).join(Client, Client.id == Series.client_id)
    dialect = db.get_bind().dialect.name
    found = db.execute(query.where(one_of(dialect, Series.id, "ids")), {"ids": sorted(ids)})
    return {row.id: row for row in found}


def _event(kind: FeedKind, row: Any, series: Any, host: str) -> FeedEvent:
    cancelled = row.status == "cancelled"
    # A cancelled session that no longer counts keeps a stale number; showing it would clash
    # with the session that now has that number.
    place = f" {row.number}/{series.session_count}" if row.counts else ""
    if kind == "client":
        summary = f"Session with {row.therapist_name} · {row.office_name}"
        details = [f"Session {row.number} of {series.session_count}" if row.counts else None]
        details.append(f"To change it, call {row.office_phone}")
    else:
        initials = f"{series.first_initial}.{series.last_initial}.".upper()
        # "IPT maint k/M" for the monthly sessions after a course, "IPT k/N" within it.
        label = "IPT maint" if series.kind == "maintenance" else "IPT"
        summary = f"{initials} · {label}{place}"
        details = [f"Therapist: {row.therapist_name}" if kind == "location" else None]
    if row.room:
        details.append(f"Room {row.room}")
    status: Status = "CANCELLED" if cancelled else "CONFIRMED"
    return FeedEvent(
        uid=f"session-{row.id}-{kind}@{host}",
        sequence=row.revision,
        summary=f"Cancelled: {summary}" if cancelled else summary,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        tzid=row.timezone,
        location=row.address,
        status=status,
        last_modified=row.updated_at,
        description="\n".join(d for d in details if d) or None,
    )


def _calendar_name(db: Session, ctx: ServiceContext, kind: FeedKind, owner_id: str) -> str:
    if kind == "therapist":
        name = db.scalar(select(Therapist.name).where(Therapist.id == int(owner_id)))
        return f"IPT sessions · {name}"
    if kind == "location":
        office = db.scalar(select(Office.name).where(Office.id == owner_id))
        return f"IPT sessions · {office}"
    return f"Sessions · {ctx.locations.practice.name}"
