"""Offices, therapists and clients, and who viewed a client."""

from __future__ import annotations

from flask import current_app, jsonify, request
from flask.typing import ResponseReturnValue

from ...db.models import Client, Therapist
from ...services import (
    audit,
    client_records,
    directory,
    phone_consent,
    row_loads,
    visible_rows,
)
from ...services.errors import Invalid, NotFound
from ..context import ctx, db, unit_of_work
from ..reach import allow, load, served
from . import serialize
from .auth import current_user
from .base import blueprint
from .feeds import feed_url_for
from .schemas import ClientIn, ClientMergeIn, TherapistIn, parse

AUDIT_LIMIT_MAX = 1000


@blueprint.get("/locations")
def list_locations() -> ResponseReturnValue:
    # The offices are read once at start-up and never change while the app runs: their JSON
    # is built on the first request and kept with the app.
    cached = current_app.extensions.get("ipt.locations_json")
    if cached is None:
        book = ctx().locations
        cached = jsonify([serialize.location(loc, book) for loc in book.locations]).get_data()
        current_app.extensions["ipt.locations_json"] = cached
    return current_app.response_class(cached, mimetype="application/json")


@blueprint.get("/locations/<location_id>")
def get_location(location_id: str) -> ResponseReturnValue:
    book = ctx().locations
    loc = book.get(location_id)
    if loc is None:
        raise NotFound("location", location_id)
    return jsonify({**serialize.location(loc, book), **feed_url_for("location", loc.id)})


@blueprint.post("/therapists")
def create_therapist() -> ResponseReturnValue:
    user = current_user()
    allow("use_front_desk")
    body = parse(TherapistIn)
    known = [i for i in body.location_ids if ctx().locations.get(i)]
    allow("add_therapist", known)
    with unit_of_work() as session:
        therapist = directory.create_therapist(
            session,
            ctx(),
            name=body.name,
            email=body.email,
            location_ids=body.location_ids,
            actor=user.email,
        )
        out = {**serialize.therapist(therapist), **feed_url_for("therapist", therapist)}
    return jsonify(out), 201


@blueprint.get("/therapists/<int:therapist_id>")
def get_therapist(therapist_id: int) -> ResponseReturnValue:
    therapist = load(Therapist, therapist_id)
    return jsonify({**serialize.therapist(therapist), **feed_url_for("therapist", therapist)})


@blueprint.post("/clients")
def create_client() -> ResponseReturnValue:
    user = current_user()
    allow("use_front_desk")
    body = parse(ClientIn)
    if ctx().locations.get(body.home_location_id):
        allow("add_client", body.home_location_id)
    with unit_of_work() as session:
        client = directory.create_client(
            session, ctx(), directory.NewClient(**body.model_dump()), actor=user.email
        )
        out = serialize.client(client)
    return jsonify(out), 201


@blueprint.post("/clients/<int:client_id>/merge")
def merge_clients(client_id: int) -> ResponseReturnValue:
    """Admins: merge the record `from_client_id` into this one (audited)."""
    user = allow("merge_clients", load(Client, client_id))
    body = parse(ClientMergeIn)
    visible_rows.get_visible(db(), user, Client, body.from_client_id, field="from_client_id")
    with unit_of_work() as session:
        result = client_records.merge(
            session, ctx(), client_id, body.from_client_id, actor=user.email
        )
        out = {
            **serialize.client(result.client),
            "merged": {
                "from_client_id": result.merged.id,
                "moved": result.moved,
                "resolved_inbox_items": result.resolved_items,
            },
        }
    return jsonify(out)


@blueprint.get("/clients/<int:client_id>")
def get_client(client_id: int) -> ResponseReturnValue:
    # The read records this view in the audit log itself (in the same statement on PostgreSQL).
    client = load(Client, client_id, options=row_loads.CLIENT_RECORD, viewed="client")
    out = {
        **serialize.client(client),
        # Opt-outs and opt-ins of the client's number (they apply to every record with it).
        "number_consent_history": [
            serialize.number_consent_event(e) for e in phone_consent.history_of(db(), client)
        ],
        **feed_url_for("client", client),
    }
    served()
    return jsonify(out)


@blueprint.get("/clients/<int:client_id>/audit")
def client_audit(client_id: int) -> ResponseReturnValue:
    """Who viewed this client's records, newest first (admins only)."""
    client = load(Client, client_id)
    allow("read_audit", client)
    raw = request.args.get("limit", "200")
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= AUDIT_LIMIT_MAX:
        raise Invalid({"limit": f"must be a whole number from 1 to {AUDIT_LIMIT_MAX}"})
    entries = audit.client_views(db(), client.id, limit=int(raw))
    return jsonify(
        [
            {
                "at": e.at.isoformat(),
                "actor": e.actor,
                "action": e.action,
                "entity": e.entity,
                "entity_id": e.entity_id,
            }
            for e in entries
        ]
    )
