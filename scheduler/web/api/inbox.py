"""The inbox: one list across the offices a user reaches (filterable by office), unread
markers and counts per user, each item's thread, replies by text, and resolving with a note."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import StringConstraints

from ...db.models.inbound import InboxItem
from ...services import inbox, inbox_replies, inbox_threads
from ...services.errors import Forbidden, Invalid
from ..context import ctx, db, unit_of_work
from . import openapi
from .auth import require
from .base import blueprint
from .schemas import Body, parse

STATUSES = ("open", "resolved", "all")


class ReplyIn(Body):
    """A staff-written reply, sent by text from the office's number (at most 3 segments)."""

    text: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


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
        # Staff need the number to call back someone the system could not match.
        "from": message.from_number if message is not None else None,
        "received_at": _when(message.received_at, zone) if message is not None else None,
        "note": item.note,
        "resolved_at": _when(item.resolved_at, zone),
        "resolved_by": item.resolved_by,
    }


def _places(location_id: str | None) -> tuple[list[str] | None, bool]:
    """(office ids or None for all, whether unrouted texts are included) for this reader."""
    user = require("admin", "front_desk")
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
    return office_ids, unrouted


@blueprint.get("/inbox")
def list_inbox() -> ResponseReturnValue:
    user = require("admin", "front_desk")
    location_id = request.args.get("location_id") or None
    status = request.args.get("status") or "open"
    if status not in STATUSES:
        raise Invalid({"status": f"must be one of {', '.join(STATUSES)}"})
    office_ids, unrouted = _places(location_id)
    items = inbox.list_items(
        db(),
        office_ids=office_ids,
        include_unrouted=unrouted,
        status=None if status == "all" else status,  # type: ignore[arg-type]
    )
    seen = inbox_threads.read_ids(db(), user.id, [i.id for i in items])
    return jsonify([serialize_item(i) | {"unread": i.id not in seen} for i in items])


@blueprint.get("/inbox/counts")
def inbox_counts() -> ResponseReturnValue:
    """Unread open items per office, for the header's badge."""
    user = require("admin", "front_desk")
    office_ids, unrouted = _places(request.args.get("location_id") or None)
    counts = inbox_threads.unread_counts(
        db(), user.id, office_ids=office_ids, include_unrouted=unrouted
    )
    by_office = {k: v for k, v in counts.items() if k is not None}
    return jsonify(
        {
            "unread": by_office,
            "unrouted_unread": counts.get(None, 0),
            "total_unread": sum(counts.values()),
        }
    )


@blueprint.get("/inbox/<int:item_id>")
def get_inbox_item(item_id: int) -> ResponseReturnValue:
    """One item with its thread; opening it marks it read for this user."""
    user = require("admin", "front_desk")
    item = inbox.get_item(db(), item_id)
    _check_access(item.office_id)
    loc = ctx().locations.get(item.office_id) if item.office_id else None
    entries = inbox_threads.thread(db(), item, include_clinical=user.role == "admin")
    with unit_of_work() as session:
        inbox_threads.mark_read(session, user.id, item.id, ctx().clock())
    out = serialize_item(item) | {"unread": False}
    out["thread"] = [e.as_json(loc.tz if loc else None) for e in entries]
    return jsonify(out)


@blueprint.post("/inbox/<int:item_id>/replies")
def reply_to_item(item_id: int) -> ResponseReturnValue:
    """Queue a text to the item's client from the office's number (201 with the queued text)."""
    user = require("admin", "front_desk")
    body = parse(ReplyIn)
    item = inbox.get_item(db(), item_id)
    _check_access(item.office_id)
    with unit_of_work() as session:
        queued = inbox_replies.queue_reply(session, ctx(), item_id, body.text, actor=user.email)
        out = queued.as_json()
    return jsonify(out), 201


@blueprint.patch("/inbox/<int:item_id>")
def update_inbox_item(item_id: int) -> ResponseReturnValue:
    user = require("admin", "front_desk")
    body = parse(InboxPatch)
    item = inbox.get_item(db(), item_id)
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
        (
            "get",
            "/inbox",
            "Inbox items across the offices you reach (location_id filters; admins also get "
            "unrouted texts); each with unread (for you)",
            None,
            200,
        ),
        (
            "get",
            "/inbox/counts",
            'Unread open items for you: {"unread": {office: n}, "unrouted_unread", "total_unread"}',
            None,
            200,
        ),
        (
            "get",
            "/inbox/{item_id}",
            "One item with its thread (the client's texts and ours with that office, oldest "
            "first); opening it marks it read for you",
            None,
            200,
        ),
        (
            "post",
            "/inbox/{item_id}/replies",
            "Reply by text from the office's number: 201 with the queued text (kind reply). "
            "Opt-out, consent and quiet hours hold: held_for_quiet_hours and send_at say when "
            "it goes. At most 3 segments, no control characters",
            ReplyIn,
            201,
        ),
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
openapi._QUERY.setdefault(
    "/inbox/counts",
    [("location_id", False, "string", "Office id; without it, every office you may see")],
)
