"""The inbox: one list across the offices a user reaches (filterable by office), unread markers
and counts per user, each item with its thread, replies by text, and resolving with a note.

What an item shows depends on the reader (`services.access`): the front desk reads the text of
what clients send the office, except replies to a weekly goal prompt (`"goal_reply": true`),
whose words are clinical and so absent from its reads (in threads too); admins see everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from pydantic import StringConstraints

from ...db.models.inbound import InboxItem
from ...services import access, inbox, inbox_replies, inbox_threads
from ...services.errors import Invalid
from ...services.review import goal_replies
from ..context import ctx, db, unit_of_work
from ..reach import allow, clinical, load, served
from . import openapi
from .auth import current_user
from .base import blueprint
from .schemas import Body, parse

STATUSES = ("open", "resolved", "all")


class ReplyIn(Body):
    """A staff-written reply, sent by text from the office's number (at most 3 segments)."""

    multiline = frozenset({"text"})
    text: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class InboxPatch(Body):
    """Resolve (or reopen) an inbox item, optionally with a note saying what was done."""

    multiline = frozenset({"note"})
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
        # A possible opt-out: read it first (it is also listed first).
        "urgent": item.urgent,
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
    location_id = _office_arg()
    status = request.args.get("status") or "open"
    if status not in STATUSES:
        raise Invalid({"status": f"must be one of {', '.join(STATUSES)}"})
    items = inbox.list_items(
        db(),
        office_ids=None if location_id is None else [location_id],
        include_unrouted=location_id is None,  # kept to admins by the reach filter
        status=None if status == "all" else status,  # type: ignore[arg-type]
        where=access.inbox_filter(user),
        viewed_by=user.email,  # the read records what the answer shows
    )
    seen = inbox_threads.read_ids(db(), user.id, [i.id for i in items])
    out = [o | {"unread": o["id"] not in seen} for o in _serialize_all(items)]
    served()
    return jsonify(out)


def _office_arg() -> str | None:
    """The `location_id` filter, checked: a known office whose inbox the user works."""
    location_id = request.args.get("location_id") or None
    if location_id is not None:
        if ctx().locations.get(location_id) is None:
            raise Invalid({"location_id": f"unknown location {location_id!r}"})
        allow("work_inbox", location_id)
    return location_id


@blueprint.get("/inbox/counts")
def inbox_counts() -> ResponseReturnValue:
    """Unread open items per office, for the header's badge."""
    user = current_user()
    allow("use_front_desk")
    location_id = _office_arg()
    counts = inbox_threads.unread_counts(
        db(),
        user.id,
        where=access.inbox_filter(user),
        office_id=location_id,
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
    user = current_user()
    # The read records this view in the audit log itself (in the same statement on PostgreSQL).
    item = load(InboxItem, item_id, viewed="inbox_item")
    loc = ctx().locations.get(item.office_id) if item.office_id else None
    entries = inbox_threads.thread(db(), item, include_clinical=clinical(item))
    (out,) = _serialize_all([item])
    out["unread"] = False
    out["thread"] = [e.as_json(loc.tz if loc else None) for e in entries]
    inbox_threads.mark_read(db(), user.id, item.id, ctx().clock())
    served()  # the view's audit row and the read marker
    return jsonify(out)


@blueprint.post("/inbox/<int:item_id>/replies")
def reply_to_item(item_id: int) -> ResponseReturnValue:
    """Queue a text to the item's client from the office's number (201 with the queued text)."""
    user = allow("work_inbox", load(InboxItem, item_id))
    body = parse(ReplyIn)
    with unit_of_work() as session:
        queued = inbox_replies.queue_reply(session, ctx(), item_id, body.text, actor=user.email)
        out = queued.as_json()
    return jsonify(out), 201


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
            "first; a reply to a goal prompt is withheld from the front desk); opening it "
            "marks it read for you (the read is audited)",
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
