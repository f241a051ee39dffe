"""Issuing and rotating calendar feed URLs; the previous URL stops working at once.

Who may rotate a feed, and so see its URL, is `services.access` (action ``rotate_feed``).
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from ...db.models import Client, Therapist
from ...services import feeds
from ...services.errors import NotFound
from ...services.feeds import FeedKind
from ..context import ctx, db, unit_of_work
from ..reach import allow, allowed, load
from .auth import current_user
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
    allow("rotate_feed", load(Therapist, therapist_id))
    return _rotate("therapist", therapist_id)


@blueprint.post("/locations/<location_id>/feed-token")
def rotate_location_feed(location_id: str) -> ResponseReturnValue:
    if ctx().locations.get(location_id) is None:
        raise NotFound("location", location_id)
    allow("rotate_feed", location_id)
    return _rotate("location", location_id)


@blueprint.post("/clients/<int:client_id>/feed-token")
def rotate_client_feed(client_id: int) -> ResponseReturnValue:
    allow("rotate_feed", load(Client, client_id))
    return _rotate("client", client_id)


def _rotate(kind: FeedKind, owner_id: object) -> ResponseReturnValue:
    with unit_of_work() as session:
        token = feeds.rotate_token(session, ctx(), kind, owner_id, actor=current_user().email)
    return jsonify({"feed_url": feeds.feed_url(ctx().settings, kind, token)}), 201


def feed_url_for(kind: FeedKind, owner: Therapist | Client | str) -> dict[str, Any]:
    """`{"feed_url": ...}` (None until one is issued) for a caller who may rotate it, else {}.

    The key is absent, not null, for everyone else: the URL is a credential to the feed.
    """
    if not allowed("rotate_feed", owner):
        return {}
    if isinstance(owner, Client):
        return {"feed_url": feeds.client_feed_url(ctx(), owner)}
    owner_id = owner if isinstance(owner, str) else owner.id
    return {"feed_url": feeds.current_feed_url(db(), ctx(), kind, owner_id)}
