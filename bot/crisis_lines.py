"""Crisis lines by country, and the words said to someone who mentions suicide or self-harm.

The lines live in the `crisis_lines` table (seeded from data/db/crisis_lines.yml, every row
with the page it was checked on). The reply always says 112; it names the crisis line of the
person's country when the message or the conversation says where they are, and otherwise
the countries where 116 123 reaches a listening line and a directory of helplines. It never
asks a question back: someone in crisis gets everything in one message. When the database
is down the reply still comes, without the table (logged).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.countries import Country, gazetteer
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

OPENING = (
    "I'm really sorry you're feeling this way, and I'm glad you told me. "
    "You don't have to face this alone."
)
EMERGENCY = (
    "If you might act on these thoughts or are in danger, please call 112 or your local "
    "emergency number now."
)


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


def _line(line: CrisisLine) -> str:
    hours = f" \u2014 {line.hours}" if line.hours else ""
    return f"{line.name} on {line.phone}{hours}"


def _names(countries: Iterable[Country]) -> str:
    names = [country.display for country in countries]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def compose(
    country: Country | None,
    lines: list[CrisisLine] | None,
    shared: list[Country] | None = None,
) -> str:
    """The reply. `lines` is None when the table could not be read."""
    sentences = [OPENING, EMERGENCY]
    if country is not None and lines:
        named = [_line(line) for line in lines[:MAX_LINES]]
        sentences.append(
            f"In {country.display}, you can talk to someone at " + "; or at ".join(named) + "."
        )
        sentences.append(
            f"If you're somewhere else, {DIRECTORY} lists free, confidential helplines in "
            "other countries."
        )
    elif country is not None and lines is not None:
        sentences.append(
            f"I don't have a checked crisis line for {country.display} yet, but {DIRECTORY} "
            "lists free, confidential helplines there."
        )
    elif shared:
        sentences.append(
            f"You can also talk to someone at a crisis line: in {_names(shared)}, "
            f"{SHARED_NUMBER} reaches a listening line, and {DIRECTORY} lists free, "
            "confidential helplines in other countries."
        )
    else:
        sentences.append(
            f"You can also talk to someone at a crisis line: {DIRECTORY} lists free, "
            "confidential helplines by country."
        )
    return " ".join(sentences)


def reply(
    text: str | None,
    slot: str | None,
    sessions: Callable[[], AbstractContextManager[Session]] | None = None,
) -> str:
    """The whole reply to a self-harm message: never fails, never asks a question.

    `sessions` opens a database session (default: `bot.db.session_scope`).
    """
    country = country_of(text, slot)
    sessions = sessions or session_scope
    try:
        with sessions() as session:
            if country is not None:
                return compose(country, lines_for(session, country))
            return compose(None, [], countries_on(session))
    except SQLAlchemyError:
        logger.exception("Crisis line look-up failed for %s", country.iso if country else "-")
        return compose(country, None)
