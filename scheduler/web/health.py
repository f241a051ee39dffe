"""Liveness for load balancers and the Procfile's platform."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from .context import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    db().execute(text("SELECT 1"))
    return jsonify(status="ok")
