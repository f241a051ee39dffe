"""API tokens end: by expiry, by revocation, and when their user is disabled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from scheduler.db.models import ApiToken
from scheduler.services import accounts
from scheduler.wiring import Container
from tests.web.clock_support import Clock
from tests.web.conftest import Api

START = datetime(2026, 11, 30, 9, tzinfo=UTC)


def _user(db: Session, email: str = "svc@test.invalid") -> str:
    accounts.create_user(db, email=email, role="admin", password="correct-horse-1")
    return email


def test_a_token_made_for_n_days_is_refused_after_them(
    client: FlaskClient, db: Session, container: Container
) -> None:
    clock = Clock(START)
    container.clock = clock
    email = _user(db)
    issued = accounts.issue_token(db, email, expires_at=START + timedelta(days=7))
    db.commit()
    api = Api(client, issued.secret)
    assert api.get("/locations").status_code == 200
    clock.advance(days=7, seconds=-1)
    assert api.get("/locations").status_code == 200
    clock.advance(seconds=1)
    refused = api.get("/locations")
    assert refused.status_code == 401
    assert refused.json["error"] == "unauthorized"
    assert "expired" in refused.json["message"]
    # A token without an expiry keeps working.
    forever = Api(client, accounts.create_token(db, email))
    db.commit()
    clock.advance(days=3650)
    assert forever.get("/locations").status_code == 200


def test_revoked_token_is_refused_at_once(
    client: FlaskClient, db: Session, container: Container
) -> None:
    email = _user(db)
    issued = accounts.issue_token(db, email)
    keep = Api(client, accounts.create_token(db, email))
    db.commit()
    api = Api(client, issued.secret)
    assert api.get("/locations").status_code == 200
    row, previously = accounts.revoke_token(db, issued.row.id, now=START, actor="cli:test")
    db.commit()
    assert previously is None and row.revoked_at == START
    assert api.get("/locations").status_code == 401
    assert keep.get("/locations").status_code == 200
    _, previously = accounts.revoke_token(db, issued.row.id, now=START, actor="cli:test")
    assert previously == START  # revoking twice changes nothing


def test_disabling_a_user_refuses_all_its_tokens_and_keeps_them(
    client: FlaskClient, db: Session, container: Container
) -> None:
    email = _user(db)
    apis = [Api(client, accounts.create_token(db, email)) for _ in range(2)]
    db.commit()
    assert all(a.get("/locations").status_code == 200 for a in apis)
    done = accounts.disable_user(db, email, now=START, actor="cli:test")
    db.commit()
    assert done is not None and done.tokens_revoked == 2
    assert all(a.get("/locations").status_code == 401 for a in apis)
    rows = accounts.list_tokens(db, email)
    assert len(rows) == 2 and all(r.revoked_at == START for r in rows)
    # Enabling the user again does not bring the old tokens back.
    accounts.enable_user(db, email, actor="cli:test")
    db.commit()
    assert all(a.get("/locations").status_code == 401 for a in apis)


def test_last_used_is_written_at_most_once_a_minute(
    client: FlaskClient, db: Session, container: Container
) -> None:
    clock = Clock(START)
    container.clock = clock
    email = _user(db)
    issued = accounts.issue_token(db, email)
    db.commit()
    api = Api(client, issued.secret)

    def last_used() -> datetime | None:
        db.expire_all()
        row = db.get(ApiToken, issued.row.id)
        assert row is not None
        return row.last_used_at

    api.get("/locations")
    assert last_used() == START
    clock.advance(seconds=59)
    api.get("/locations")
    assert last_used() == START
    clock.advance(seconds=1)
    api.get("/locations")
    assert last_used() == START + timedelta(minutes=1)
