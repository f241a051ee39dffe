"""POST /webhooks/twilio/inbound: texts from clients, answered with TwiML.

Order of checks: the signature first (403, nothing read or written), then the form's fields
(400 naming them, nothing written), then the text and all of its effects in one transaction.
A text to a number that is no office's sender is kept for the admins and answered 422, so the
misconfiguration shows up in Twilio's debugger while no client's words are lost.

Opt-out and opt-in words get an empty TwiML response: Twilio answers them itself, and after an
opt-out it would block any message we sent back anyway (error 21610).
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from flask import Blueprint, Response, abort, request
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from ..services.inbound import InboundSms, receive
from ..sms.twilio import verify_twilio_signature
from .context import container, ctx, unit_of_work
from .errors import json_error

log = logging.getLogger(__name__)

bp = Blueprint("webhooks_inbound", __name__, url_prefix="/webhooks/twilio")

_SID = re.compile(r"[A-Za-z0-9]{2,64}")
_MAX_NUMBER = 32
# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@bp.before_request
def _keep_raw_body() -> None:
    # Read (and cache) the raw bytes before anything parses the form, which would consume the
    # stream; Werkzeug then parses the form from this cache.
    request.get_data(cache=True, parse_form_data=False)


def signed_form() -> MultiDict[str, str]:
    """The request's form if X-Twilio-Signature matches it, else 403.

    The URL is rebuilt from PUBLIC_BASE_URL: the request's own Host and X-Forwarded-* headers
    are whatever the caller says they are and prove nothing.
    """
    settings = container().settings
    token = settings.twilio_auth_token
    if not token:
        log.error("TWILIO_AUTH_TOKEN is not set: every Twilio webhook is refused")
        abort(403, description="webhook signatures cannot be checked on this server")
    url = settings.public_base_url + request.path
    if request.query_string:
        url += "?" + request.query_string.decode("latin-1")
    signature = request.headers.get("X-Twilio-Signature", "")
    form = request.form
    if not verify_twilio_signature(token, url, form, signature):
        abort(403, description="missing or invalid X-Twilio-Signature")
    return form


def _form_is_clean_utf8(form: MultiDict[str, str]) -> bool:
    """True if the raw body decodes as UTF-8 to exactly the form that was verified.

    Werkzeug keeps undecodable escapes as literal text and drops a form with raw non-ASCII
    bytes entirely; acting on either would mean acting on something other than what was sent.
    """
    raw = request.get_data(cache=True)
    try:
        pairs = parse_qsl(raw.decode("ascii"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        return False
    return sorted(pairs) == sorted(form.items(multi=True))


def _read(form: MultiDict[str, str]) -> InboundSms:
    problems: dict[str, str] = {}
    sid = form.get("MessageSid", "").strip()
    if not sid:
        problems["MessageSid"] = "is required"
    elif not _SID.fullmatch(sid):
        problems["MessageSid"] = "must be 2-64 letters and digits"
    numbers: dict[str, str] = {}
    for field in ("From", "To"):
        value = form.get(field, "").strip()
        if not value:
            problems[field] = "is required"
        elif len(value) > _MAX_NUMBER or not value.isprintable():
            problems[field] = f"must be a phone number of at most {_MAX_NUMBER} characters"
        numbers[field] = value
    media = form.get("NumMedia", "0").strip() or "0"
    if not (media.isascii() and media.isdigit()) or int(media) > 100:
        problems["NumMedia"] = "must be a whole number from 0 to 100"
    account = form.get("AccountSid", "").strip()[:64] or None
    if problems:
        raise _BadForm(problems)
    # PostgreSQL text cannot hold NUL; keep the rest of the text rather than refusing it.
    body = form.get("Body", "").replace("\x00", "\ufffd")
    return InboundSms(sid, numbers["From"], numbers["To"], body, account, int(media))


class _BadForm(Exception):
    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


def twiml(text: str | None) -> Response:
    """A TwiML answer: one <Message> with `text`, or an empty <Response/> for None."""
    inner = f"<Message>{escape(_NOT_XML.sub('', text))}</Message>" if text else ""
    xml = f'<?xml version="1.0" encoding="UTF-8"?><Response>{inner}</Response>'
    return Response(xml, status=200, content_type="text/xml; charset=utf-8")


def handle_inbound(form: MultiDict[str, str]) -> ResponseReturnValue:
    """Act on a text whose signature has been checked."""
    if not _form_is_clean_utf8(form):
        return json_error(
            400,
            "bad_request",
            message="the form body is not valid UTF-8 form data; nothing was recorded",
        )
    try:
        sms = _read(form)
    except _BadForm as bad:
        return json_error(400, "validation", fields=bad.fields)
    with unit_of_work() as db:
        receipt = receive(db, ctx(), sms)
    if not receipt.routed:
        log.warning(
            "inbound text %s to %s, which is no office's number", sms.message_sid, sms.to_number
        )
        return json_error(
            422,
            "validation",
            fields={"To": "is not the SMS number of any office; the text was kept for admins"},
        )
    return twiml(receipt.reply)


@bp.post("/inbound")
def inbound() -> ResponseReturnValue:
    return handle_inbound(signed_form())
