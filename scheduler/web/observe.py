"""Every request: a request id, one log line and its latency in the metrics.

The request id is the caller's `X-Request-ID` when it looks like one (a load balancer's or
another service's: letters, digits and `._:-`, at most 128), otherwise a new one; either way it
is sent back in `X-Request-ID` and put on every log line written while the request is served.

The log line and the metric name the route's template (`/api/v1/clients/<int:client_id>`;
the log line its Flask endpoint too), never the path as asked: paths hold ids and feed
tokens, query strings hold names and phone numbers typed into a search box. Bodies are never
logged.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, g, request
from werkzeug.wrappers import Response

from .. import logs, metrics

log = logging.getLogger("scheduler.requests")
_GOOD_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
UNMATCHED = "<unmatched>"  # a path no route knows (404, 405): not logged as asked


def register(app: Flask) -> None:
    """Register first, so the timing includes every other hook."""

    @app.before_request
    def _start() -> None:
        asked = request.headers.get("X-Request-ID", "")
        g.request_id = asked if _GOOD_ID.fullmatch(asked) else uuid.uuid4().hex
        g.request_token = logs.request_id.set(g.request_id)
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        started = g.pop("request_started", None)
        if started is None:  # a response made before `_start` ran
            return response
        seconds = time.perf_counter() - started
        rule = request.url_rule
        template = rule.rule if rule is not None else UNMATCHED
        endpoint = request.endpoint or UNMATCHED
        response.headers["X-Request-ID"] = g.request_id
        metrics.observe_request(template, request.method, response.status_code, seconds)
        log.info(
            "%s %s %s %.1fms",
            request.method,
            template,
            response.status_code,
            seconds * 1000,
            extra={
                "method": request.method,
                "path": template,
                "endpoint": endpoint,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 2),
            },
        )
        return response

    @app.teardown_request
    def _forget(_exc: BaseException | None) -> None:
        token = g.pop("request_token", None)
        if token is not None:
            logs.request_id.reset(token)
