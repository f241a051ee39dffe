"""Batched UPDATEs of outbound messages by id, as the claim and the dispatcher write them.

Each caller names its outcomes and the columns they set; the statement shape (match `b_id`,
stamp `updated_at` with `b_now`) is the same for all, and callers run it with executemany.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, Update, bindparam, update

from ..db.models import OutboundMessage

MESSAGES = cast(Table, OutboundMessage.__table__)


def update_by_id(values: dict[str, Any]) -> Update:
    """One UPDATE of the message `b_id`, setting `values` and `updated_at` to `b_now`."""
    return (
        update(MESSAGES)
        .where(MESSAGES.c.id == bindparam("b_id"))
        .values(updated_at=bindparam("b_now"), **values)
    )
