"""Batched UPDATEs of outbound messages by id, as the claim and the dispatcher write them.

Each caller names its outcomes and the columns they set; the statement shape (match `b_id`,
stamp `updated_at` with `b_now`) is the same for all, and callers run it with executemany.
Statements are built once per name: building costs more than running.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, Update, bindparam, update

from ..db.models import OutboundMessage

MESSAGES = cast(Table, OutboundMessage.__table__)


def update_by_id(values: Mapping[str, Any]) -> Update:
    """One UPDATE of the message `b_id`, setting `values` and `updated_at` to `b_now`."""
    return (
        update(MESSAGES)
        .where(MESSAGES.c.id == bindparam("b_id"))
        .values(updated_at=bindparam("b_now"), **values)
    )


def updates_by_name(options: Mapping[str, Mapping[str, Any]]) -> Callable[[str], Update]:
    """A lookup of one `update_by_id` statement per named outcome, each built on first use."""

    @cache
    def statement(name: str) -> Update:
        return update_by_id(options[name])

    return statement
