"""Each office's inbox: list what needs a person, read one item, resolve it with a note.

What an item shows depends on the reader (`services.access`): the front desk reads the text of
what clients send the office, except replies to a weekly goal prompt (`"goal_reply": true`),
whose words are clinical and so absent from its reads; admins see everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import StringConstraints

from ...db.models.inbound import InboxItem
from ...services import access, inbox
from ...services.audit import View
from ...services.errors import Invalid
from ...services.review import goal_replies
from ..context import ctx, db, unit_of_work
from ..reach import allow, clinical, load, viewed
from . import openapi
from .auth import current_user
from .base import blueprint
from .schemas import Body, parse

STATUSES = ("open", "resolved", "all")


class InboxPatch(Body):
    """Resolve (or reopen) an inbox item, optionally with a note saying what was done."""

    status: Literal["open", "resolved"] | None = None
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None


def _when(value: Any, zone: str | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(ZoneInfo(zone)).isoformat() if zone else value.isoformat()


def serialize_item(item: InboxItem, *, goal_reply: bool) -> dict[str, Any]:
    loc = ctx().locations.get(item.office_id) if item.office_id else None
    zone = loc.timezone if loc else None
    message = item.inbound_message
    client = item.client
    out: dict[str, Any] = {
        "id": item.id,
        "location_id": item.office_id,
        "kind": item.kind,
        "status": item.status,
        "goal_reply": goal_reply,
        "created_at": _when(item.created_at, zone),
        "client": (
            {"id": client.id, "first_name": client.first_name, "last_name": client.last_name}
            if client is not None
            else None
        ),
        "session_id": item.session_id,
        "series_id": item.series_id,
        "admins_only": item.admins_only,
        # Staff need the number to call back someone the system could not match.
        "from": message.from_number if message is not None else None,
        "received_at": _when(message.received_at, zone) if message is not None else None,
        "note": item.note,
        "resolved_at": _when(item.resolved_at, zone),
        "resolved_by": item.resolved_by,
    }
    if not goal_reply or clinical(item):
        out["summary"] = item.summary
    return out


def _serialize_all(items: Sequence[InboxItem]) -> list[dict[str, Any]]:
    replies = goal_replies(db(), items)
    return [serialize_item(i, goal_reply=i.id in replies) for i in items]


@blueprint.get("/inbox")
def list_inbox() -> ResponseReturnValue:
    user = current_user()
    allow("use_front_desk")
    location_id = request.args.get("location_id") or None
    status = request.args.get("status") or "open"
    if status not in STATUSES:
        raise Invalid({"status": f"must be one of {', '.join(STATUSES)}"})
    if location_id is not None:
        if ctx().locations.get(location_id) is None:
            raise Invalid({"location_id": f"unknown location {location_id!r}"})
        allow("work_inbox", location_id)
    items = inbox.list_items(
        db(),
        office_ids=None if location_id is None else [location_id],
        include_unrouted=location_id is None,  # kept to admins by the reach filter
        status=None if status == "all" else status,  # type: ignore[arg-type]
        where=access.inbox_filter(user),
    )
    out = _serialize_all(items)
    viewed(*(View("inbox_item", i.id, i.client_id) for i in items))
    return jsonify(out)


@blueprint.get("/inbox/<int:item_id>")
def get_inbox_item(item_id: int) -> ResponseReturnValue:
    item = load(InboxItem, item_id)
    (out,) = _serialize_all([item])
    viewed(View("inbox_item", item.id, item.client_id))
    return jsonify(out)


@blueprint.patch("/inbox/<int:item_id>")
def update_inbox_item(item_id: int) -> ResponseReturnValue:
    allow("work_inbox", load(InboxItem, item_id))
    body = parse(InboxPatch)
    with unit_of_work() as session:
        item = inbox.update_item(
            session,
            item_id,
            status=body.status,
            note=body.note,
            actor=current_user().email,
            at=ctx().clock(),
        )
        (out,) = _serialize_all([item])
    return jsonify(out)


openapi.OPERATIONS.extend(
    [
        (
            "get",
            "/inbox",
            "Inbox items of the offices you work at (admins: also unrouted)",
            None,
            200,
        ),
        ("get", "/inbox/{item_id}", "One inbox item (reading it is audited)", None, 200),
        (
            "patch",
            "/inbox/{item_id}",
            "Resolve or reopen an inbox item, with a note",
            InboxPatch,
            200,
        ),
    ]
)
# Query parameters are documented in openapi's table, keyed by path.
openapi._QUERY.setdefault(
    "/inbox",
    [
        ("location_id", False, "string", "Office id; without it, every office you may see"),
        ("status", False, "string", "open (default), resolved or all"),
    ],
)
