"""What a client's text is answered with, and in which language, for `services.inbound`.

The words are the templates' (templates/sms/reply_*.txt, help.txt), reached through the text
pipeline's port; this module picks the language and fills in the office's details.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..db.models import Client
from ..domain.languages import DEFAULT_LANGUAGE
from ..locations import Location
from .context import ServiceContext


def reply_language(clients: Sequence[Client], sender: Client | None) -> str:
    """The language to answer a text in.

    The sender's, when we know who sent it. A phone shared by several clients (families) is
    answered in their language when they all have the same one; when they differ and the
    sender cannot be told apart, in English, the practice's default, like a number we do not
    know at all.
    """
    if sender is not None:
        return sender.language
    languages = {c.language for c in clients}
    return languages.pop() if len(languages) == 1 else DEFAULT_LANGUAGE


def help_text(ctx: ServiceContext, location: Location, language: str = DEFAULT_LANGUAGE) -> str:
    """The HELP reply: the practice, the office's phone, and how to opt out."""
    return ctx.texts.help_reply(ctx.locations.practice, location, language)


class Answers:
    """The replies of one office, in `language` (set once the sender is known)."""

    def __init__(self, ctx: ServiceContext, location: Location) -> None:
        self.ctx, self.location = ctx, location
        self.language: str = DEFAULT_LANGUAGE
        self.phone = ctx.texts.office_phone(location)

    def help(self) -> str:
        return help_text(self.ctx, self.location, self.language)

    def reply(self, kind: str, **values: object) -> str:
        """A reply of `kind` (texts.localized.REPLY_KINDS) with the office's details."""
        details = {"office_phone": self.phone, "practice_name": self.ctx.locations.practice.name}
        return self.ctx.texts.reply(kind, self.language, **(details | values))
