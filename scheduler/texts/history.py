"""What the front desk and the API see of the texts: each session's texts, oldest first."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import OutboundMessage

_M = OutboundMessage


def messages_for_sessions(db: Session, session_ids: Sequence[int]) -> dict[int, list[_M]]:
    """Each session's texts, oldest first (for the front-desk pages and the API)."""
    found: dict[int, list[_M]] = defaultdict(list)
    if not session_ids:
        return {}
    rows = db.scalars(
        select(_M).where(_M.session_id.in_(list(session_ids))).order_by(_M.created_at, _M.id)
    )
    for message in rows:
        assert message.session_id is not None
        found[message.session_id].append(message)
    return dict(found)
