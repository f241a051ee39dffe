"""The JSON API under /api/v1: bearer tokens, JSON errors, an OpenAPI file that stays true."""

from __future__ import annotations

from flask import Blueprint

from .auth import authenticate

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")


@blueprint.before_request
def _authenticate() -> None:
    from flask import request

    if request.endpoint == "api.openapi":
        return
    authenticate()


# Route modules attach themselves to the blueprint; imported here so wiring stays in one place.
from . import feeds, messages, openapi, practice, schedule  # noqa: E402, F401
from . import consent, inbox, review  # noqa: E402, F401  (two-way SMS)
