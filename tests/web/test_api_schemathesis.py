"""Property test of the whole JSON API against its own OpenAPI document.

Schemathesis reads /api/v1/openapi.json and sends generated requests to every operation (valid
ones and deliberately broken ones) as an admin over a small practice. Every response must be
what the document declares: no 5xx, a documented status, the documented error body. The
examples are bounded and derandomised (the same requests on every run), so this stays a normal,
repeatable part of the suite on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, settings
from sqlalchemy.orm import Session

from scheduler.services.context import ServiceContext
from tests import factories
from tests.web.conftest import make_user_token

EXAMPLES_PER_OPERATION = 12


@pytest.fixture
def api_schema(app: Flask) -> Iterator[schemathesis.BaseSchema]:
    yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@pytest.fixture
def admin_token(db: Session, ctx: ServiceContext) -> str:
    # A little practice for generated ids to land on: small ids are tried first.
    for _ in range(2):
        factories.series(db, ctx)
    return make_user_token(db, "fuzz-admin@test.invalid", "admin")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,  # a fixed seed: the same examples on every run
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case: schemathesis.Case, admin_token: str) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {admin_token}"},
        # A body can fit the schema and still break a rule the schema cannot say ("give exactly
        # one change", "an office that exists"): that is the documented 422, not a failure.
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
    )
