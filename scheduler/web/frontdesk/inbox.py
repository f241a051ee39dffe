"""Each office's inbox: reschedule requests, free-text replies, undeliverable phones.

Replies to a weekly goal prompt are clinical: the front desk sees that the client replied, and
the words go to the treating therapist's weekly review (see `services.access`).
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from ...db.models import InboxItem
from ...services import access as policy
from ...services import inbox
from ...services.audit import View
from ...services.errors import Invalid
from ...services.review import goal_replies
from ..context import ctx, db, unit_of_work
from ..reach import allow, clinical, load, viewed, viewer
from . import access
from .base import page_blueprint
from .forms import ResolveForm

bp = page_blueprint("inbox", __name__)


@bp.get("/offices/<office_id>/inbox")
def office(office_id: str) -> ResponseReturnValue:
    loc = access.location(office_id, "work_inbox")
    u = viewer()
    show: inbox.InboxStatus = "resolved" if request.args.get("show") == "resolved" else "open"
    items = inbox.list_items(
        db(),
        office_ids=[loc.id],
        include_unrouted=True,  # admins only: the reach filter keeps the rest to their offices
        status=show,
        where=policy.inbox_filter(u),
    )
    replies = goal_replies(db(), items)
    page = render_template(
        "pages/inbox.html",
        loc=loc,
        items=items,
        show=show,
        withheld={i.id for i in items if i.id in replies and not clinical(i)},
        forms={i.id: ResolveForm(formdata=None, prefix=f"item{i.id}") for i in items},
    )
    viewed(*(View("inbox_item", i.id, i.client_id) for i in items))
    return page


@bp.post("/inbox/<int:item_id>/resolve")
def resolve(item_id: int) -> ResponseReturnValue:
    item = load(InboxItem, item_id)
    u = allow("work_inbox", item)
    back = item.office_id or request.args.get("office", "")
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
    if back and ctx().locations.get(back) is not None:
        return redirect(url_for("inbox.office", office_id=back))
    return redirect(url_for("schedule.landing"))
