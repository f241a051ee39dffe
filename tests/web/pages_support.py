"""Helpers for the front-desk page tests: accounts, signing in, CSRF tokens, test dates."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from scheduler.db.models import User
from scheduler.services import accounts

PASSWORD = "correct-horse-1"
_TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')


def staff(db: Session, email: str, role: str = "front_desk", **kw: Any) -> User:
    user = accounts.create_user(db, email=email, role=role, password=PASSWORD, **kw)
    db.commit()
    return user


def csrf(client: FlaskClient, path: str = "/signin") -> str:
    """The CSRF token the page at `path` carries (it is bound to the client's cookie)."""
    page = client.get(path)
    found = _TOKEN.search(page.get_data(as_text=True))
    assert found, f"no CSRF token on {path} ({page.status_code})"
    return found.group(1)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD, **kw: Any) -> Any:
    token = csrf(client)
    return client.post(
        "/signin",
        data={"csrf_token": token, "email": email, "password": password},
        **kw,
    )


def presidents_day(year: int) -> date:
    """Third Monday of February (a federal holiday every office closes for)."""
    first = date(year, 2, 1)
    monday = first + timedelta(days=(0 - first.weekday()) % 7)
    return monday + timedelta(weeks=2)


def seattle_first_monday(today: date) -> date:
    """A Monday three weeks before Presidents' Day, late enough to lie in the future.

    A 16-week Monday series from there skips the holiday and crosses the March change to
    daylight saving time, whatever year the suite runs in.
    """
    year = today.year
    while presidents_day(year) - timedelta(weeks=3) <= today + timedelta(days=1):
        year += 1
    return presidents_day(year) - timedelta(weeks=3)
