"""Per-request access to the wired container and a database session (web/ only)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, g, has_request_context, request
from sqlalchemy.orm import Session

from ..services import audit
from ..services.context import ServiceContext
from ..wiring import Container


def container() -> Container:
    return current_app.extensions["ipt"]


def ctx() -> ServiceContext:
    return container().ctx


def db() -> Session:
    """The request's session, opened on first use and closed at teardown.

    A GET or HEAD request only reads (and records what it shows): unless
    READ_AUDIT_COMMIT=durable, its audit rows are committed without waiting for PostgreSQL's
    log flush (`web.reach.served`, `audit.SKIP_FLUSH_WAIT`)."""
    if "db" not in g:
        g.db = session = container().sessions()
        reading = has_request_context() and request.method in _READS
        if reading and container().settings.read_audit_commit == "async":
            session.info[audit.SKIP_FLUSH_WAIT] = True
    return g.db


_READS = ("GET", "HEAD")


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """Commit what the block wrote, or roll all of it back if anything raised."""
    session = db()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
