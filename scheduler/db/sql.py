"""Statement pieces shared by services and the text pipeline."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ARRAY, ColumnElement, Integer, any_, bindparam


def one_of(dialect: str, column: Any, name: str) -> ColumnElement[bool]:
    """`column IN :name`; on PostgreSQL as `= ANY(:name)`, one array parameter, so the
    statement's text does not change with the number of values (psycopg prepares it once)."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(Integer)))
    return column.in_(bindparam(name, expanding=True))
