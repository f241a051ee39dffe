"""POST /webhooks/twilio/inbound: texts from clients, answered with TwiML.

The route lives on the webhooks blueprint (scheduler/web/webhooks.py), which also owns the one
signature check every Twilio webhook uses; this module is what the route does after it.

Order of checks: the signature first (403, nothing read or written), then the form's fields
(400 naming them, nothing written), then the text and all of its effects in one transaction.
A text to a number that is no office's sender is kept for the admins and answered 422, so the
misconfiguration shows up in Twilio's debugger while no client's words are lost.

Twilio's own opt-out and opt-in keywords, alone, get an empty TwiML response: Twilio answers
them itself, and after an opt-out it would block any message we sent back anyway (error 21610).
Other opt-outs (plain words, Spanish) get the standard confirmation from us
(`services.inbound_consent`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from flask import Response, request
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import MultiDict

from ..services.inbound import InboundSms, receive
from .context import ctx, unit_of_work
from .errors import json_error

log = logging.getLogger(__name__)

_SID = re.compile(r"[A-Za-z0-9]{2,64}")
_MAX_NUMBER = 32
# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


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


def handle(signed_form: Callable[[], MultiDict[str, str]]) -> ResponseReturnValue:
    """Answer POST /webhooks/twilio/inbound; `signed_form` is the webhooks' signature check."""
    # Keep the raw bytes before the check parses the form (which consumes the stream):
    # Werkzeug then parses from this cache, and _form_is_clean_utf8 can compare the two.
    request.get_data(cache=True, parse_form_data=False)
    form = signed_form()
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
