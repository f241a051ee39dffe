"""The cursor every PostgreSQL connection hands SQLAlchemy: psycopg's own, except that
`description` builds its columns only when someone reads them.

psycopg builds `cursor.description` afresh on each access: a `Column` per result column, its
name decoded and its type looked up. SQLAlchemy reads it after every statement, but for a
statement it has run before (every statement of a request, once the process is warm) only to
see whether rows came back: the columns themselves it keeps with the compiled statement.
Building them cost a single-session read 3-6% of its CPU (about fifty columns in its two
statements) and an office's week 7-9% (bench/READS.md, "Result columns built only when read").

Made the connection's `cursor_factory` by `db.session` (psycopg's documented hook);
server-side cursors are untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

import psycopg
from psycopg import Column
from psycopg.pq import ExecStatus
from psycopg.pq.abc import PGresult

# psycopg answers a description for these even without columns ("SELECT ;").
_ROWS = (ExecStatus.TUPLES_OK, ExecStatus.SINGLE_TUPLE, ExecStatus.TUPLES_CHUNK)


class LazyDescriptionCursor(psycopg.Cursor[Any]):
    @property
    def description(self) -> Sequence[Column] | None:  # type: ignore[override]
        # psycopg types it as a list; the DB-API, and every reader of it here, asks a sequence.
        result = self.pgresult
        if result is None or not (result.nfields or result.status in _ROWS):
            return None
        return _Columns(self, result)


class _Columns(Sequence[Column]):
    """The result's columns, as psycopg would list them, built on first read."""

    __slots__ = ("_built", "_cursor", "_result")

    def __init__(self, cursor: psycopg.Cursor[Any], result: PGresult) -> None:
        self._cursor, self._result = cursor, result
        self._built: list[Column] | None = None

    def _columns(self) -> list[Column]:
        if self._built is None:
            if self._cursor.pgresult is not self._result:
                # An eager list would describe the earlier result; saying so beats
                # describing the wrong one.
                raise RuntimeError("description read after its cursor ran another statement")
            self._built = [Column(self._cursor, i) for i in range(self._result.nfields)]
        return self._built

    def __len__(self) -> int:
        return int(self._result.nfields)

    @overload
    def __getitem__(self, index: int) -> Column: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Column]: ...

    def __getitem__(self, index: int | slice) -> Column | Sequence[Column]:
        return self._columns()[index]

    def __repr__(self) -> str:
        return repr(self._columns())
