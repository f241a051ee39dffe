"""What a single-row read loads with the row itself, in the same SELECT.

`visible_rows.get_visible` reads one client, therapist, series, session or inbox item for a
page or an API answer; each of those goes on to show the rows named here (a series' client,
office and therapist; a session's series; a therapist's offices; an inbox item's client and
text). Joined into the one statement, they cost no round trip of their own.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import joinedload, undefer

from ..db.models import Client, FeedToken, MeasureResponse, Series, Therapist, TherapySession
from ..db.models.inbound import InboxItem

_SERIES = joinedload(TherapySession.series)
# Which questionnaires a session has (their instruments only), for a page that marks "measure
# due": `measures.due_instruments` then reads none of its own.
MEASURES = joinedload(TherapySession.measures).load_only(MeasureResponse.instrument)
# The session page's extra: what it shows of the series, and its sessions (the weekly review
# finds the previous one among them); its own questionnaires.
SESSION_PAGE = (
    _SERIES.joinedload(Series.client),
    _SERIES.joinedload(Series.office),
    _SERIES.joinedload(Series.sessions),
    joinedload(TherapySession.therapist),
    MEASURES,
)
# The series page's: its sessions with their questionnaires (it marks "measure due").
SERIES_PAGE = (joinedload(Series.sessions).options(MEASURES),)

# A client's own record (its page and the API's read) shows its consent history, its
# number's when it has one (`phone_consent.history_of`), and to those who may rotate it its
# calendar feed's URL (`feeds.client_feed_url`).
CLIENT_RECORD = (
    joinedload(Client.consent_events),
    undefer(Client.number_has_consent_state),
    joinedload(Client.live_feed_token).load_only(FeedToken.nonce, FeedToken.token_hash),
)

WITH_ROW: dict[type[Any], tuple[Any, ...]] = {
    TherapySession: (_SERIES,),  # the API's session read keeps to this; its page asks for more
    Series: (joinedload(Series.client), joinedload(Series.therapist), joinedload(Series.office)),
    Therapist: (joinedload(Therapist.offices),),
    InboxItem: (joinedload(InboxItem.client), joinedload(InboxItem.inbound_message)),
}
