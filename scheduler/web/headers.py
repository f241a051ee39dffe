"""Security headers on every response, set in one place for pages, API, feeds and webhooks.

Pages and API answers carry client data: no cache may keep them (no-store), no other site may
frame them, and no Referer carries their URLs away. Views that know better set their own
value first and keep it: the calendar feeds answer `private, no-cache` so subscribers can
revalidate with ETag/304, and static files keep Flask's revalidation. The API is the exception
to that rule: whatever a view says, its answers are never stored.
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.wrappers import Response

from ..config import Settings

# Scripts and styles come only from this app (no inline code, no CDN), so injected markup
# could not run even if something slipped past autoescaping.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
# JSON, calendars and plain errors are never meant to be rendered as documents.
DATA_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# One year; no includeSubDomains: other hosts of the practice's domain are not ours to pin.
HSTS = "max-age=31536000"


def register(app: Flask, settings: Settings) -> None:
    """Add the after-request hook that sets the headers."""
    hsts = settings.public_base_url.startswith("https://")

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault(
            "Content-Security-Policy", PAGE_CSP if response.mimetype == "text/html" else DATA_CSP
        )
        if hsts:
            headers.setdefault("Strict-Transport-Security", HSTS)
        if request.path.startswith("/api/"):
            headers["Cache-Control"] = "no-store"
        elif request.endpoint != "static":
            headers.setdefault("Cache-Control", "no-store")
        return response
