"""The API blueprint itself: every route module attaches to it; every request needs a token."""

from __future__ import annotations

from flask import Blueprint, request

from .auth import authenticate

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")


@blueprint.before_request
def _authenticate() -> None:
    if request.endpoint == "api.openapi":  # the description is public
        return
    authenticate()
