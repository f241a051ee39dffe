"""Each office's inbox: reschedule requests, free-text replies, undeliverable phones."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from ...services import inbox
from ...services.errors import Forbidden, Invalid
from ..context import ctx, db, unit_of_work
from . import access
from .base import page_blueprint
from .forms import ResolveForm

bp = page_blueprint("inbox", __name__)


@bp.get("/offices/<office_id>/inbox")
def office(office_id: str) -> ResponseReturnValue:
    loc = access.location(office_id)
    access.require_desk()
    show: inbox.InboxStatus = "resolved" if request.args.get("show") == "resolved" else "open"
    admin = access.user().role == "admin"
    items = inbox.list_items(
        db(), office_ids=[loc.id], include_unrouted=admin, status=show, include_admins_only=admin
    )
    return render_template(
        "pages/inbox.html",
        loc=loc,
        items=items,
        show=show,
        forms={i.id: ResolveForm(formdata=None, prefix=f"item{i.id}") for i in items},
    )


@bp.post("/inbox/<int:item_id>/resolve")
def resolve(item_id: int) -> ResponseReturnValue:
    u = access.require_desk()
    item = inbox.get_item(db(), item_id, admin=u.role == "admin")
    if item.office_id is None:
        if u.role != "admin":
            raise Forbidden("only admins handle texts that reached no office")
        back = request.args.get("office", "")
    else:
        access.location(item.office_id)
        back = item.office_id
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
