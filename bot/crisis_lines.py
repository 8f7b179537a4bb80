"""Crisis lines by country, and the words said to someone who mentions suicide or self-harm.

The lines live in the `crisis_lines` table (seeded from data/db/crisis_lines.yml, every row
with the page it was checked on). The reply always says 112; it names the crisis line of the
person's country when the message or the conversation says where they are, and otherwise
the countries where 116 123 reaches a listening line and a directory of helplines. It never
asks a question back: someone in crisis gets everything in one message. When the database
is down the reply still comes, without the table (logged). It is said in the conversation's
language (the `crisis.*` messages and `crisis_hours` of data/i18n/<code>/safety.yml); the
numbers, names and links are the table's, whatever the language.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from functools import cache

import yaml
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot import i18n
from bot.countries import Country, fold, gazetteer
from bot.db import session_scope
from bot.models import CrisisLine

logger = logging.getLogger(__name__)

# Lists free, confidential helplines by country (findahelpline.com, docs/safety.md).
DIRECTORY = "https://findahelpline.com"
# The EU-wide number for emotional support lines: named with the countries where the table
# shows a line on it.
SHARED_NUMBER = "116 123"
# At most this many lines of one country are named, in `rank` order.
MAX_LINES = 2

# The words of the reply are the `crisis.*` messages of data/i18n/<code>/safety.yml (English:
# data/i18n/en/safety.yml), said in the conversation's language.


@cache
def _hours_translations(language: str) -> dict[str, str]:
    """`crisis_hours:` of data/i18n/<language>/safety.yml: a line's English `hours` (as in
    data/db/crisis_lines.yml) → the same words in `language`.

    Keyed by the English text on purpose: when staff change a line's hours, the old
    translation no longer matches and the new English words are said (logged) until it is
    translated, so a translation can never give hours the table no longer says."""
    path = i18n.I18N_DIR / language / "safety.yml"
    if language == i18n.SOURCE or not path.exists():
        return {}
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(k): str(v) for k, v in (document.get("crisis_hours") or {}).items()}


_untranslated: set[tuple[str, str]] = set()


def hours_in(hours: str, language: str) -> str:
    """A line's `hours` said in `language` (the English words when there is no translation,
    logged once per language and words)."""
    translated = _hours_translations(language).get(hours)
    if translated is None and language != i18n.SOURCE and (language, hours) not in _untranslated:
        _untranslated.add((language, hours))
        logger.warning(
            "No %s words for crisis-line hours %r: saying them in English", language, hours
        )
    return translated or hours


def lines_for(session: Session, country: Country) -> list[CrisisLine]:
    """The checked lines of `country`, first-named first."""
    return list(
        session.scalars(
            select(CrisisLine)
            .where(CrisisLine.country == country.iso)
            .order_by(CrisisLine.rank, CrisisLine.name)
        ).all()
    )


def countries_on(session: Session, phone: str = SHARED_NUMBER) -> list[Country]:
    """The known countries where a checked line answers on `phone`, by English name."""
    codes = session.scalars(
        select(CrisisLine.country).where(CrisisLine.phone == phone).distinct()
    ).all()
    known = gazetteer().countries
    return sorted((known[code] for code in codes if code in known), key=lambda c: c.name)


def country_of(text: str | None, slot: str | None) -> Country | None:
    """Where the person is: a country or city named in the message itself ("I'm in Lyon and
    I want to die"), else the conversation's `country` slot."""
    places = gazetteer()
    return places.find_meant(text) or places.resolve(slot)


def _line(line: CrisisLine, language: str) -> str:
    phone = line.phone
    if " or " in phone:  # "0800 111 0 111 or 0800 111 0 222": the "or" in the language
        first, second = phone.split(" or ", 1)
        phone = i18n.text("crisis.phone_or", language, first=first, second=second)
    if not line.hours:
        return i18n.text("crisis.line", language, name=line.name, phone=phone)
    hours = hours_in(line.hours, language)
    return i18n.text("crisis.line_hours", language, name=line.name, phone=phone, hours=hours)


def _names(countries: Iterable[Country], language: str) -> str:
    names = [country.name_in(language) for country in countries]
    if language != i18n.SOURCE:  # the order a reader of the language expects
        names.sort(key=fold)
    return i18n.join_and(names, language)


def compose(
    country: Country | None,
    lines: list[CrisisLine] | None,
    shared: list[Country] | None = None,
    language: str = "en",
) -> str:
    """The reply in `language` (English when it has no translation). `lines` is None when
    the table could not be read."""
    language = i18n.supported(language) or i18n.default_language()
    sentences = [i18n.text("crisis.opening", language), i18n.text("crisis.emergency", language)]
    if country is not None and lines:
        named = [_line(line, language) for line in lines[:MAX_LINES]]
        text = named[0]
        for other in named[1:]:
            text = i18n.text("crisis.two_lines", language, first=text, second=other)
        sentences.append(
            i18n.text("crisis.in_country", language, **country.values(language), lines=text)
        )
        sentences.append(i18n.text("crisis.elsewhere", language, directory=DIRECTORY))
    elif country is not None and lines is not None:
        sentences.append(
            i18n.text("crisis.no_line", language, **country.values(language), directory=DIRECTORY)
        )
    elif shared:
        sentences.append(
            i18n.text(
                "crisis.shared",
                language,
                countries=_names(shared, language),
                number=SHARED_NUMBER,
                directory=DIRECTORY,
            )
        )
    else:
        sentences.append(i18n.text("crisis.directory_only", language, directory=DIRECTORY))
    return " ".join(sentences)


def reply(
    text: str | None,
    slot: str | None,
    sessions: Callable[[], AbstractContextManager[Session]] | None = None,
    language: str = "en",
) -> str:
    """The whole reply to a self-harm message, in `language`: never fails, never asks a
    question.

    `sessions` opens a database session (default: `bot.db.session_scope`).
    """
    country = country_of(text, slot)
    sessions = sessions or session_scope
    try:
        with sessions() as session:
            if country is not None:
                return compose(country, lines_for(session, country), language=language)
            return compose(None, [], countries_on(session), language=language)
    except SQLAlchemyError:
        logger.exception("Crisis line look-up failed for %s", country.iso if country else "-")
        return compose(country, None, language=language)
