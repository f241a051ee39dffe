"""GET /metrics: Prometheus' text format, for a scraper on this host or one holding the token.

Who may scrape: a request from loopback (127.0.0.0/8, ::1) that did not come through a proxy
(no X-Forwarded-For: a reverse proxy on the same host would make every visitor look local),
or anyone presenting `METRICS_TOKEN` as a bearer token (compared in constant time). Anyone
else gets the same 404 as a path that does not exist: the metrics name offices and routes,
and nothing tells an outsider that there is something to guess a token for.
"""

from __future__ import annotations

import hmac
import ipaddress

from flask import Blueprint, Response, abort, request
from flask.typing import ResponseReturnValue

from .. import metrics
from .context import container, db

bp = Blueprint("metrics", __name__)


def _is_loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def allowed(token: str | None) -> bool:
    given = request.headers.get("Authorization", "")
    if token and given.startswith("Bearer "):
        return hmac.compare_digest(given[len("Bearer ") :].encode(), token.encode())
    return _is_loopback(request.remote_addr) and "X-Forwarded-For" not in request.headers


@bp.get("/metrics")
def scrape() -> ResponseReturnValue:
    c = container()
    if not allowed(c.settings.metrics_token):
        abort(404)
    body, content_type = metrics.exposition(metrics.database_families(db(), c.clock()))
    return Response(body, content_type=content_type)
