"""Sign-in limits per account and per client address, and the real address behind proxies."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scheduler.db.models import AuditEntry, SignInFailure
from scheduler.db.types import utcnow
from scheduler.services import signin
from scheduler.web import create_app
from scheduler.wiring import Container
from tests.web.pages_support import PASSWORD, sign_in, staff

NOW = datetime(2026, 11, 30, 9, tzinfo=UTC)


def test_many_accounts_from_one_address_are_stopped(app: Flask, db: Session) -> None:
    """30 accounts tried once each from one address: the address is throttled, not each pair."""
    client = app.test_client()
    codes = [
        sign_in(client, f"guess{i}@test.invalid", "wrong-password-9").status_code for i in range(30)
    ]
    assert codes[: signin.MAX_ADDRESS_FAILURES] == [401] * signin.MAX_ADDRESS_FAILURES
    assert set(codes[signin.MAX_ADDRESS_FAILURES :]) == {429}
    # The address is stopped even for a real account with the right password...
    staff(db, "desk@test.invalid")
    blocked = sign_in(client, "desk@test.invalid")
    assert blocked.status_code == 429 and "Too many failed attempts" in blocked.text
    # ...while the same account from another address gets in.
    other = sign_in(client, "desk@test.invalid", environ_base={"REMOTE_ADDR": "198.51.100.4"})
    assert other.status_code == 302


def test_one_account_from_many_addresses_is_stopped(app: Flask, db: Session) -> None:
    staff(db, "desk@test.invalid")
    client = app.test_client()
    codes = []
    for i in range(signin.MAX_ACCOUNT_FAILURES + 2):
        where = {"REMOTE_ADDR": f"203.0.113.{i + 1}"}  # a new address for every guess
        codes.append(
            sign_in(client, "desk@test.invalid", "wrong-password-9", environ_base=where).status_code
        )
    assert codes == [401] * signin.MAX_ACCOUNT_FAILURES + [429, 429]
    # Even the right password from yet another address waits for the window to pass.
    fresh = {"REMOTE_ADDR": "192.0.2.200"}
    assert sign_in(client, "desk@test.invalid", environ_base=fresh).status_code == 429
    # Other accounts are not affected.
    staff(db, "desk2@test.invalid")
    assert sign_in(app.test_client(), "desk2@test.invalid").status_code == 302


def earlier_failures(db: Session, ip: str, count: int, start: datetime = NOW) -> None:
    """Failures of `count` different accounts from one address, a second apart."""
    for i in range(count):
        db.add(SignInFailure(account=f"x{i}@test.invalid", ip=ip, at=start + timedelta(seconds=i)))
    db.commit()


def test_each_limit_lifts_when_its_oldest_failures_age_out(db: Session) -> None:
    staff(db, "desk@test.invalid")
    earlier_failures(db, "192.0.2.1", signin.MAX_ADDRESS_FAILURES)
    good = signin.Attempt("desk@test.invalid", PASSWORD, "192.0.2.1")
    with pytest.raises(signin.Throttled) as refused:
        signin.sign_in(db, good, now=NOW + timedelta(minutes=1))
    assert refused.value.retry_after == timedelta(minutes=14)
    user = signin.sign_in(db, good, now=NOW + signin.WINDOW + timedelta(seconds=1))
    assert user.email == "desk@test.invalid"


def test_sweep_forgets_only_failures_outside_the_window(db: Session) -> None:
    for minutes in (0, 10, 20):
        with pytest.raises(signin.BadCredentials):
            signin.sign_in(
                db,
                signin.Attempt("nobody@test.invalid", "nope-nope-nope", "192.0.2.9"),
                now=NOW + timedelta(minutes=minutes),
            )
    assert signin.sweep(db, now=NOW + timedelta(minutes=26)) == 1
    kept = db.scalars(select(SignInFailure.at).order_by(SignInFailure.at)).all()
    assert kept == [NOW + timedelta(minutes=20)]


def _app_behind(container: Container, proxies: int) -> Flask:
    container.settings = replace(container.settings, trusted_proxies=proxies)
    app = create_app(container=container)
    app.config.update(TESTING=True)
    return app


def _recorded_address(db: Session, app: Flask, forwarded_for: str) -> str:
    client = app.test_client()
    response = sign_in(
        client,
        "desk@test.invalid",
        "wrong-password-9",
        headers={"X-Forwarded-For": forwarded_for},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},  # the proxy's own address
    )
    assert response.status_code == 401
    db.expire_all()
    return db.scalars(select(SignInFailure.ip).order_by(SignInFailure.id.desc())).first() or ""


def test_one_trusted_proxy_gives_the_client_address(container: Container, db: Session) -> None:
    staff(db, "desk@test.invalid")
    app = _app_behind(container, 1)
    assert _recorded_address(db, app, "203.0.113.7") == "203.0.113.7"
    # A client that sends its own X-Forwarded-For cannot choose its address: the proxy appends
    # the real one, and only that last hop is believed.
    assert _recorded_address(db, app, "1.2.3.4, 203.0.113.8") == "203.0.113.8"
    client = app.test_client()
    sign_in(
        client,
        "desk@test.invalid",
        headers={"X-Forwarded-For": "203.0.113.9"},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )
    signed_in = db.scalars(
        select(AuditEntry).where(AuditEntry.action == "user.signed_in").order_by(AuditEntry.id)
    ).all()
    assert signed_in[-1].details["ip"] == "203.0.113.9"


def test_without_trusted_proxies_x_forwarded_for_is_ignored(
    container: Container, db: Session
) -> None:
    staff(db, "desk@test.invalid")
    app = _app_behind(container, 0)
    assert _recorded_address(db, app, "203.0.113.7") == "10.0.0.2"


def test_forged_addresses_do_not_escape_the_address_limit(
    container: Container, db: Session
) -> None:
    """Behind one proxy, a client rotating X-Forwarded-For values is still one address."""
    earlier_failures(db, "203.0.113.50", signin.MAX_ADDRESS_FAILURES - 1, utcnow())
    app = _app_behind(container, 1)
    client = app.test_client()
    codes = [
        sign_in(
            client,
            f"guess{i}@test.invalid",
            "wrong-password-9",
            headers={"X-Forwarded-For": f"198.51.100.{i}, 203.0.113.50"},
        ).status_code
        for i in range(2)
    ]
    assert codes == [401, 429]


def test_failed_sign_ins_are_audited_and_refused_ones_write_nothing(db: Session) -> None:
    user = staff(db, "desk@test.invalid")
    bad = signin.Attempt("Desk@test.invalid", "nope-nope-nope", "192.0.2.7")
    for i in range(signin.MAX_FAILURES):
        with pytest.raises(signin.BadCredentials):
            signin.sign_in(db, bad, now=NOW + timedelta(seconds=i))
    with pytest.raises(signin.BadCredentials):
        signin.sign_in(db, signin.Attempt("ghost@test.invalid", "x" * 12, "192.0.2.7"), now=NOW)
    failed = db.scalars(
        select(AuditEntry).where(AuditEntry.action == "user.sign_in_failed").order_by(AuditEntry.id)
    ).all()
    assert [e.entity_id for e in failed] == [str(user.id)] * signin.MAX_FAILURES + ["unknown"]
    assert failed[0].actor == "ip:192.0.2.7"
    assert failed[0].details["account"] == "desk@test.invalid"
    with pytest.raises(signin.Throttled):
        signin.sign_in(db, bad, now=NOW + timedelta(minutes=1))
    count = db.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action.like("user.sign%"))
    )
    assert count == len(failed)
