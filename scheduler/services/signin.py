"""Signing staff in with a password, throttled per account, per client address and per pair.

Three limits over the same sliding window, each against a different attacker:
- one account from one address (`MAX_FAILURES`): someone guessing a colleague's password;
- one address, any accounts (`MAX_ADDRESS_FAILURES`): one machine trying many accounts;
- one account, any addresses (`MAX_ACCOUNT_FAILURES`): many machines guessing one password.
The per-pair limit is the lowest, so a user who mistypes is stopped before their account is
locked for everyone else. Failures are rows in the database, not counters in one process's
memory, so the limits hold however many web processes answer requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from ..db.models import SignInFailure, User
from . import accounts, audit
from .errors import ServiceError

MAX_FAILURES = 5  # one account from one address
MAX_ACCOUNT_FAILURES = 10  # one account from any number of addresses
# One address over any accounts; generous because an office's desks may share one address.
MAX_ADDRESS_FAILURES = 20
WINDOW = timedelta(minutes=15)


class BadCredentials(ServiceError):
    """Unknown email, wrong password or inactive account (deliberately indistinguishable)."""


class Throttled(ServiceError):
    def __init__(self, retry_after: timedelta) -> None:
        super().__init__("too many failed sign-ins; try again later")
        self.retry_after = retry_after

    @property
    def minutes(self) -> int:
        return max(1, -(-int(self.retry_after.total_seconds()) // 60))


@dataclass(frozen=True)
class Attempt:
    email: str
    password: str
    ip: str

    @property
    def account(self) -> str:
        return self.email.strip().lower()[:254]

    @property
    def address(self) -> str:
        return self.ip[:64]


def _retry_after(attempt: Attempt, db: Session, since: datetime, now: datetime) -> timedelta:
    """How long until every limit this attempt falls under has room again (0: none is full)."""
    rows = db.execute(
        select(SignInFailure.account, SignInFailure.ip, SignInFailure.at)
        .where(
            SignInFailure.at > since,
            or_(SignInFailure.account == attempt.account, SignInFailure.ip == attempt.address),
        )
        .order_by(SignInFailure.at)
    ).tuples()
    pair: list[datetime] = []
    account: list[datetime] = []
    address: list[datetime] = []
    for row_account, row_ip, at in rows:
        if row_account == attempt.account:
            account.append(at)
        if row_ip == attempt.address:
            address.append(at)
            if row_account == attempt.account:
                pair.append(at)
    wait = timedelta(0)
    for failures, limit in (
        (pair, MAX_FAILURES),
        (account, MAX_ACCOUNT_FAILURES),
        (address, MAX_ADDRESS_FAILURES),
    ):
        if len(failures) >= limit:
            # Open again once enough failures have aged out of the window to be under the limit.
            wait = max(wait, failures[-limit] + WINDOW - now)
    return wait


def sign_in(db: Session, attempt: Attempt, *, now: datetime) -> User:
    """The user whose password this is, or BadCredentials; Throttled after repeated failures."""
    since = now - WINDOW
    wait = _retry_after(attempt, db, since, now)
    if wait > timedelta(0):
        raise Throttled(wait)
    user = accounts.find_user(db, attempt.account) if attempt.account else None
    if not accounts.check_password(user, attempt.password) or user is None:
        sweep(db, now=now)
        db.add(SignInFailure(account=attempt.account, ip=attempt.address, at=now))
        # The lasting record (failures themselves are forgotten after the window), for
        # reviewing sign-in attempts; bounded by the limits above, as refused tries write none.
        audit.record(
            db,
            actor=f"ip:{attempt.address}",
            action="user.sign_in_failed",
            entity="user",
            entity_id=user.id if user is not None else "unknown",
            account=attempt.account,
        )
        raise BadCredentials("wrong email or password")
    # Success forgives this pair's mistakes, not failures of the account from elsewhere.
    db.execute(
        delete(SignInFailure).where(
            SignInFailure.account == attempt.account, SignInFailure.ip == attempt.address
        )
    )
    audit.record(
        db,
        actor=user.email,
        action="user.signed_in",
        entity="user",
        entity_id=user.id,
        ip=attempt.ip,
    )
    return user


def sweep(db: Session, *, now: datetime) -> int:
    """Forget failures that no longer count against any limit; returns how many."""
    result = db.execute(delete(SignInFailure).where(SignInFailure.at <= now - WINDOW))
    return int(getattr(result, "rowcount", 0) or 0)
