"""Batched UPDATEs of outbound messages by id, as the claim and the dispatcher write them.

Each caller names its outcomes and the columns they set; the statement shape (match `b_id`,
stamp `updated_at` with `b_now`) is the same for all. `NamedUpdates.execute` writes a batch
as ONE statement that joins the table to the batch: on PostgreSQL passed as arrays
(`UPDATE ... FROM unnest(...)`), on SQLite as one JSON text (`UPDATE ... FROM json_each(...)`:
SQLite runs a statement per row cheaply in-process, but SQLAlchemy's executemany prepares
each row's parameters in Python, which cost more than the UPDATEs themselves). Statements are
built once per name: building costs more than running.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from sqlalchemy import Dialect, Integer, Table, Update, bindparam, func, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from ..db.models import OutboundMessage
from ..db.sql import int_array

MESSAGES = cast(Table, OutboundMessage.__table__)


def update_by_id(values: Mapping[str, Any]) -> Update:
    """One UPDATE of the message `b_id`, setting `values` and `updated_at` to `b_now`."""
    return (
        update(MESSAGES)
        .where(MESSAGES.c.id == bindparam("b_id"))
        .values(updated_at=bindparam("b_now"), **values)
    )


class NamedUpdates:
    """One `update_by_id` statement per named outcome, each built on first use."""

    def __init__(self, options: Mapping[str, Mapping[str, Any]]) -> None:
        self._options = options
        self._one = cache(self._build_one)
        self._batch = cache(self._build_batch)
        self._batch_along = cache(self._build_batch_along)
        self._json = cache(self._build_json)

    def __call__(self, name: str) -> Update:
        """The statement for one row (run it with executemany for several)."""
        return self._one(name)

    def execute(
        self,
        db: Session,
        name: str,
        rows: Sequence[Mapping[str, Any]],
        shared: Mapping[str, Any],
        *,
        along: Along | None = None,
    ) -> None:
        """Apply `name` to every row (each with the same per-row keys, `b_id` among them);
        `shared` holds the parameters common to the batch (`b_now`, ...).

        `along`: another batch written with this one; on PostgreSQL in the same statement
        (a data-modifying WITH: one round trip less), elsewhere just before.
        """
        if not rows:
            return
        # Table statements, nothing for the ORM to do: straight to the session's connection.
        conn = db.connection()
        if len(rows) > 1 and conn.dialect.name == "postgresql":
            keys = tuple(rows[0])
            params = {**shared, **_columns(rows, keys)}
            if along is None or not along.rows:
                conn.execute(self._batch(name, keys), params)
                return
            with_keys = tuple(along.rows[0])
            statement = self._batch_along(name, keys, along.batched(with_keys))
            conn.execute(statement, {**params, **_columns(along.rows, with_keys)})
            return
        if along is not None and along.rows:
            conn.execute(along.single, along.rows)
        if len(rows) > 1 and conn.dialect.name == "sqlite":
            keys = tuple(rows[0])
            batch = json_rows(MESSAGES, "id", self._options[name], keys, rows, conn.dialect)
            conn.execute(self._json(name, keys), {**shared, "b_batch": batch})
            return
        conn.execute(self._one(name), [{**row, **shared} for row in rows])

    def _build_one(self, name: str) -> Update:
        return update_by_id(self._options[name])

    def _build_batch(self, name: str, keys: tuple[str, ...]) -> Update:
        stamp: dict[str, Any] = {"updated_at": bindparam("b_now")}
        return unnest_update(MESSAGES, "id", stamp, self._options[name], keys)

    def _build_json(self, name: str, keys: tuple[str, ...]) -> Update:
        stamp: dict[str, Any] = {"updated_at": bindparam("b_now")}
        return json_update(MESSAGES, "id", stamp, self._options[name], keys)

    def _build_batch_along(self, name: str, keys: tuple[str, ...], other: Update) -> Update:
        return self._batch(name, keys).add_cte(other.cte("along"))


@dataclass(frozen=True)
class Along:
    """A batch of another UPDATE to write with a NamedUpdates batch: its one-row statement
    (`b_<key>` parameters), a function building its batched form for the rows' keys
    (`unnest_update`), and the rows."""

    single: Update
    batched: Callable[[tuple[str, ...]], Update]
    rows: Sequence[Mapping[str, Any]]


def unnest_update(
    table: Table,
    match: str,
    fixed: Mapping[str, Any],
    options: Mapping[str, Any],
    keys: tuple[str, ...],
) -> Update:
    """UPDATE table SET ... FROM unnest(:b_<match>, :b_x, ...) AS batch(b_<match>, b_x, ...)
    WHERE table.<match> = batch.b_<match>: one statement for a whole batch, the per-row
    parameters (`keys`) as one array each, typed after the column they set."""
    types = _key_types(table, match, options)
    batch = (
        func.unnest(*(_array(key, types[key]) for key in keys))
        .table_valued(*keys)
        .render_derived(name="batch")
    )
    values: dict[str, Any] = dict(fixed)
    for column, value in options.items():
        per_row = isinstance(value, BindParameter) and value.key in keys
        values[column] = batch.c[value.key] if per_row else value
    return update(table).where(table.c[match] == batch.c[f"b_{match}"]).values(**values)


def json_update(
    table: Table,
    match: str,
    fixed: Mapping[str, Any],
    options: Mapping[str, Any],
    keys: tuple[str, ...],
) -> Update:
    """`unnest_update` for SQLite: UPDATE table SET ... FROM json_each(:b_batch) AS batch
    WHERE table.<match> = json_extract(batch.value, '$.b_<match>'), the batch passed as one
    JSON array of the rows' parameters (`json_rows`). SQLite looks each row up by its key,
    as executemany would, but in one statement."""
    batch = func.json_each(bindparam("b_batch")).table_valued("value").alias("batch")
    cell = {key: func.json_extract(batch.c.value, f"$.{key}") for key in keys}
    values: dict[str, Any] = dict(fixed)
    for column, value in options.items():
        per_row = isinstance(value, BindParameter) and value.key in keys
        values[column] = cell[value.key] if per_row else value
    return update(table).where(table.c[match] == cell[f"b_{match}"]).values(**values)


def json_rows(
    table: Table,
    match: str,
    options: Mapping[str, Any],
    keys: tuple[str, ...],
    rows: Sequence[Mapping[str, Any]],
    dialect: Dialect,
) -> str:
    """`rows` as `json_update` takes them: each value as the column it sets binds it (a
    datetime becomes the text SQLite stores, exactly as a bound parameter would)."""
    types = _key_types(table, match, options)
    processors = {
        key: p
        for key in keys
        if (p := types[key].dialect_impl(dialect).bind_processor(dialect)) is not None
    }
    payload: Sequence[Mapping[str, Any]] = rows
    if processors:
        payload = [{**row, **{k: p(row[k]) for k, p in processors.items()}} for row in rows]
    return json.dumps(payload, ensure_ascii=False)


def _key_types(table: Table, match: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The type of each per-row parameter: that of the column it matches or sets."""
    types: dict[str, Any] = {f"b_{match}": table.c[match].type}
    for column, value in options.items():
        if isinstance(value, BindParameter):
            types[value.key] = table.c[column].type
    return types


def _array(key: str, column_type: Any) -> Any:
    """The per-row parameter `key` as an array of its column's type (ids: `int_array`)."""
    if type(column_type) is Integer:  # not BigInteger & co: the literal says INTEGER[]
        return int_array(key)
    return bindparam(key, type_=ARRAY(column_type))


def _columns(rows: Sequence[Mapping[str, Any]], keys: tuple[str, ...]) -> dict[str, list[Any]]:
    return {key: [row[key] for row in rows] for key in keys}


def updates_by_name(options: Mapping[str, Mapping[str, Any]]) -> NamedUpdates:
    """The named statements of `options` (outcome name -> column values)."""
    return NamedUpdates(options)
