"""Staff accounts and API tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..db.models import ROLES, ApiToken, Office, Therapist, User
from ..db.types import utcnow
from . import audit
from .errors import Invalid, NotFound

MIN_PASSWORD = 10
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
    if len(password) < MIN_PASSWORD:
        problems["password"] = f"must be at least {MIN_PASSWORD} characters"
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


def create_token(db: Session, email: str, *, label: str = "", actor: str = "cli") -> str:
    """Issue a bearer token; only its digest is stored, so it is shown once."""
    user = find_user(db, email)
    if user is None:
        raise NotFound("user", email, field="email")
    token = "ipt_" + secrets.token_urlsafe(32)
    db.add(ApiToken(user_id=user.id, token_hash=token_digest(token), label=label))
    audit.record(db, actor=actor, action="token.created", entity="user", entity_id=user.id)
    return token


def user_for_token(db: Session, token: str) -> User | None:
    digest = token_digest(token)
    row = db.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    # The lookup is by digest; compare again in constant time so timing reveals nothing.
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.token_hash, digest):
        return None
    if not row.user.active:
        return None
    row.last_used_at = utcnow()
    return row.user
