"""The pages' view of features that live in their own services: texts, inbox, feeds, reviews.

Each is called through its own service module; when a module is not part of this build, the
page leaves that part out instead of failing.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from datetime import datetime
from types import ModuleType
from typing import Any

from sqlalchemy.orm import Session

from ...services.context import ServiceContext


def _optional(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:  # the module exists but something inside it is missing: a bug
            raise
        return None


def _feeds() -> ModuleType | None:
    return _optional("scheduler.services.feeds")


def _inbox() -> ModuleType | None:
    return _optional("scheduler.services.inbox")


def _messaging() -> ModuleType | None:
    return _optional("scheduler.services.messaging")


# --- texts ----------------------------------------------------------------------------------


def texts_available() -> bool:
    return _messaging() is not None


def texts_for(db: Session, session_ids: Sequence[int]) -> dict[int, list[Any]]:
    """Each session's outbound texts, oldest first; {} when texts are not part of this build."""
    messaging = _messaging()
    finder = getattr(messaging, "messages_for_sessions", None)
    if finder is None or not session_ids:
        return {}
    return finder(db, list(session_ids))


# --- inbox ----------------------------------------------------------------------------------


def inbox_available() -> bool:
    return _inbox() is not None


def open_inbox_count(db: Session, office_id: str) -> int | None:
    inbox = _inbox()
    if inbox is None:
        return None
    return len(inbox.list_items(db, office_ids=[office_id], include_unrouted=False, status="open"))


def inbox_items(
    db: Session, office_ids: Sequence[str] | None, *, include_unrouted: bool, status: str | None
) -> list[Any]:
    inbox = _inbox()
    if inbox is None:
        return []
    return inbox.list_items(
        db, office_ids=office_ids, include_unrouted=include_unrouted, status=status
    )


def inbox_item(db: Session, item_id: int) -> Any:
    inbox = _inbox()
    if inbox is None:
        from ...services.errors import NotFound

        raise NotFound("inbox item", item_id)
    return inbox.get_item(db, item_id)


def resolve_inbox_item(
    db: Session, item_id: int, *, note: str | None, actor: str, at: datetime
) -> Any:
    inbox = _inbox()
    assert inbox is not None  # the page offers resolving only when the inbox exists
    return inbox.update_item(db, item_id, status="resolved", note=note, actor=actor, at=at)


# --- calendar feeds -------------------------------------------------------------------------


def feeds_available() -> bool:
    return _feeds() is not None


def feed_url(db: Session, ctx: ServiceContext, kind: str, owner_id: object) -> str | None:
    feeds = _feeds()
    if feeds is None:
        return None
    return feeds.current_feed_url(db, ctx, kind, owner_id)


def rotate_feed(
    db: Session, ctx: ServiceContext, kind: str, owner_id: object, *, actor: str
) -> str:
    feeds = _feeds()
    assert feeds is not None  # the page offers rotation only when feeds exist
    token = feeds.rotate_token(db, ctx, kind, owner_id, actor=actor)
    return feeds.feed_url(ctx.settings, kind, token)


# --- weekly reviews -------------------------------------------------------------------------


def reviews_available() -> bool:
    return _optional("scheduler.services.review") is not None


def weekly_reviews(db: Session, session_ids: Sequence[int]) -> dict[int, Any]:
    """Each session's weekly review (last week's goal, prompts, replies and ratings)."""
    review = _optional("scheduler.services.review")
    if review is None:
        return {}
    return {sid: review.weekly_review(db, sid) for sid in session_ids}
