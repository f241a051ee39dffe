"""Signing staff in with a password, throttled per account and client address.

Failures are rows in the database, not counters in one process's memory, so the limit holds
however many web processes answer requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..db.models import SignInFailure, User
from . import accounts, audit
from .errors import ServiceError

MAX_FAILURES = 5
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


def _recent_failures(db: Session, attempt: Attempt, since: datetime) -> list[datetime]:
    return list(
        db.scalars(
            select(SignInFailure.at)
            .where(
                SignInFailure.account == attempt.account,
                SignInFailure.ip == attempt.ip[:64],
                SignInFailure.at > since,
            )
            .order_by(SignInFailure.at)
        )
    )


def sign_in(db: Session, attempt: Attempt, *, now: datetime) -> User:
    """The user whose password this is, or BadCredentials; Throttled after repeated failures."""
    since = now - WINDOW
    failures = _recent_failures(db, attempt, since)
    if len(failures) >= MAX_FAILURES:
        # Open again once enough failures have aged out of the window to be under the limit.
        raise Throttled(failures[-MAX_FAILURES] + WINDOW - now)
    user = accounts.find_user(db, attempt.account) if attempt.account else None
    if not accounts.check_password(user, attempt.password) or user is None:
        db.execute(delete(SignInFailure).where(SignInFailure.at <= since))
        db.add(SignInFailure(account=attempt.account, ip=attempt.ip[:64], at=now))
        raise BadCredentials("wrong email or password")
    db.execute(
        delete(SignInFailure).where(
            SignInFailure.account == attempt.account, SignInFailure.ip == attempt.ip[:64]
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
