"""What a client's text reply means, in English and Spanish: one pure, table-driven function.

`parse_reply` first normalises the text (`normalise`), then tries the tables below in order:

1. EXACT: the whole reply is one keyword ("STOP", "c", "Confirmar", "AYUDA", "no más"), or a
   rating from 1 to 5.
2. PHRASES: short replies (at most MAX_OPT_OUT_WORDS words) that plainly say "stop texting me"
   ("stop texting me", "unsubscribe me", "dejen de escribirme", "cancelar suscripción").
3. OPT_OUT_WORDS_IN_TEXT: a short reply containing stop, stopall, unsubscribe, quit, revoke,
   optout or "opt out" as a word is an opt-out, unless the word is used as a visit
   ("can I stop by the office?", "please don't stop"): those go to staff as POSSIBLE.
4. POSSIBLE: "end" and "cancel" (cancelar, terminar...) inside a longer reply usually mean a
   visit ("I need to cancel Tuesday's session"): staff read it at once, flagged
   `possible_opt_out`, and the client is told how to stop all texts. A long reply (over
   MAX_OPT_OUT_WORDS words) that mentions an opt-out word is treated the same way.
5. Anything else is "other": it goes to the office's inbox as before.

Erring towards honouring an opt-out is the safe side, except where a word is plainly about a
visit: wrongly stopping a client's therapy reminders is harm too, and a possible opt-out reaches
a person within the day while the client is told the exact word that stops everything.

`language` says which language's table matched, so replies can be worded to match; the
client's own language setting decides the wording, not this guess.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

Keyword = Literal[
    "stop", "start", "help", "confirm", "reschedule", "rating", "possible_opt_out", "other"
]
Language = Literal["en", "es"]
# exact: the reply was a keyword on its own; words: a keyword or phrase inside a short reply.
Rule = Literal["exact", "words", "none"]

# At most this many words may surround an opt-out word for it to count as one (issue 9).
MAX_OPT_OUT_WORDS = 12

# Twilio's default opt-out, opt-in and help keywords. Twilio acts on these itself (Advanced
# Opt-Out) when one is the whole message, and answers them: we mirror them so our consent
# records agree with what the carrier side enforces, and we do not answer them twice.
OPT_OUT_WORDS = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT")
OPT_IN_WORDS = ("START", "UNSTOP", "YES")
HELP_WORDS = ("HELP", "INFO")
CARRIER_WORDS = frozenset(OPT_OUT_WORDS + OPT_IN_WORDS + HELP_WORDS)
CONFIRM_WORDS = ("C", "CONFIRM", "CONFIRMED")
RESCHEDULE_WORDS = ("R", "RESCHEDULE")
RATING_RANGE = range(1, 6)

# The whole reply, normalised (lower case, no accents) and with its words joined without
# spaces, so "opt out", "stop all" and "no más" match as written in the tables.
EXACT: dict[str, tuple[Keyword, Language]] = {
    **{w.lower(): ("stop", "en") for w in OPT_OUT_WORDS},
    **{w.lower(): ("start", "en") for w in OPT_IN_WORDS},
    **{w.lower(): ("help", "en") for w in HELP_WORDS},
    **{w.lower(): ("confirm", "en") for w in CONFIRM_WORDS},
    **{w.lower(): ("reschedule", "en") for w in RESCHEDULE_WORDS},
    # Spanish. "Para" is also "for" and "baja" also "low": only alone do they mean stop.
    **{w: ("stop", "es") for w in ("alto", "para", "parar", "baja", "nomas", "basta")},
    "comenzar": ("start", "es"),
    "ayuda": ("help", "es"),
    **{w: ("confirm", "es") for w in ("confirmar", "confirmo", "confirmado", "confirmada")},
    "reprogramar": ("reschedule", "es"),
}

# Short replies that plainly say "stop texting me", matched on the normalised words (single
# spaces, lower case, no accents). Word boundaries are the spaces themselves.
_TEXT = r"(?:mensajes?|textos?|msjs?|sms|recordatorios?|notificaciones?)"
_SEND_ES = (
    r"(?:manden|mande|mandes|envien|envie|envies|escriban|escriba|escribas|textee|texteen"
    r"|contacten|molesten)"
)
PHRASES: tuple[tuple[str, Language], ...] = (
    (r"\bopt out\b", "en"),
    (r"\bstop all\b", "en"),
    (r"\b(?:no|dont|do not|never) (?:text|message|txt|contact) me\b", "en"),
    (r"\bno more (?:texts?|messages?|sms|reminders)\b", "en"),
    (r"^(?:please )?remove me(?: please)?$", "en"),
    (r"\bremove me from (?:this |the |your )?(?:list|texts?|messages?|sms)\b", "en"),
    (
        r"\b(?:cancel|end) (?:all |the |my |these |your )?"
        r"(?:texts?|messages?|sms|reminders|subscription)\b",
        "en",
    ),
    # "no más" at the end ("ya no más", "no más por favor") or before texts; not "no más tarde".
    (r"\bno mas(?: por favor| porfa| gracias)*$", "es"),
    (rf"\bno mas {_TEXT}\b", "es"),
    # "no me manden más mensajes", "no me escriban"; not "no me manden la factura".
    (rf"\bno (?:me |nos )?{_SEND_ES}(?: mas)?(?: {_TEXT}\b| mas\b|$)", "es"),
    (rf"\b(?:ya )?no quiero (?:recibir |mas |recibir mas )*{_TEXT}\b", "es"),
    (
        r"\b(?:dejen|deje|dejar|dejes|paren|pare|parar) de "
        r"(?:escribir|mandar|enviar|textear|contactar|molestar)\w*",
        "es",
    ),
    (r"\b(?:cancelar|anular|quitar|eliminar) (?:mi |la )?(?:suscripcion|subscripcion)\b", "es"),
    (r"\b(?:dar|darme|denme|deme|den) de baja\b", "es"),
    (r"\bdesuscrib\w*|\bdesinscrib\w*|\bdesubscrib\w*", "es"),
    (
        rf"\b(?:basta|alto|paren|detengan|detener|suspender|suspendan) (?:de |los |las )*{_TEXT}\b",
        "es",
    ),
    (rf"\bsin {_TEXT}\b", "es"),
)

# Words that opt out when they appear in a short reply (issue 9, item 4).
OPT_OUT_WORDS_IN_TEXT = frozenset({"stop", "stopall", "unsubscribe", "quit", "revoke", "optout"})
# "stop" used about a visit or negated: a person decides (see the module docstring).
_NOT_A_REVOCATION = re.compile(
    r"\b(?:dont|do not|never|didnt|cant|cannot|can t|don t) stop\b"
    r"|\bstop (?:by|in|at|over)\b"
)
# Words that usually mean a visit inside a longer reply, but revoke consent alone.
POSSIBLE_WORDS = frozenset({"end", "cancel", "cancelar", "terminar", "ending", "cancelling"})

# Invisible characters that must not hide a keyword: every format character (Cf: zero-width
# space/joiners U+200B-U+200D, word joiner U+2060, BOM U+FEFF, soft hyphen U+00AD, bidi marks)
# plus the few invisible ones in other categories.
_INVISIBLE_OTHER = frozenset("\u034f\u115f\u1160\u3164\uffa0\u180e")
# A signature the phone adds on its own line or after the text ("STOP\n\nSent from my iPhone").
_SIGNATURE = re.compile(
    r"(?:^|\s)(?:sent from (?:my )?|sent via |sent with |get outlook for |enviado desde (?:mi )?"
    r"|enviado con |obtener outlook para )[^\n]*\s*$",
    re.IGNORECASE,
)
_DASH_SIGNATURE = re.compile(r"\n--\s*\n.*$", re.DOTALL)  # "-- " starts an email signature
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Parsed:
    """What an inbound text means; `text` is the body with outer whitespace removed.

    `rule` says how it matched (`exact`: the whole reply was the keyword), `language` which
    table matched, and `word` the keyword found, in capitals ("STOP", "NO MAS", "OPT OUT").
    """

    keyword: Keyword
    rating: int | None = None
    text: str = ""
    language: Language | None = None
    rule: Rule = "none"
    word: str = ""
    # True when Twilio itself acts on and answers this reply: one of its default keywords
    # alone. Anything else (plain words, Spanish) is ours to confirm.
    carrier: bool = False


def _strip_outer(text: str) -> str:
    """Drop whitespace and punctuation at both ends ("  stop. " -> "stop")."""

    def is_trim(ch: str) -> bool:
        category = unicodedata.category(ch)
        return ch.isspace() or category.startswith("P") or category.startswith("Z")

    start, end = 0, len(text)
    while start < end and is_trim(text[start]):
        start += 1
    while end > start and is_trim(text[end - 1]):
        end -= 1
    return text[start:end]


def _visible(text: str) -> str:
    out = []
    for ch in text:
        if ch in "\n\r\t":
            out.append(ch)
        elif unicodedata.category(ch) == "Cf" or ch in _INVISIBLE_OTHER:
            continue
        elif unicodedata.category(ch) == "Cc":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def _strip_signatures(text: str) -> str:
    text = _DASH_SIGNATURE.sub("", text)
    while True:
        shorter = _SIGNATURE.sub("", text).rstrip()
        if shorter == text.rstrip():
            return shorter
        text = shorter


def _fold(word: str) -> str:
    """Lower case without accents ("Más" -> "mas"); ñ becomes n, which no keyword minds."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalise(body: str) -> list[str]:
    """The reply's words: NFKC, invisible characters and trailing signatures removed, lower
    case without accents, punctuation dropped, a word repeated at once kept once."""
    text = unicodedata.normalize("NFKC", body)
    text = _strip_signatures(_visible(text))
    words: list[str] = []
    # Apostrophes join ("don't" -> "dont") rather than split, so contractions stay one word.
    for raw in _WORD.findall(text.replace("'", "").replace("\u2019", "")):
        word = _fold(raw)
        if not words or words[-1] != word:
            words.append(word)
    return words


def _exact(words: list[str]) -> tuple[Keyword, Language, str] | None:
    joined = "".join(words)
    if joined in EXACT:
        keyword, language = EXACT[joined]
        return keyword, language, " ".join(words).upper()
    return None


def _phrase(line: str) -> tuple[Language, str] | None:
    for pattern, language in PHRASES:
        found = re.search(pattern, line)
        if found:
            return language, found.group(0).strip().upper()
    return None


def parse_reply(body: str) -> Parsed:
    """Classify an inbound SMS body (see the module docstring for the order of the tables)."""
    original = body.strip()
    words = normalise(body)
    exact = _exact(words)
    if exact is not None:
        keyword, language, word = exact
        # Twilio compares the body itself: "STOP" or "stop." is its keyword, "stop stop" or
        # "STOP" with a signature is not, so that opt-out is ours to confirm.
        carrier = _strip_outer(body).upper() in CARRIER_WORDS
        return Parsed(
            keyword, text=original, language=language, rule="exact", word=word, carrier=carrier
        )
    if (
        len(words) == 1
        and words[0].isascii()
        and words[0].isdigit()
        and int(words[0]) in RATING_RANGE
    ):
        return Parsed("rating", rating=int(words[0]), text=original, rule="exact")
    line = " ".join(words)
    short = len(words) <= MAX_OPT_OUT_WORDS
    if short:
        phrase = _phrase(line)
        if phrase is not None:
            language, word = phrase
            return Parsed("stop", text=original, language=language, rule="words", word=word)
    found = [w for w in words if w in OPT_OUT_WORDS_IN_TEXT]
    if found and short and not _NOT_A_REVOCATION.search(line):
        return Parsed("stop", text=original, language="en", rule="words", word=found[0].upper())
    maybe = [w for w in words if w in POSSIBLE_WORDS or w in OPT_OUT_WORDS_IN_TEXT]
    if maybe or (not short and _phrase(line) is not None):
        word = maybe[0].upper() if maybe else ""
        return Parsed("possible_opt_out", text=original, rule="words", word=word)
    return Parsed("other", text=original)
