"""One row by id within the user's reach (`get_visible`): the read behind every page and API
route about one client, therapist, series, session or inbox item.

Reach itself is `services.access`'s: the row's statement carries `access.visible`'s filter, so
a hidden row reads exactly like a missing one (404 alike). The statement is built once per
model, reach and loader options; a read that records its view (`viewed=`) writes the audit
row in the same statement on PostgreSQL (`audit.recording_row`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..db.models import Client, Series, Therapist, TherapySession, User
from ..db.models.inbound import InboxItem
from . import access, audit
from .errors import NotFound
from .row_loads import WITH_ROW

_M = TypeVar("_M", Client, Therapist, Series, TherapySession, InboxItem)


def get_visible(
    db: Session,
    user: User,
    model: type[_M],
    row_id: int,
    *,
    field: str | None = None,
    options: Sequence[Any] = (),
    viewed: audit.Viewed | None = None,
) -> _M:
    """Row `row_id` of `model`, or NotFound alike when it is missing and when it is hidden.

    `field` names the body field that carried the id (a 422 naming it instead of a 404);
    `options`: loader options for what the caller reads of the row next (constants, such as
    `row_loads.SESSION_PAGE`: the statement is kept per model, reach and options).
    `viewed` (of a record `audit.NAMES` knows): the read records the user's view of the row
    in the audit log, in its own statement on PostgreSQL (`audit.recording_row`), for the
    caller to commit with the response."""
    folded = viewed is not None and db.get_bind().dialect.name == "postgresql"
    query = _by_id(user, model, tuple(options), viewed if folded else None)
    params = (
        {"row_id": row_id, **audit.view_params(db, user.email)} if folded else {"row_id": row_id}
    )
    # .unique(): some rows come with a joined collection (a therapist's offices)
    row = db.execute(query, params).unique().scalar_one_or_none()
    if row is None:
        raise NotFound(access.ROW_NAMES[model], row_id, field=field)
    if viewed is not None and not folded:  # SQLite: no data-modifying WITH
        audit.record_views(
            db, user.email, [audit.View(viewed, row.id, audit.NAMES[model].client_of(row))]
        )
    return row


# One statement per model and reach, built once: a read skips building it and its cache key.
_BY_ID: dict[tuple[type[Any], access.Reach, tuple[Any, ...], str | None], Any] = {}


def _by_id(
    user: User, model: type[access.Row], options: tuple[Any, ...], recording: audit.Viewed | None
) -> Any:
    key = (model, access.reach(user), options, recording)  # every filter depends on the reach alone
    if (found := _BY_ID.get(key)) is None:
        eager = WITH_ROW.get(model, ())  # what pages and the API read of the row next
        found = select(model).where(model.id == bindparam("row_id"), access.visible(user, model))
        if recording is not None:
            names = audit.NAMES[model]
            found = audit.recording_row(found, recording, names.entity_id, names.client_id)
        found = found.options(*options) if options else found
        if len(_BY_ID) > 2000:  # therapists' reaches differ: keep the dict bounded
            _BY_ID.clear()
        _BY_ID[key] = found = found.options(*eager)
    return found
