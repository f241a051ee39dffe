"""Statement pieces shared by services and the text pipeline."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, any_, bindparam
from sqlalchemy.types import UserDefinedType


def one_of(dialect: str, column: Any, name: str) -> ColumnElement[bool]:
    """`column IN :name`; on PostgreSQL as `= ANY(:name)`, one array parameter, so the
    statement's text does not change with the number of values (psycopg prepares it once)."""
    if dialect == "postgresql":
        return column == any_(int_array(name))
    return column.in_(bindparam(name, expanding=True))


class _IntArrayLiteral(UserDefinedType[Iterable[int]]):
    """Whole numbers sent as one PostgreSQL array literal, `'{1,2,3}'`.

    psycopg adapts a list parameter element by element in Python: about 50 µs for fifty ids,
    and a claim of texts or an office's week sends several such lists. Joined here, the list
    costs a tenth of that. The statement still says `$1::INTEGER[]`, and psycopg sends a str
    untyped, so the server reads the parameter as that array itself: no cast at run time, and
    the planner sees its values as it saw a list's."""

    cache_ok = True
    render_bind_cast = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "INTEGER[]"

    def bind_processor(self, dialect: Any) -> Any:
        return _literal


def _literal(value: Iterable[int | None] | None) -> str | None:
    if value is None:
        return None
    values = list(value)
    # int() first: only digits, signs and NULL ever reach the literal.
    try:
        body = ",".join(map(str, map(int, values)))  # type: ignore[arg-type]
    except TypeError:  # a NULL among them (a per-row column that may be empty)
        body = ",".join("NULL" if v is None else str(int(v)) for v in values)
    return "{" + body + "}"


def int_array(name: str) -> BindParameter[Any]:
    """The parameter `name`, whole numbers (or None) given as any iterable, as an INTEGER[]
    (PostgreSQL)."""
    return bindparam(name, type_=_IntArrayLiteral())
