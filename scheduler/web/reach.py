"""The web's one adapter onto `services.access`, shared by the API and the pages.

Both surfaces put the request's user on `g.user` (the API from its bearer token, the pages from
the sign-in cookie), so a page and the API route over the same row ask the very same question
and get the same answer: 404 outside the user's reach, 403 for an action it may not take.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from flask import abort, g
from sqlalchemy import text
from sqlalchemy.orm import Session

from ..db.models import Alert, Client, InboxItem, Series, Therapist, TherapySession, User
from ..services import access, audit, visible_rows
from ..services.access import Action, Row
from ..services.errors import NotFound
from ..services.session_view import AnySession
from .context import db

_M = TypeVar("_M", Client, Therapist, Series, TherapySession, InboxItem)


def viewer() -> User:
    """The user this request acts for (views run only after authentication)."""
    user: User | None = g.get("user")
    if user is None:
        abort(401)
    return user


def load(
    model: type[_M],
    row_id: int,
    *,
    options: Sequence[Any] = (),
    viewed: audit.Viewed | None = None,
) -> _M:
    """The row if the user reaches it; 404 alike for hidden and missing rows.

    `options`: loader options for what the view reads of the row next (in the same SELECT).
    `viewed` (of a record `audit.NAMES` knows): the read records this view in the audit
    log (on PostgreSQL in its own statement); the view commits it with `served()` once the
    response is built."""
    return visible_rows.get_visible(db(), viewer(), model, row_id, options=options, viewed=viewed)


def load_alert(alert_id: int) -> Alert:
    """An alert is its series' clinical content: reached (404 alike) through its series."""
    found = db().get(Alert, alert_id)
    if found is None or not access.can_read(db(), viewer(), found.series):
        raise NotFound("alert", alert_id)
    return found


def allow(action: Action, row: Row | str | Sequence[str] | None = None) -> User:
    """404 if `row` is outside the user's reach, 403 if the action is not the user's."""
    user = viewer()
    access.authorize(db(), user, action, row)
    return user


def allowed(action: Action, row: Row | str | Sequence[str] | None = None) -> bool:
    return access.can(db(), viewer(), action, row)


def clinical(row: Series | AnySession | InboxItem) -> bool:
    """May the user see this row's clinical content (goals, replies, ratings, reviews)?"""
    return access.clinical_visible(viewer(), row)


def viewed(*views: audit.View) -> None:
    """Record what this response shows (one INSERT) and commit it with the request.

    Called once the response's content is built, so a read whose audit row cannot be written
    fails instead of being served unrecorded.
    """
    audit.record_views(db(), viewer().email, views)
    served()


def served() -> None:
    """Commit the audit rows of what this response shows, written by its reads (`load(...,
    viewed=...)`, `session_reads.one`): called once the response's content is built, so a
    read whose audit row cannot be written fails instead of being served unrecorded.

    Only read routes call this: what it commits is audit rows (and an inbox item's read
    marker). By default (READ_AUDIT_COMMIT=async) on PostgreSQL that commit does not wait for
    the server to flush its write-ahead log: `synchronous_commit` is off for this
    transaction alone, and under load that wait was most of an audited read's time. The
    read's own statement switches it off as it writes the audit row (`audit._view_row`); a
    read that recorded with an INSERT of its own gets a SET LOCAL here. The rows are
    written, checked and visible at once, and the read still fails if they cannot be; only
    a crash of the database server itself within about three `wal_writer_delay`s (0.6 s by
    default) after the commit can lose them. Every other commit waits, and so does this one
    with READ_AUDIT_COMMIT=durable."""
    session = db()
    if (
        session.info.get(audit.SKIP_FLUSH_WAIT)
        and not audit.flush_wait_is_off(session)
        and _on_postgresql(session)
    ):
        session.execute(_NO_FLUSH_WAIT)
    session.commit()


_NO_FLUSH_WAIT = text("SET LOCAL synchronous_commit TO OFF")


def _on_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
