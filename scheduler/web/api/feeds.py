"""Issuing and rotating calendar feed URLs; the previous URL stops working at once."""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from ...services import directory, feeds
from ...services.errors import Forbidden, NotFound
from ...services.feeds import FeedKind
from ..context import ctx, db, unit_of_work
from .auth import current_user, require, require_office
from .base import blueprint
from .openapi import OPERATIONS

OPERATIONS.extend(
    [
        (
            "post",
            "/therapists/{therapist_id}/feed-token",
            "New calendar feed URL for a therapist; the old URL stops working",
            None,
            201,
        ),
        (
            "post",
            "/locations/{location_id}/feed-token",
            "New calendar feed URL for an office; the old URL stops working",
            None,
            201,
        ),
        (
            "post",
            "/clients/{client_id}/feed-token",
            "New calendar feed URL for a client; the old URL stops working",
            None,
            201,
        ),
    ]
)


@blueprint.post("/therapists/<int:therapist_id>/feed-token")
def rotate_therapist_feed(therapist_id: int) -> ResponseReturnValue:
    user = current_user()
    if user.role == "therapist":
        if user.therapist_id != therapist_id:
            raise Forbidden("therapists manage only their own feed")
    else:
        require("admin", "front_desk")
        offices = [o.id for o in directory.get_therapist(db(), therapist_id).offices]
        if user.role == "front_desk" and not any(user.may_see_office(o) for o in offices):
            raise Forbidden("this therapist works at none of your offices")
    return _rotate("therapist", therapist_id, user.email)


@blueprint.post("/locations/<location_id>/feed-token")
def rotate_location_feed(location_id: str) -> ResponseReturnValue:
    user = require("admin", "front_desk")
    if ctx().locations.get(location_id) is None:
        raise NotFound("location", location_id)
    require_office(location_id)
    return _rotate("location", location_id, user.email)


@blueprint.post("/clients/<int:client_id>/feed-token")
def rotate_client_feed(client_id: int) -> ResponseReturnValue:
    user = require("admin", "front_desk")
    client = directory.get_client(db(), client_id)
    if not user.may_see_office(client.home_office_id):
        raise Forbidden(f"no access to office {client.home_office_id}")
    return _rotate("client", client_id, user.email)


def _rotate(kind: FeedKind, owner_id: object, actor: str) -> ResponseReturnValue:
    with unit_of_work() as session:
        token = feeds.rotate_token(session, ctx(), kind, owner_id, actor=actor)
    return jsonify({"feed_url": feeds.feed_url(ctx().settings, kind, token)}), 201


def feed_url_for(kind: FeedKind, owner_id: object) -> str | None:
    """The live feed URL to show in a read response (None if none, or not the caller's to see).

    The route already decided the caller may read the owner; an office feed lists every
    session there, so only staff who may see that office are shown its URL.
    """
    if kind == "location":
        user = current_user()
        if user.role == "therapist" or not user.may_see_office(str(owner_id)):
            return None
    return feeds.current_feed_url(db(), ctx(), kind, owner_id)
