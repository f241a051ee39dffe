"""Staff accounts and API tokens: create, list, disable and enable, passwords, revocation.

Accounts and tokens are never deleted, only disabled or revoked, so the audit log keeps
pointing at real rows. Every change is audited in the same transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session, defer, selectinload
from werkzeug.security import check_password_hash, generate_password_hash

from ..db.models import ROLES, ApiToken, Office, Therapist, User
from ..db.types import utcnow
from . import audit, staff_sessions
from .errors import Invalid, NotFound

MIN_PASSWORD = 10
MAX_PASSWORD = 200  # hashing is deliberately slow; a megabyte "password" should not be
MAX_LABEL = 100  # the api_tokens.label column
# "Last used" of a token is written at most this often, so API reads stay reads.
TOKEN_TOUCH_EVERY = timedelta(minutes=1)
# A fixed hash to compare against when the email is unknown, so a failed sign-in takes the
# same time whether or not the account exists.
_DUMMY_HASH = generate_password_hash("not-a-real-password-0")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    db: Session,
    *,
    email: str,
    role: str,
    password: str,
    name: str = "",
    therapist_id: int | None = None,
    office_ids: list[str] | None = None,
    actor: str = "cli",
) -> User:
    problems = {}
    email = email.strip()
    if "@" not in email or len(email) > 254:
        problems["email"] = "is not an email address"
    if role not in ROLES:
        problems["role"] = "must be one of " + ", ".join(ROLES)
    password_problem = _password_problem(password)
    if password_problem:
        problems["password"] = password_problem
    if problems:
        raise Invalid(problems)
    if db.scalar(select(User.id).where(func.lower(User.email) == email.lower())):
        raise Invalid({"email": "a user with this email already exists"})
    if role == "therapist" and therapist_id is None:
        # A therapist's sign-in is tied to the therapist of the same email, when there is one.
        therapist_id = db.scalar(
            select(Therapist.id).where(func.lower(Therapist.email) == email.lower())
        )
        if therapist_id is None:
            raise Invalid({"email": "no therapist has this email; create the therapist first"})
    offices = list(db.scalars(select(Office).where(Office.id.in_(office_ids or []))))
    if office_ids and len(offices) != len(set(office_ids)):
        raise Invalid({"office_ids": "unknown office"})
    user = User(
        email=email,
        role=role,
        name=name,
        password_hash=generate_password_hash(password),
        therapist_id=therapist_id,
        offices=offices,
    )
    db.add(user)
    db.flush()
    audit.record(
        db, actor=actor, action="user.created", entity="user", entity_id=user.id, role=role
    )
    return user


def find_user(db: Session, email: str) -> User | None:
    return db.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def check_password(user: User | None, password: str) -> bool:
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(user.password_hash, password)


def _password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD:
        return f"must be at least {MIN_PASSWORD} characters"
    if len(password) > MAX_PASSWORD:
        return f"must be at most {MAX_PASSWORD} characters"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in password):
        return "must not contain control characters"
    return None


def require_user(db: Session, email: str) -> User:
    """The user with this email (any case), or NotFound naming the email field."""
    if not email.strip():
        raise Invalid({"email": "is empty"})
    user = find_user(db, email)
    if user is None:
        raise NotFound("user", email.strip(), field="email")
    return user


@dataclass(frozen=True)
class UserSummary:
    user: User
    open_sessions: int
    active_tokens: int


def list_users(db: Session, *, now: datetime, limits: staff_sessions.Limits) -> list[UserSummary]:
    """Every account, disabled ones included, with its open sessions and usable tokens."""
    sessions = staff_sessions.open_counts(db, now=now, limits=limits)
    usable = db.execute(
        select(ApiToken.user_id, func.count()).where(_token_usable(now)).group_by(ApiToken.user_id)
    )
    tokens = {user_id: count for user_id, count in usable.tuples()}
    return [
        UserSummary(user, sessions.get(user.id, 0), tokens.get(user.id, 0))
        for user in db.scalars(select(User).options(selectinload(User.offices)).order_by(User.id))
    ]


@dataclass(frozen=True)
class Disabled:
    user: User
    sessions_ended: int
    tokens_revoked: int


def disable_user(db: Session, email: str, *, now: datetime, actor: str) -> Disabled | None:
    """Disable the account and end its sessions and tokens at once; None if already disabled.

    The user, its tokens and its audit trail stay in the database.
    """
    user = require_user(db, email)
    if not user.active:
        return None
    user.active = False
    ended = staff_sessions.end_all(db, user.id)
    revoked = _revoke_where(db, ApiToken.user_id == user.id, now)
    audit.record(
        db,
        actor=actor,
        action="user.disabled",
        entity="user",
        entity_id=user.id,
        sessions_ended=ended,
        tokens_revoked=revoked,
    )
    return Disabled(user, ended, revoked)


def enable_user(db: Session, email: str, *, actor: str) -> User | None:
    """Let a disabled account sign in again (its old tokens stay revoked); None if active."""
    user = require_user(db, email)
    if user.active:
        return None
    user.active = True
    audit.record(db, actor=actor, action="user.enabled", entity="user", entity_id=user.id)
    return user


def set_password(db: Session, email: str, password: str, *, actor: str) -> int:
    """Set a new password and end every browser session of the account; returns how many."""
    problem = _password_problem(password)
    if problem:
        raise Invalid({"password": problem})
    user = require_user(db, email)
    user.password_hash = generate_password_hash(password)
    ended = staff_sessions.end_all(db, user.id)
    audit.record(
        db,
        actor=actor,
        action="user.password_set",
        entity="user",
        entity_id=user.id,
        sessions_ended=ended,
    )
    return ended


@dataclass(frozen=True)
class IssuedToken:
    row: ApiToken
    secret: str  # shown once: only its digest is stored


def create_token(
    db: Session,
    email: str,
    *,
    label: str = "",
    actor: str = "cli",
    expires_at: datetime | None = None,
) -> str:
    """Issue a bearer token and return it; only its digest is stored, so it is shown once."""
    return issue_token(db, email, label=label, actor=actor, expires_at=expires_at).secret


def issue_token(
    db: Session,
    email: str,
    *,
    label: str = "",
    actor: str = "cli",
    expires_at: datetime | None = None,
) -> IssuedToken:
    """Issue a bearer token for an active user; the row tells its id and expiry."""
    label = label.strip()
    if len(label) > MAX_LABEL:
        raise Invalid({"label": f"must be at most {MAX_LABEL} characters"})
    user = require_user(db, email)
    if not user.active:
        raise Invalid({"email": "this user is disabled; enable it first"})
    token = "ipt_" + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id, token_hash=token_digest(token), label=label, expires_at=expires_at
    )
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="token.created",
        entity="user",
        entity_id=user.id,
        token_id=row.id,
        expires_at=expires_at.isoformat() if expires_at else None,
    )
    return IssuedToken(row, token)


def list_tokens(db: Session, email: str | None = None) -> list[ApiToken]:
    """Tokens (revoked and expired ones too), oldest first; only for one user if `email`."""
    query = select(ApiToken).order_by(ApiToken.id)
    if email is not None:
        query = query.where(ApiToken.user_id == require_user(db, email).id)
    return list(db.scalars(query))


def revoke_token(
    db: Session, token_id: int, *, now: datetime, actor: str
) -> tuple[ApiToken, datetime | None]:
    """Revoke one token by id; returns it and when it was revoked before (None: just now)."""
    row = db.get(ApiToken, token_id)
    if row is None:
        raise NotFound("token", token_id, field="id")
    previously = row.revoked_at
    if previously is None:
        row.revoked_at = now
        audit.record(
            db,
            actor=actor,
            action="token.revoked",
            entity="user",
            entity_id=row.user_id,
            token_id=row.id,
        )
    return row, previously


def revoke_user_tokens(db: Session, email: str, *, now: datetime, actor: str) -> int:
    """Revoke every token of one user that is not revoked yet; returns how many."""
    user = require_user(db, email)
    revoked = _revoke_where(db, ApiToken.user_id == user.id, now)
    if revoked:
        audit.record(
            db,
            actor=actor,
            action="token.revoked",
            entity="user",
            entity_id=user.id,
            tokens_revoked=revoked,
        )
    return revoked


def _revoke_where(db: Session, condition: Any, now: datetime) -> int:
    result = db.execute(
        update(ApiToken)
        .where(condition, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _token_usable(now: datetime) -> Any:
    return ApiToken.revoked_at.is_(None) & (
        ApiToken.expires_at.is_(None) | (ApiToken.expires_at > now)
    )


# Every API request runs this; built once, so each request skips building the statement and
# its cache key (SQLAlchemy then finds the compiled form in its cache straight away). One
# entity (the user) and the few token columns the check needs: loading the token as an
# entity too cost about as much as the rest of a small read.
_TOKEN_BY_DIGEST = (
    select(User, ApiToken.id, ApiToken.token_hash, ApiToken.expires_at, ApiToken.last_used_at)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("digest"), ApiToken.revoked_at.is_(None))
    # An API request has no use for the password hash: not loaded, and an error if read.
    .options(defer(User.password_hash, raiseload=True))
)


def user_for_token(db: Session, token: str, *, now: datetime | None = None) -> User | None:
    """The active user of a token that is neither revoked nor expired, else None."""
    return check_token(db, token, now=now)[0]


def check_token(
    db: Session, token: str, *, now: datetime | None = None
) -> tuple[User | None, bool]:
    """`user_for_token`, and whether it marked the token used: its `last_used_at` is written
    (one UPDATE, at most once a minute) in the session's transaction, for the caller to commit."""
    now = now or utcnow()
    digest = token_digest(token)
    found = db.execute(_TOKEN_BY_DIGEST, {"digest": digest}).first()
    # The lookup is by digest; compare again in constant time so timing reveals nothing.
    if found is None or not hmac.compare_digest(found.token_hash, digest):
        return None, False
    user, token_id, _, expires_at, last_used_at = found
    if expires_at is not None and expires_at <= now:
        return None, False
    if not user.active:
        return None, False
    if last_used_at is not None and now - last_used_at < TOKEN_TOUCH_EVERY:
        return user, False
    db.execute(_TOUCH, {"token_id": token_id, "now": now})
    return user, True


_TOUCH = (
    update(ApiToken)
    .where(ApiToken.id == bindparam("token_id"))
    .values(last_used_at=bindparam("now"))
    .execution_options(synchronize_session=False)
)
