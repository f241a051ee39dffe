"""Texts in the client's language: one Jinja environment per language, and the short replies.

Every template in templates/sms wraps its words in {% trans %} blocks; the environment of a
language has that language's catalog installed (scheduler.i18n), so the same template renders
English or Spanish. Dates and times are Babel's, in the language's locale (scheduler.formats).
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template

from ..domain.languages import DEFAULT_LANGUAGE, check_language
from ..domain.sms import FALLBACK_FIRST_NAME, encoding_for, segment_count
from ..formats import format_text_when, format_weekday
from ..i18n import locale_for, translate, translations
from ..package_data import templates_dir

# Replies to a client's text: templates/sms/reply_<kind>.txt.
REPLY_KINDS = (
    "confirmed",
    "nothing_to_confirm",
    "reschedule",
    "rating",
    "received",
    "opted_out",
    "opted_in",
    "how_to_stop",
)


@cache
def environment(language: str | None = DEFAULT_LANGUAGE) -> Environment:
    """The text templates with `language`'s catalog (built on first use, not at import)."""
    env = Environment(
        loader=FileSystemLoader(str(templates_dir() / "sms")),
        autoescape=False,  # plain text, not HTML
        undefined=StrictUndefined,  # a missing variable is a bug, never an empty gap in a text
        keep_trailing_newline=False,
        extensions=["jinja2.ext.i18n"],
    )
    catalog = translations(check_language(language or DEFAULT_LANGUAGE))
    env.install_gettext_translations(catalog, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(_direct_gettext(catalog))
    return env


def _direct_gettext(catalog: _gettext.NullTranslations) -> dict[str, Any]:
    """Newstyle gettext functions that do what Jinja's do for plain text, without its wrapper.

    Jinja wraps each catalog function in one taking the template context, to call the
    catalog through that context again and mark the result safe if autoescaping: two context
    calls per {% trans %} block, a third of the time a text takes to render. These templates
    are plain text (no autoescape) and the catalog needs no context, so these call it
    directly, and format with the block's variables as newstyle gettext always does. (The
    templates use no pgettext: Jinja's stay for that.)
    """

    def gettext(__string: str, **variables: Any) -> str:
        return catalog.gettext(__string) % variables

    def ngettext(__singular: str, __plural: str, __num: int, **variables: Any) -> str:
        variables.setdefault("num", __num)
        return catalog.ngettext(__singular, __plural, __num) % variables

    return {"gettext": gettext, "ngettext": ngettext}


@cache
def template(kind: str, language: str | None = DEFAULT_LANGUAGE) -> Template:
    found = environment(language).get_template(f"{kind}.txt")
    # Each render merges the template's globals into its context, walking them (a ChainMap
    # over the environment's, in Python) twice. They are fixed once the environment is built,
    # so a flat copy serves the same names at a fraction of that cost.
    found.globals = dict(found.globals)
    return found


def render_template(kind: str, language: str | None, values: Mapping[str, Any]) -> str:
    """`template(kind, language).render(**values)`, through Jinja's low-level API.

    `Template.render` copies its keyword arguments into a dict and that dict, with the
    globals, into another; here one merge serves as the context as it is (`shared`), a third
    less time per text. Errors are reported as `render` reports them.
    """
    found = template(kind, language)
    context = found.new_context({**found.globals, **values}, shared=True)
    try:
        return found.environment.concat(found.root_render_func(context))
    except Exception:
        found.environment.handle_exception()


def when(at: datetime, zone: str, language: str | None, *, weekday: bool = True) -> str:
    """A session's start as the client reads it: "Wed Mar 3, 5:00 PM PST", "mié 3 mar, ..."."""
    return _when(_instant(at), zone, language, weekday)


# A dispatch batch words many texts about the same few start times (a day's 24-hour
# reminders): these are pure, so each distinct start is formatted once.
@lru_cache(maxsize=4096)
def _when(at: datetime, zone: str, language: str | None, weekday: bool) -> str:
    return format_text_when(at, zone, locale=locale_for(language), weekday=weekday)


def _instant(at: datetime) -> datetime:
    """The cache key: in UTC, where equal means the same instant (in a zone, a repeated
    autumn hour's two instants compare equal); a naive value goes through and is refused."""
    return at.astimezone(UTC) if at.tzinfo is not None else at


def fewest_segments(variants: Iterable[str]) -> str:
    """The first of `variants` that costs the fewest SMS segments.

    Texts are rendered with the weekday first and without it second. Spanish "sáb" is the one
    day name outside GSM-7: it alone would turn a text into UCS-2 (70 characters a segment
    instead of 160) and a reminder into three segments. Then the date goes without its day
    name ("25 sep, 9:00 a.m.") rather than without its accent; on every other day, and in
    English, the weekday costs nothing and stays.
    """
    best = ""
    for text in variants:
        if not best or segment_count(text) < segment_count(best):
            best = text
    return best


def weekday(at: datetime, zone: str, language: str | None) -> str:
    """'Monday', 'lunes'."""
    return _weekday(_instant(at), zone, language)


@lru_cache(maxsize=4096)
def _weekday(at: datetime, zone: str, language: str | None) -> str:
    return format_weekday(at, zone, locale=locale_for(language))


def greeting(first_name: str, language: str | None) -> str:
    """'Hi Ana,' / 'Hola, Ana.'; without a usable name, 'Hi there,' / 'Hola.'."""
    if first_name == FALLBACK_FIRST_NAME:
        return translate(language, "Hi there,")
    return translate(language, "Hi %(name)s,") % {"name": first_name}


def reply(kind: str, language: str | None, **values: Any) -> str:
    """The answer to a client's text, in the client's language."""
    if kind not in REPLY_KINDS:
        raise ValueError(f"unknown reply kind {kind!r}")
    found = template(f"reply_{kind}", language)
    at = values.pop("starts_at", None)
    if at is None:
        return found.render(**values).strip()
    zone = values.pop("zone")
    text = found.render(**values, when=when(at, zone, language)).strip()
    if encoding_for(text) == "GSM-7":
        return text
    shorter = found.render(**values, when=when(at, zone, language, weekday=False)).strip()
    return fewest_segments((text, shorter))
