"""One inbox across every office the user works, filterable by office: each item with its thread,
a reply by text, and resolving with a note; unread counts in the header.

Replies are queued through the text pipeline (`services.inbox_replies`): opt-out, consent and
quiet hours hold, and they go from the office's number. Replies to a weekly goal prompt are
clinical: the front desk sees that the client replied, and the words go to the treating
therapist's weekly review (see `services.access`); threads withhold them the same way.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from ...db.models import InboxItem
from ...services import access as policy
from ...services import inbox, inbox_replies, inbox_threads
from ...services.errors import Invalid
from ...services.review import goal_replies
from ..context import ctx, db, unit_of_work
from ..reach import allow, clinical, load, served, viewer
from . import access, base
from .base import page_blueprint
from .forms import ReplyForm, ResolveForm

bp = page_blueprint("inbox", __name__)


@bp.get("/inbox")
def everything() -> ResponseReturnValue:
    """Every office this user works (or the one chosen with ?office=), open items first."""
    allow("use_front_desk")
    office_id = request.args.get("office") or None
    loc = access.location(office_id, "work_inbox") if office_id else None
    return _page(loc.id if loc else None)


@bp.get("/offices/<office_id>/inbox")
def office(office_id: str) -> ResponseReturnValue:
    loc = access.location(office_id, "work_inbox")
    return _page(loc.id)


def _page(office_id: str | None) -> ResponseReturnValue:
    u = viewer()
    show: inbox.InboxStatus = "resolved" if request.args.get("show") == "resolved" else "open"
    items = inbox.list_items(
        db(),
        office_ids=None if office_id is None else [office_id],
        include_unrouted=True,  # admins only: the reach filter keeps the rest to their offices
        status=show,
        where=policy.inbox_filter(u),
        viewed_by=u.email,  # the read records what the page shows
    )
    replies = goal_replies(db(), items)
    # The header counts what was unread before this visit; then everything shown is marked
    # read, and the marking itself tells which items were unread (one statement for both).
    base.remember_unread(u)
    unread = inbox_threads.mark_all_read(db(), u.id, [i.id for i in items], ctx().clock())
    page = render_template(
        "pages/inbox.html",
        office_id=office_id,
        offices=access.visible_locations(u),
        items=items,
        show=show,
        unread=unread,
        threads=inbox_threads.threads(db(), items, clinical={i.id: clinical(i) for i in items}),
        withheld={i.id for i in items if i.id in replies and not clinical(i)},
        forms={i.id: ResolveForm(formdata=None, prefix=f"item{i.id}") for i in items},
        reply_forms={i.id: ReplyForm(formdata=None, prefix=f"reply{i.id}") for i in items},
    )
    served()  # the views the read recorded, and the read markers
    return page


def _back(item: InboxItem) -> ResponseReturnValue:
    office = request.args.get("office") or ""
    if office and ctx().locations.get(office) is not None:
        return redirect(url_for("inbox.everything", office=office, _anchor=f"item-{item.id}"))
    return redirect(url_for("inbox.everything", _anchor=f"item-{item.id}"))


@bp.post("/inbox/<int:item_id>/reply")
def reply(item_id: int) -> ResponseReturnValue:
    """Text the item's client from the office's number (queued; quiet hours hold it)."""
    item = load(InboxItem, item_id)
    u = allow("work_inbox", item)
    form = ReplyForm(prefix=f"reply{item_id}")
    if not form.validate():
        flash("Not sent: " + "; ".join(e for errs in form.errors.values() for e in errs))
        return _back(item)
    try:
        with unit_of_work() as s:
            queued = inbox_replies.queue_reply(
                s, ctx(), item_id, form.text.data or "", actor=u.email
            )
            notice = str(queued.as_json()["notice"])
    except Invalid as exc:
        flash("Not sent: " + "; ".join(_reply_problem(k, v) for k, v in exc.fields.items()))
    else:
        flash(notice)
    return _back(item)


def _reply_problem(field: str, problem: str) -> str:
    return f"the reply {problem}" if field == "text" else problem


@bp.post("/inbox/<int:item_id>/resolve")
def resolve(item_id: int) -> ResponseReturnValue:
    item = load(InboxItem, item_id)
    u = allow("work_inbox", item)
    form = ResolveForm(prefix=f"item{item_id}")
    if form.validate():
        try:
            with unit_of_work() as s:
                inbox.update_item(
                    s,
                    item_id,
                    status="resolved",
                    note=form.note.data or None,
                    actor=u.email,
                    at=ctx().clock(),
                )
        except Invalid as exc:
            flash("Not resolved: " + "; ".join(exc.fields.values()))
        else:
            flash("Marked as resolved.")
    else:
        flash("Not resolved: " + "; ".join(e for errs in form.errors.values() for e in errs))
    return _back(item)
