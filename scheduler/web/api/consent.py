"""PATCH /clients/{id}: consents (with history), the phone number and the language.

A client who opted out by text can be opted back in by staff only with a new recorded consent:
`sms_consent: true` together with `consent_source` (how it was obtained) and `consent_note`
(when and by whom). Without them the answer is 422 naming the missing fields. The response's
`notices` remind staff that Twilio keeps blocking texts until the client texts START.
"""

from __future__ import annotations

from typing import Annotated

from flask import jsonify
from flask.typing import ResponseReturnValue
from pydantic import StringConstraints

from ...db.models import Client
from ...domain.languages import Language
from ...services import consent
from ...services.consent import ConsentSource
from ...services.errors import Invalid
from ..context import ctx, unit_of_work
from ..reach import allow, load
from . import openapi, serialize
from .auth import current_user
from .base import blueprint
from .schemas import Body, parse


class ClientPatch(Body):
    """Change consents or the phone; consent_source and consent_note record how consent came."""

    sms_consent: bool | None = None
    goal_prompt_consent: bool | None = None
    goal_detail_consent: bool | None = None
    consent_source: ConsentSource | None = None
    consent_note: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]
        | None
    ) = None
    phone: Annotated[str, StringConstraints(min_length=3, max_length=40)] | None = None
    language: Language | None = None
    # A new phone another client already has answers 409 "duplicate" unless this is set.
    confirm_duplicate: bool = False
    # true: the client asked staff to stop all texts to this number (the number's opt-out,
    # source "staff", with consent_note as its note). Only true: a new consent ends it.
    opted_out: bool | None = None


@blueprint.patch("/clients/<int:client_id>")
def update_client(client_id: int) -> ResponseReturnValue:
    user = current_user()
    allow("edit_client", load(Client, client_id))
    body = parse(ClientPatch)
    if not body.model_dump(exclude_none=True, exclude={"confirm_duplicate"}):
        raise Invalid({"body": "nothing to change"})
    with unit_of_work() as session:
        client, notices = consent.update_client(
            session, ctx(), client_id, consent.ClientChange(**body.model_dump()), actor=user.email
        )
        out = {**serialize.client(client), "notices": notices}
    return jsonify(out)


openapi.OPERATIONS.append(
    (
        "patch",
        "/clients/{client_id}",
        "Change consents (history kept; re-consent after the number's text opt-out needs "
        "consent_source and consent_note, and clears that opt-out), the phone or the language",
        ClientPatch,
        200,
    )
)
