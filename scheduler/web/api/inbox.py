"""Each office's inbox: list what needs a person, resolve it with a note (audited)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import StringConstraints

from ...db.models.inbound import InboxItem
from ...services import inbox
from ...services.errors import Forbidden, Invalid
from ..context import ctx, db, unit_of_work
from . import openapi
from .auth import require
from .base import blueprint
from .schemas import Body, parse

STATUSES = ("open", "resolved", "all")


class InboxPatch(Body):
    """Resolve (or reopen) an inbox item, optionally with a note saying what was done."""

    status: Literal["open", "resolved"] | None = None
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None


def _check_access(office_id: str | None) -> None:
    user = require("admin", "front_desk")
    if office_id is None:
        if user.role != "admin":
            raise Forbidden("texts to unknown numbers are for admins")
    elif not user.may_see_office(office_id):
        raise Forbidden(f"no access to office {office_id}")


def _when(value: Any, zone: str | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(ZoneInfo(zone)).isoformat() if zone else value.isoformat()


def serialize_item(item: InboxItem) -> dict[str, Any]:
    loc = ctx().locations.get(item.office_id) if item.office_id else None
    zone = loc.timezone if loc else None
    message = item.inbound_message
    client = item.client
    return {
        "id": item.id,
        "location_id": item.office_id,
        "kind": item.kind,
        "status": item.status,
        "summary": item.summary,
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


@blueprint.get("/inbox")
def list_inbox() -> ResponseReturnValue:
    user = require("admin", "front_desk")
    location_id = request.args.get("location_id") or None
    status = request.args.get("status") or "open"
    if status not in STATUSES:
        raise Invalid({"status": f"must be one of {', '.join(STATUSES)}"})
    if location_id is not None:
        if ctx().locations.get(location_id) is None:
            raise Invalid({"location_id": f"unknown location {location_id!r}"})
        _check_access(location_id)
        office_ids: list[str] | None = [location_id]
        unrouted = False
    elif user.role == "admin" or not user.offices:
        office_ids, unrouted = None, user.role == "admin"
    else:
        office_ids, unrouted = [o.id for o in user.offices], False
    items = inbox.list_items(
        db(),
        office_ids=office_ids,
        include_unrouted=unrouted,
        status=None if status == "all" else status,  # type: ignore[arg-type]
        include_admins_only=user.role == "admin",
    )
    return jsonify([serialize_item(i) for i in items])


@blueprint.patch("/inbox/<int:item_id>")
def update_inbox_item(item_id: int) -> ResponseReturnValue:
    user = require("admin", "front_desk")
    body = parse(InboxPatch)
    item = inbox.get_item(db(), item_id, admin=user.role == "admin")
    _check_access(item.office_id)
    with unit_of_work() as session:
        item = inbox.update_item(
            session,
            item_id,
            status=body.status,
            note=body.note,
            actor=user.email,
            at=ctx().clock(),
        )
        out = serialize_item(item)
    return jsonify(out)


openapi.OPERATIONS.extend(
    [
        ("get", "/inbox", "Inbox items of an office (admins: all, plus unrouted)", None, 200),
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
