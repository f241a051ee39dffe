"""Recording who changed what; every use case that writes calls this in its transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..db.models import AuditEntry


def record(
    db: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: object,
    series_id: int | None = None,
    **details: Any,
) -> None:
    db.add(
        AuditEntry(
            actor=actor,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            series_id=series_id,
            details=details,
        )
    )
