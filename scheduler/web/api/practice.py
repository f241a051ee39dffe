"""Offices, therapists and clients."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from ...services import client_records, directory
from ...services.errors import Forbidden, NotFound
from ...services.queries import therapist_sees_client
from ..context import ctx, db, unit_of_work
from . import serialize
from .auth import current_user, require
from .base import blueprint
from .feeds import feed_url_for
from .schemas import ClientIn, ClientMergeIn, TherapistIn, parse


@blueprint.get("/locations")
def list_locations() -> ResponseReturnValue:
    book = ctx().locations
    return jsonify([serialize.location(loc, book) for loc in book.locations])


@blueprint.get("/locations/<location_id>")
def get_location(location_id: str) -> ResponseReturnValue:
    book = ctx().locations
    loc = book.get(location_id)
    if loc is None:
        raise NotFound("location", location_id)
    return jsonify({**serialize.location(loc, book), "feed_url": feed_url_for("location", loc.id)})


@blueprint.post("/therapists")
def create_therapist() -> ResponseReturnValue:
    user = require("admin", "front_desk")
    body = parse(TherapistIn)
    with unit_of_work() as session:
        therapist = directory.create_therapist(
            session,
            ctx(),
            name=body.name,
            email=body.email,
            location_ids=body.location_ids,
            actor=user.email,
        )
        out = {
            **serialize.therapist(therapist),
            "feed_url": feed_url_for("therapist", therapist.id),
        }
    return jsonify(out), 201


@blueprint.get("/therapists/<int:therapist_id>")
def get_therapist(therapist_id: int) -> ResponseReturnValue:
    user = current_user()
    if user.role == "therapist" and user.therapist_id != therapist_id:
        raise Forbidden("therapists see only themselves")
    out = serialize.therapist(directory.get_therapist(db(), therapist_id))
    return jsonify({**out, "feed_url": feed_url_for("therapist", therapist_id)})


@blueprint.post("/clients")
def create_client() -> ResponseReturnValue:
    user = require("admin", "front_desk")
    body = parse(ClientIn)
    if not user.may_see_office(body.home_location_id) and ctx().locations.get(
        body.home_location_id
    ):
        raise Forbidden(f"no access to office {body.home_location_id}")
    with unit_of_work() as session:
        client = directory.create_client(
            session, ctx(), directory.NewClient(**body.model_dump()), actor=user.email
        )
        out = serialize.client(client)
    return jsonify(out), 201


@blueprint.post("/clients/<int:client_id>/merge")
def merge_clients(client_id: int) -> ResponseReturnValue:
    """Admins: merge the record `from_client_id` into this one (audited)."""
    user = require("admin")
    body = parse(ClientMergeIn)
    directory.get_client(db(), client_id)  # 404 for a record that is not there (or merged)
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
    client = directory.get_client(db(), client_id)
    user = current_user()
    if user.role == "therapist" and not therapist_sees_client(db(), user.therapist_id, client.id):
        raise Forbidden("not this therapist's client")
    return jsonify({**serialize.client(client), "feed_url": feed_url_for("client", client.id)})
