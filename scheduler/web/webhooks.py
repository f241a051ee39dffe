"""Twilio webhooks: the delivery-status callback, and the signature check every webhook uses.

Twilio signs each request with the account's auth token over the URL it called and the form
fields. The URL is rebuilt from PUBLIC_BASE_URL, never from the request's Host or
X-Forwarded-* headers, which are whatever the caller says they are.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, abort, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from ..sms.twilio import verify_twilio_signature
from ..texts import outcomes
from . import webhooks_inbound
from .context import container, unit_of_work

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__, url_prefix="/webhooks/twilio")
F = TypeVar("F", bound=Callable[..., Any])


def signed_twilio_form() -> MultiDict[str, str]:
    """The request's form if its X-Twilio-Signature is valid, else abort with 403."""
    settings = container().settings
    token = settings.twilio_auth_token
    if not token:
        log.error("TWILIO_AUTH_TOKEN is not set: every Twilio webhook is refused")
        abort(403, description="webhook signatures cannot be checked on this server")
    url = settings.public_base_url.rstrip("/") + request.path
    if request.query_string:
        url += "?" + request.query_string.decode("latin-1")
    form = request.form
    if not verify_twilio_signature(token, url, form, request.headers.get("X-Twilio-Signature", "")):
        abort(403, description="missing or invalid X-Twilio-Signature")
    return form


def twilio_signed(view: F) -> F:
    """Decorate a webhook view so it runs only for requests Twilio signed."""

    @wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        signed_twilio_form()
        return view(*args, **kwargs)

    return checked  # type: ignore[return-value]


@bp.post("/status")
@twilio_signed
def status_callback() -> ResponseReturnValue:
    """A delivery report for a text we sent; statuses only ever move forward."""
    form = request.form
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    status = form.get("MessageStatus") or form.get("SmsStatus") or ""
    problems = {}
    if not sid:
        problems["MessageSid"] = "is required"
    if not status:
        problems["MessageStatus"] = "is required"
    raw_code = form.get("ErrorCode") or None
    code = None
    if raw_code is not None:
        if not raw_code.isdigit():
            problems["ErrorCode"] = "must be a number"
        else:
            code = int(raw_code)
    if problems:
        return jsonify({"error": "validation", "fields": problems}), 400
    with unit_of_work() as db:
        outcome = outcomes.apply_status(
            db, sid=sid, status=status, error_code=code, error=form.get("ErrorMessage")
        )
    log.info("status callback %s %s: %s", sid, status, outcome)
    # Twilio only needs a 2xx; the outcome helps whoever reads the logs or replays by hand.
    return jsonify({"outcome": outcome}), 200


@bp.post("/inbound")
def inbound_text() -> ResponseReturnValue:
    """A text from a client, answered with TwiML (see webhooks_inbound)."""
    return webhooks_inbound.handle(signed_twilio_form)
