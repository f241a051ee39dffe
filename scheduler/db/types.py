"""Column types shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend.

    SQLite has no time zone type and hands back naive values; normalising here means the rest
    of the code can rely on aware UTC datetimes whatever the store.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        """`process_result_value` as one function per value (TypeDecorator's own wraps it in
        two more calls): an office's week reads some 900 of these columns, most of them NULL."""
        raw = self.impl_instance.result_processor(dialect, coltype)  # SQLite parses text

        def aware(value: Any) -> datetime | None:
            if value is None:
                return None
            if raw is not None:
                value = raw(value)
            zone = value.tzinfo
            if zone is UTC:  # PostgreSQL's, in a UTC session (db/session.py `_utc_session`)
                return value
            if zone is None:
                return value.replace(tzinfo=UTC)
            return value.astimezone(UTC)

        return aware


def utcnow() -> datetime:
    return datetime.now(UTC)
