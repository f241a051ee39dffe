"""What a client's text means and does: opt-out/in, help, confirm, reschedule, ratings, inbox.

`receive` is called by the webhook after the signature was checked. It writes the text and all
of its effects in the caller's transaction, so either everything happens or nothing does, and
it is idempotent per MessageSid: a retried delivery gets the first answer and changes nothing.

Replies never name anyone and never depend on whether the sending number is known, except for
a confirmation, which goes to the phone on file and says only what its reminder already said.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..db.models import Client, Series, TherapySession
from ..db.models.inbound import InboundMessage, ProgressRating
from ..db.models.messaging import OutboundMessage
from ..domain.sms import Parsed, parse_reply
from ..locations import Location
from . import audit, inbound_consent, inbox, phone_consent
from .context import ServiceContext
from .inbound_answers import Answers, reply_language
from .reply_visit import visit_for_text

# A 1-5 reply counts as that week's rating only this long after the goal prompt was sent.
RATING_WINDOW = timedelta(days=7)

# Replies are worded in templates/sms/reply_*.txt, in the client's language (inbound_answers).
# None of them suggests replying CANCEL (an opt-out word at Twilio).


@dataclass(frozen=True)
class InboundSms:
    """The fields of Twilio's incoming-message webhook that we use."""

    message_sid: str
    from_number: str
    to_number: str
    body: str = ""
    account_sid: str | None = None
    num_media: int = 0


@dataclass(frozen=True)
class Receipt:
    """What happened; `reply` is the text to answer with (None: an empty TwiML response)."""

    message_id: int
    outcome: str
    reply: str | None
    routed: bool
    duplicate: bool


def receive(db: Session, ctx: ServiceContext, sms: InboundSms) -> Receipt:
    """Record one inbound text and act on it, once per MessageSid."""
    existing = _by_sid(db, sms.message_sid)
    if existing is not None:
        return _receipt(existing, duplicate=True)
    now = ctx.clock()
    location = ctx.locations.by_sms_number(sms.to_number)
    parsed = parse_reply(sms.body)
    row = InboundMessage(
        message_sid=sms.message_sid,
        account_sid=sms.account_sid,
        from_number=sms.from_number,
        to_number=sms.to_number,
        office_id=location.id if location else None,
        body=sms.body,
        num_media=sms.num_media,
        keyword=parsed.keyword,
        rating=parsed.rating,
        outcome="received",
        received_at=now,
    )
    try:
        # The unique MessageSid is the lock: a concurrent duplicate fails here and replays.
        with db.begin_nested():
            db.add(row)
            db.flush()
    except IntegrityError:
        existing = _by_sid(db, sms.message_sid)
        if existing is None:
            raise
        return _receipt(existing, duplicate=True)
    if location is None:
        _to_inbox(db, row, None, "unrouted", now, f"Sent to {sms.to_number}, no office's number")
        row.outcome = "unrouted"
    else:
        _Handler(db, ctx, location, row, parsed, now).run()
    db.flush()
    return _receipt(row, duplicate=False)


def _by_sid(db: Session, sid: str) -> InboundMessage | None:
    return db.scalar(select(InboundMessage).where(InboundMessage.message_sid == sid))


def _receipt(row: InboundMessage, *, duplicate: bool) -> Receipt:
    return Receipt(row.id, row.outcome, row.reply_body, row.office_id is not None, duplicate)


def _to_inbox(
    db: Session,
    row: InboundMessage,
    office_id: str | None,
    kind: str,
    at: datetime,
    summary: str | None = None,
    *,
    urgent: bool = False,
) -> None:
    text = summary if summary is not None else _summary(row)
    inbox.open_item(
        db,
        office_id=office_id,
        kind=kind,
        summary=text,
        at=at,
        client_id=row.client_id,
        session_id=row.session_id,
        inbound_message_id=row.id,
        urgent=urgent,
    )


def _summary(row: InboundMessage) -> str:
    text = row.body if row.body.strip() else "(no text)"
    if row.num_media:
        text += f" [+{row.num_media} attachment(s), not stored here]"
    return text


def _same_phone(raw: str) -> list[str]:
    """The forms of `raw` a client's phone may be stored in (E.164 from Twilio, normally)."""
    return sorted({f for f in (raw.strip(), inbound_consent.number_of(raw)) if f})


class _Handler:
    """One routed text: who sent it, what it means, and its effects."""

    def __init__(
        self,
        db: Session,
        ctx: ServiceContext,
        location: Location,
        row: InboundMessage,
        parsed: Parsed,
        now: datetime,
    ) -> None:
        self.db, self.ctx, self.location = db, ctx, location
        self.row, self.parsed, self.now = row, parsed, now
        self.phone = ctx.texts.office_phone(location)
        self.answers = Answers(ctx, location)
        self.own_answer = False  # an opt-out confirmation Twilio will not send for us

    def _reply(self, kind: str, **values: object) -> str:
        return self.answers.reply(kind, **values)

    def run(self) -> None:
        clients = self._clients()
        if len(clients) == 1:
            self.row.client_id = clients[0].id
        self.answers.language = reply_language(clients, self._one(clients))
        self._act(clients)
        number = inbound_consent.number_of(self.row.from_number)
        if not self.own_answer and not phone_consent.may_text(self.db, number):
            # Nothing goes to a number that opted out but the confirmation that it did (and
            # Twilio blocks replies to its own opt-outs anyway: 21610).
            self.row.reply_body = None

    def _act(self, clients: list[Client]) -> None:
        keyword = self.parsed.keyword
        if keyword == "stop":
            # Twilio answers its own keywords when one is the whole text; any other opt-out
            # (plain words, Spanish) gets our confirmation, in the client's language.
            ours = inbound_consent.opt_out(
                self.db, self.ctx, self.row, self.parsed, clients, self.now
            )
            self.own_answer = ours
            self._finish("opted_out", self._reply("opted_out") if ours else None, clients)
            return
        if keyword == "start":
            self._start(clients)
            return
        if keyword == "help":
            self._finish("help", self.answers.help(), clients)
            return
        if keyword == "possible_opt_out":
            self._possible_opt_out(clients)
            return
        sender = self._one(clients)
        if sender is None:
            self._finish(
                "ambiguous_sender" if clients else "unknown_sender", self._generic(), clients
            )
            return
        self.row.client_id = sender.id
        if keyword == "confirm":
            self._confirm(sender)
        elif keyword == "reschedule":
            self._reschedule(sender)
        elif keyword == "rating" and self._rate(sender):
            return
        else:
            self._free_text(sender)

    def _generic(self) -> str:
        """The reply a known client would get, so it reveals nothing about the number."""
        keyword = self.parsed.keyword
        if keyword == "confirm":
            return self._reply("nothing_to_confirm")
        if keyword == "reschedule":
            return self._reply("reschedule")
        return self._reply("received")

    def _finish(self, outcome: str, reply: str | None, clients: list[Client]) -> None:
        self.row.outcome = outcome
        self.row.reply_body = reply
        if not clients:
            # Anything from a number we do not know reaches a person; nothing is dropped.
            _to_inbox(self.db, self.row, self.location.id, "unknown_sender", self.now)
        elif outcome == "ambiguous_sender":
            summary = f"{_summary(self.row)} [phone shared by {len(clients)} clients]"
            _to_inbox(self.db, self.row, self.location.id, "ambiguous_sender", self.now, summary)

    def _clients(self) -> list[Client]:
        query = (
            select(Client)
            # A record merged into another is history, not a sender.
            .where(
                Client.phone.in_(_same_phone(self.row.from_number)),
                Client.merged_into_id.is_(None),
            )
            .order_by(Client.id)
        )
        return list(self.db.scalars(query))

    def _one(self, clients: list[Client]) -> Client | None:
        """The single client this text is from, preferring one with a series at this office."""
        if len(clients) <= 1:
            return clients[0] if clients else None
        here = set(
            self.db.scalars(
                select(Series.client_id).where(
                    Series.client_id.in_([c.id for c in clients]),
                    Series.office_id == self.location.id,
                    Series.status == "active",
                )
            )
        )
        matches = [c for c in clients if c.id in here]
        return matches[0] if len(matches) == 1 else None

    def _start(self, clients: list[Client]) -> None:
        if inbound_consent.wants_opt_in(self.db, self.row, clients):
            ours = inbound_consent.opt_in(
                self.db, self.ctx, self.row, self.parsed, clients, self.now
            )
            self._finish("opted_in", self._reply("opted_in") if ours else None, clients)
            return
        if not clients:
            self._finish("unknown_sender", None, clients)
            return
        # "Yes" from someone already opted in is most likely an answer to a prompt: keep it.
        sender = self._one(clients)
        if sender is None:
            self._finish("ambiguous_sender", None, clients)
            return
        self.row.client_id = sender.id
        self._free_text(sender, reply=False)

    def _possible_opt_out(self, clients: list[Client]) -> None:
        """ "cancel"/"end" in a longer text: staff read it first; the client learns how to stop."""
        sender = self._one(clients)
        if sender is not None:
            self.row.client_id = sender.id
            self._link_session(sender)  # like any free text (a goal answer stays clinical)
        self.row.outcome = "possible_opt_out"
        self.row.reply_body = self._reply("how_to_stop")
        _to_inbox(self.db, self.row, self.location.id, "possible_opt_out", self.now, urgent=True)

    def _next_session(self, client: Client) -> TherapySession | None:
        """The client's next scheduled session, preferring this office's."""
        query = (
            select(TherapySession)
            .join(Series, Series.id == TherapySession.series_id)
            .where(
                Series.client_id == client.id,
                TherapySession.status == "scheduled",
                TherapySession.starts_at > self.now,
            )
            .order_by(
                case((TherapySession.office_id == self.location.id, 0), else_=1),
                TherapySession.starts_at,
            )
            .limit(1)
        )
        return self.db.scalar(query)

    def _confirm(self, client: Client) -> None:
        session = self._next_session(client)
        if session is None:
            self.row.outcome = "nothing_to_confirm"
            self.row.reply_body = self._reply("nothing_to_confirm")
            _to_inbox(self.db, self.row, self.location.id, "confirm_unmatched", self.now)
            return
        self.row.session_id = session.id
        if session.confirmed_at is None:
            # Not a revision bump: confirming changes nothing a reminder or feed shows.
            session.confirmed_at = self.now
            audit.record(
                self.db,
                actor=f"sms:{client.phone}",
                action="session.confirmed",
                entity="session",
                entity_id=session.id,
                series_id=session.series_id,
                message_sid=self.row.message_sid,
            )
        office = self.ctx.locations.get(session.office_id)
        self.row.outcome = "confirmed"
        self.row.reply_body = self._reply(
            "confirmed",
            starts_at=session.starts_at,
            zone=client.timezone,
            office_name=office.name if office else self.location.name,
        )

    def _reschedule(self, client: Client) -> None:
        session = self._next_session(client)
        self.row.session_id = session.id if session else None
        self.row.outcome = "reschedule_request"
        self.row.reply_body = self._reply("reschedule")
        office_id = session.office_id if session else self.location.id
        _to_inbox(self.db, self.row, office_id, "reschedule_request", self.now)

    def _recent_prompt(self, client: Client) -> OutboundMessage | None:
        sent_at = OutboundMessage.sent_at
        query = (
            select(OutboundMessage)
            .where(
                OutboundMessage.client_id == client.id,
                OutboundMessage.kind == "goal_prompt",
                OutboundMessage.status.in_(("sent", "delivered")),
                sent_at.is_not(None),
                sent_at <= self.now,
                sent_at > self.now - RATING_WINDOW,
            )
            .order_by(sent_at.desc(), OutboundMessage.id.desc())
            .limit(1)
        )
        return self.db.scalar(query)

    def _rate(self, client: Client) -> bool:
        """Record a 1-5 as the week's rating; False when no goal prompt is waiting for one."""
        prompt = self._recent_prompt(client)
        if prompt is None or self.parsed.rating is None:
            return False
        self.row.session_id = prompt.session_id
        self.db.add(
            ProgressRating(
                client_id=client.id,
                session_id=prompt.session_id,
                prompt_message_id=prompt.id,
                inbound_message_id=self.row.id,
                rating=self.parsed.rating,
                received_at=self.now,
            )
        )
        self.row.outcome = "rating"
        self.row.reply_body = self._reply("rating")
        return True

    def _link_session(self, client: Client) -> None:
        # Today's visit (under way or within hours) first, then an answer to the week's
        # prompt, then the next visit.
        visit = visit_for_text(self.db, client.id, self.now, office_id=self.location.id)
        prompt = self._recent_prompt(client) if visit is None or visit.why == "next" else None
        if prompt is not None:
            self.row.session_id = prompt.session_id  # an answer to that week's prompt
        else:
            self.row.session_id = visit.id if visit else None

    def _free_text(self, client: Client, *, reply: bool = True) -> None:
        self._link_session(client)
        self.row.outcome = "inbox"
        self.row.reply_body = self._reply("received") if reply else None
        _to_inbox(self.db, self.row, self.location.id, "free_text", self.now)
