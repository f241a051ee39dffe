"""Per-request access to the wired container and a database session (web/ only)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, g
from sqlalchemy.orm import Session

from ..services.context import ServiceContext
from ..wiring import Container


def container() -> Container:
    return current_app.extensions["ipt"]


def ctx() -> ServiceContext:
    return container().ctx


def db() -> Session:
    """The request's session, opened on first use and closed at teardown."""
    if "db" not in g:
        g.db = container().sessions()
    return g.db


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
