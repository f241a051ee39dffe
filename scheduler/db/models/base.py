"""The declarative base every model shares."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Index, MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def only_on(dialect: str, index: Index) -> Index:
    """`index` exists on `dialect` alone (an index of a kind the other database lacks, such as
    PostgreSQL's trigram GIN): created only there, and compared with the migrated schema only
    there (`compared_on`)."""
    index.info["only_on"] = dialect
    return index.ddl_if(dialect=dialect)


def compared_on(dialect: str) -> Any:
    """Alembic's `include_object` for comparing the models with a `dialect` database: leaves
    out what `only_on` kept for another database."""

    def include(obj: Any, _name: Any, type_: str, _reflected: bool, _compare_to: Any) -> bool:
        if type_ != "index":
            return True
        return obj.info.get("only_on", dialect) == dialect

    return include
