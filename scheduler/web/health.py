"""Liveness and readiness for load balancers, orchestrators and the engineer on call."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from ..services import readiness
from .context import container, db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    db().execute(text("SELECT 1"))
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    """200 when ready, 503 otherwise; the same keys either way (services.readiness)."""
    c = container()
    state = readiness.check(
        db(), now=c.clock(), dispatch_interval_seconds=c.settings.dispatch_interval_seconds
    )
    return jsonify(state.as_dict()), 200 if state.ready else 503
