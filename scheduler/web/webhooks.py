"""Twilio webhooks: the delivery-status callback, and the signature check every webhook uses.

Twilio signs each request with the account's auth token over the URL it called and the form
fields. The URL is rebuilt from PUBLIC_BASE_URL, never from the request's Host or
X-Forwarded-* headers, which are whatever the caller says they are.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, abort, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from ..inputs import INT_MAX, int_problem, text_problem
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
    problems = _status_problems(form)
    if problems:
        return jsonify({"error": "validation", "fields": problems}), 400
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    status = form.get("MessageStatus") or form.get("SmsStatus") or ""
    raw_code = form.get("ErrorCode") or None
    code = int(raw_code) if raw_code is not None else None
    with unit_of_work() as db:
        outcome = outcomes.apply_status(
            db, sid=sid, status=status, error_code=code, error=form.get("ErrorMessage")
        )
    log.info("status callback %s %s: %s", sid, status, outcome)
    # Twilio only needs a 2xx; the outcome helps whoever reads the logs or replays by hand.
    return jsonify({"outcome": outcome}), 200


_SID = re.compile(r"[A-Za-z0-9]{2,64}")
_STATUS = re.compile(r"[a-z_-]{1,20}")  # provider_status is a String(20) column
_MAX_ERROR_TEXT = 500


def _status_problems(form: MultiDict[str, str]) -> dict[str, str]:
    """What is wrong with a delivery report's fields: each must fit the row it updates."""
    problems: dict[str, str] = {}
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    status = form.get("MessageStatus") or form.get("SmsStatus") or ""
    if not sid:
        problems["MessageSid"] = "is required"
    elif not _SID.fullmatch(sid):
        problems["MessageSid"] = "must be 2-64 letters and digits"
    if not status:
        problems["MessageStatus"] = "is required"
    elif not _STATUS.fullmatch(status):
        problems["MessageStatus"] = "must be a Twilio message status"
    raw_code = form.get("ErrorCode") or None
    if raw_code is not None:
        if not (raw_code.isascii() and raw_code.isdigit()):
            problems["ErrorCode"] = "must be a number"
        elif len(raw_code) > 10 or int_problem(int(raw_code)):  # an INTEGER column
            problems["ErrorCode"] = f"must be a number from 0 to {INT_MAX}"
    message = form.get("ErrorMessage") or ""
    if len(message) > _MAX_ERROR_TEXT or text_problem(message):
        problems["ErrorMessage"] = f"must be one line of at most {_MAX_ERROR_TEXT} characters"
    return problems


@bp.post("/inbound")
def inbound_text() -> ResponseReturnValue:
    """A text from a client, answered with TwiML (see webhooks_inbound)."""
    return webhooks_inbound.handle(signed_twilio_form)
