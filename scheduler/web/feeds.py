"""Subscribed calendars: /feeds/<kind>/<token>.ics, answered from the stored feed.

A poll resolves the token and checks the stored feed is fresh (two small queries); a
conditional request that matches gets 304 without the body being read, let alone built.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, abort, request
from flask.typing import ResponseReturnValue
from werkzeug.http import http_date

from ..services import feeds
from ..services.feeds import FeedHead, FeedKind
from .context import ctx, unit_of_work

bp = Blueprint("feeds", __name__, url_prefix="/feeds")

# One answer for unknown, revoked and malformed tokens alike: a URL reveals nothing.
_NOT_FOUND = "no such calendar feed"


@bp.get("/therapists/<token>.ics")
def therapist_feed(token: str) -> ResponseReturnValue:
    return _serve("therapist", token)


@bp.get("/locations/<token>.ics")
def location_feed(token: str) -> ResponseReturnValue:
    return _serve("location", token)


@bp.get("/clients/<token>.ics")
def client_feed(token: str) -> ResponseReturnValue:
    return _serve("client", token)


def _serve(kind: FeedKind, token: str) -> Response:
    with unit_of_work() as session:
        head = feeds.lookup(session, ctx(), kind, token)
        if head is None:
            abort(404, description=_NOT_FOUND)
        if _not_modified(head):
            return _with_validators(Response(status=304), head.etag, head.last_modified)
        body, etag, last_modified = feeds.load_body(session, head.feed_id)
    response = Response(body, content_type="text/calendar; charset=utf-8")
    response.headers["Content-Disposition"] = f'inline; filename="{kind}-sessions.ics"'
    return _with_validators(response, etag, last_modified)


def _not_modified(head: FeedHead) -> bool:
    """RFC 9110 13.2.2: If-None-Match decides when present; otherwise If-Modified-Since."""
    if request.headers.get("If-None-Match") is not None:
        # Weak comparison, as the RFC asks for If-None-Match; "*" matches any existing feed.
        return request.if_none_match.contains_weak(head.etag.strip('"'))
    since = request.if_modified_since
    return since is not None and head.last_modified <= since


def _with_validators(response: Response, etag: str, last_modified: datetime) -> Response:
    response.headers["ETag"] = etag
    response.headers["Last-Modified"] = http_date(last_modified)
    # Revalidate on every poll (cheap: a 304) so a change shows at the next request; the URL
    # is a secret, so shared caches must not keep it and no Referer may carry it away.
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
