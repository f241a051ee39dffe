"""Fixtures for the Flask test client and an authenticated JSON API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from scheduler.services import accounts
from scheduler.web import create_app
from scheduler.wiring import Container


@pytest.fixture
def app(container: Container) -> Iterator[Flask]:
    app = create_app(container=container)
    app.config.update(TESTING=True)
    yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class Api:
    """A test client that speaks JSON with a bearer token."""

    def __init__(self, client: FlaskClient, token: str | None) -> None:
        self.client = client
        self.token = token

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(f"/api/v1{path}", headers=self._headers(), **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.client.post(f"/api/v1{path}", json=body, headers=self._headers(), **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.client.patch(f"/api/v1{path}", json=body, headers=self._headers(), **kw)


def make_user_token(db: Session, email: str, role: str, **kw: Any) -> str:
    accounts.create_user(db, email=email, role=role, password="correct-horse-1", **kw)
    token = accounts.create_token(db, email)
    db.commit()
    return token


@pytest.fixture
def api(client: FlaskClient, db: Session) -> Api:
    return Api(client, make_user_token(db, "admin@test.invalid", "admin"))
