"""One-time questionnaire forms: the in-office handover and the private texted link.

Both are a secret token in a URL that opens one form for one session, with 256 bits: from
`secrets` for a handover, HMAC(secret key, a random nonce) for a texted link (so that the
text can be worded when it is sent). Only the token's SHA-256 is stored, so a copy of the
database opens no form.
A form works once (the submission sets `used_at` under a row lock) and until it expires:
a texted link at the end of its session, an in-office handover an hour after staff open it.
The form itself shows no name and no clinical words; see web/measure_form.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ..config import Settings
from ..db.models import MeasureForm, TherapySession
from ..domain import measures as domain
from ..domain.languages import DEFAULT_LANGUAGE, N_
from . import audit, measures
from .context import ServiceContext
from .errors import Invalid
from .session_changes import get_session

TOKEN_BYTES = 32
NONCE_BYTES = 24
LINK_CONTEXT = b"measure-link:"
HANDOVER_LIFETIME = timedelta(hours=1)
# Staff may hand a questionnaire over from a day before the session until a day after it.
HANDOVER_WINDOW = timedelta(hours=24)
FORM_ACTOR = "client-form"


class FormGone(Exception):
    """The token opens nothing (any more); `reason` is safe to show the person holding it.

    `language` is the client's when the token was theirs (the page is shown in it); a token
    that opens nothing at all gets the practice's default.
    """

    def __init__(self, reason: str, language: str = DEFAULT_LANGUAGE, *, status: int = 410) -> None:
        super().__init__(reason)
        self.reason = reason
        self.language = language
        self.status = status  # 404: no such link; 409: not yet; 410: no more


@dataclass(frozen=True)
class OpenForm:
    """What the form page needs: the questionnaires still to answer, and nothing about anyone."""

    form_id: int
    purpose: str
    instruments: tuple[domain.InstrumentSpec, ...]
    office_id: str
    language: str = DEFAULT_LANGUAGE  # the client's: the form is shown in it


@dataclass(frozen=True)
class Submitted:
    office_id: str
    purpose: str  # office (handed over) or link
    # Whether an answer raised an alert. The web form does not show it: the confirmation
    # page is the same for everyone, so whoever takes the device back learns nothing.
    alert_raised: bool
    language: str = DEFAULT_LANGUAGE  # the thank-you page is shown in the client's language


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, token_hash(token)


def handover_open(session: TherapySession, now: datetime) -> bool:
    """May the questionnaire be handed over in the office now (around the session's day)?"""
    return session.starts_at - HANDOVER_WINDOW <= now <= session.ends_at + HANDOVER_WINDOW


def start_handover(
    db: Session,
    ctx: ServiceContext,
    session_id: int,
    *,
    instruments: Sequence[str] | None,
    actor: str,
) -> str:
    """A form for the client in the office; the token. None: the plan's outstanding ones."""
    session = get_session(db, session_id, lock=True)
    now = ctx.clock()
    measures.check_answerable(session, now)
    if not handover_open(session, now):
        raise Invalid({"session_id": "a questionnaire is handed over on the day of the session"})
    wanted = _outstanding(db, session, instruments)
    token, digest = _new_token()
    form = MeasureForm(
        session_id=session.id,
        purpose="office",
        token_hash=digest,
        instruments=list(wanted),
        created_at=now,
        created_by=actor,
        expires_at=now + HANDOVER_LIFETIME,
    )
    db.add(form)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="measure_form.handed_over",
        entity="measure_form",
        entity_id=form.id,
        session_id=session.id,
    )
    return token


def link_token(secret_key: str, nonce: str) -> str:
    """The token of a texted link: HMAC-SHA256(secret key, nonce), 256 bits, URL-safe."""
    digest = hmac.new(secret_key.encode(), LINK_CONTEXT + nonce.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def link_url(settings: Settings, nonce: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/m/{link_token(settings.secret_key, nonce)}"


def issue_links(
    db: Session, ctx: ServiceContext, session_ids: Sequence[int]
) -> dict[int, str | None]:
    """A new link form for each session with a questionnaire still due: its nonce, or None.

    For the text sent before the session (the pipeline words it with `link_url` at send
    time). None is made before the questions may be answered (a week before the session);
    a form expires when its session ends. Two queries and one insert for any number.
    """
    found: dict[int, str | None] = {sid: None for sid in session_ids}
    if not session_ids:
        return found
    sessions = list(
        db.scalars(select(TherapySession).where(TherapySession.id.in_(list(session_ids))))
    )
    now = ctx.clock()
    # Not before the questions may be answered: a link that only refuses is no use.
    live = [
        s
        for s in sessions
        if s.status != "cancelled" and measures.answerable_from(s) <= now < s.ends_at
    ]
    left = measures.due_instruments(db, live)
    forms = []
    for s in live:
        if not left[s.id]:
            continue
        nonce = secrets.token_urlsafe(NONCE_BYTES)
        found[s.id] = nonce
        forms.append(
            {
                "session_id": s.id,
                "purpose": "link",
                "token_hash": token_hash(link_token(ctx.settings.secret_key, nonce)),
                "nonce": nonce,
                "instruments": list(left[s.id]),
                "created_at": now,
                "created_by": "system",
                "expires_at": s.ends_at,
            }
        )
    if forms:
        db.execute(insert(MeasureForm), forms)
    return found


def issue_link(db: Session, ctx: ServiceContext, session_id: int) -> str | None:
    """One session's link token (None if nothing is due): `issue_links` for a single session."""
    nonce = issue_links(db, ctx, [session_id])[session_id]
    return None if nonce is None else link_token(ctx.settings.secret_key, nonce)


def _outstanding(
    db: Session, session: TherapySession, chosen: Sequence[str] | None
) -> tuple[domain.Instrument, ...]:
    done = measures.answered(db, [session.id])[session.id]
    if chosen is None:
        wanted: tuple[str, ...] = measures.planned_for(session.series, session.number)
        if not wanted:
            raise Invalid({"instruments": "no questionnaire is planned for this session"})
    else:
        unknown = [i for i in chosen if i not in domain.INSTRUMENTS]
        if unknown or not chosen:
            raise Invalid({"instruments": "choose from " + ", ".join(domain.INSTRUMENTS)})
        wanted = tuple(i for i in domain.INSTRUMENTS if i in chosen)
    left = tuple(i for i in domain.INSTRUMENTS if i in wanted and i not in done)
    if not left:
        raise Invalid({"instruments": "already answered for this session"})
    return left


def _find(db: Session, token: str, *, lock: bool) -> MeasureForm:
    if not token or len(token) > 200:
        raise FormGone(N_("This link is not valid."), status=404)
    query = select(MeasureForm).where(MeasureForm.token_hash == token_hash(token))
    if lock:
        query = query.with_for_update(of=MeasureForm)
    form = db.execute(query).scalar_one_or_none()
    if form is None:
        raise FormGone(N_("This link is not valid."), status=404)
    return form


def open_form(db: Session, ctx: ServiceContext, token: str) -> OpenForm:
    """The form a token opens, or FormGone saying (harmlessly) why not."""
    return _usable(db, ctx, _find(db, token, lock=False))


def _expires_at(form: MeasureForm, session: TherapySession) -> datetime:
    """A texted link works until its visit ends, wherever the desk has moved the visit since
    (its stored `expires_at` is the end as it was when the text went); a handover, for its
    fixed time."""
    return session.ends_at if form.purpose == "link" else form.expires_at


def _usable(db: Session, ctx: ServiceContext, form: MeasureForm) -> OpenForm:
    session = form.session
    language = session.series.client.language
    if form.used_at is not None:
        raise FormGone(N_("These questions have already been answered. Thank you."), language)
    if _expires_at(form, session) <= ctx.clock():
        raise FormGone(N_("This link has expired."), language)
    if session.status == "cancelled":
        raise FormGone(N_("This visit was cancelled, so there is nothing to answer."), language)
    if measures.answerable_from(session) > ctx.clock():
        # A link follows its visit: moved weeks later, the questions wait for it.
        message = N_("These questions open a week before your visit. Please use this link then.")
        raise FormGone(message, language, status=409)
    done = measures.answered(db, [session.id])[session.id]
    left = tuple(domain.SPECS[i] for i in form.instruments if i not in done)
    if not left:
        raise FormGone(N_("These questions have already been answered. Thank you."), language)
    return OpenForm(form.id, form.purpose, left, session.office_id, language)


def submit(
    db: Session,
    ctx: ServiceContext,
    token: str,
    answers: Mapping[str, Sequence[object]],
    difficulty: Mapping[str, object],
) -> Submitted:
    """Record every questionnaire on the form at once and close the form for good.

    Invalid names each unanswered item (field "<instrument>.<item index>"); nothing is
    written then, and the form stays open.
    """
    form = _find(db, token, lock=True)
    opened = _usable(db, ctx, form)
    problems: dict[str, str] = {}
    for spec in opened.instruments:
        given = answers.get(spec.code, [])
        for index in range(len(spec.items)):
            value = given[index] if index < len(given) else None
            if value is None:
                problems[f"{spec.code}.{index}"] = N_("please choose an answer")
    if problems:
        raise Invalid(problems)
    alert = False
    for spec in opened.instruments:
        recorded = measures.record(
            db,
            ctx,
            form.session_id,
            spec.code,
            answers[spec.code],
            difficulty=difficulty.get(spec.code),
            source=form.purpose,
            actor=FORM_ACTOR,
        )
        alert = alert or recorded.alert is not None
    form.used_at = ctx.clock()
    db.flush()
    return Submitted(opened.office_id, opened.purpose, alert, opened.language)
