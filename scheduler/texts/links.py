"""Private questionnaire links in texts: worded as a marker, expanded only on the way out.

A link's token opens a client's questionnaire form, so it must not sit in the database: the
stored body of a "measure_link" text carries the marker `[link:<nonce>]`, and the URL (its
token is HMAC(secret key, nonce), see services.measure_forms) replaces the marker when the
text is handed to the provider, and when reconciliation compares our body with the
provider's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy.orm import Session

from ..config import Settings
from ..services import measure_forms
from ..services.context import ServiceContext

_MARKER = re.compile(r"\[link:([A-Za-z0-9_-]{16,64})\]")


def marker(nonce: str) -> str:
    return f"[link:{nonce}]"


def expand(body: str, settings: Settings) -> str:
    """The body as the client receives it: each link marker replaced by its URL."""
    if "[link:" not in body:
        return body
    return _MARKER.sub(lambda m: measure_forms.link_url(settings, m.group(1)), body)


def issue(db: Session, ctx: ServiceContext, session_ids: Sequence[int]) -> dict[int, str | None]:
    """A link marker per session with a questionnaire still due (None: nothing due)."""
    nonces = measure_forms.issue_links(db, ctx, session_ids)
    return {sid: None if nonce is None else marker(nonce) for sid, nonce in nonces.items()}
