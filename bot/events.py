"""Event look-ups and the wording of their answers."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Event

ICTD_PAGE = "https://www.ecrin.org/ictd-past-celebrations"
MAX_LISTED = 3


def next_clinical_trials_day(today: dt.date) -> dt.date:
    """International Clinical Trials Day is held each year on or around 20 May."""
    this_year = dt.date(today.year, 5, 20)
    return this_year if today <= this_year else dt.date(today.year + 1, 5, 20)


def upcoming(session: Session, now: dt.datetime, limit: int = MAX_LISTED) -> list[Event]:
    query = select(Event).where(Event.starts_at >= now).order_by(Event.starts_at).limit(limit)
    return list(session.scalars(query).all())


def _describe(event: Event) -> str:
    when = event.starts_at.strftime("%-d %B %Y") if event.starts_at else "date to be announced"
    where = "online" if event.online else (event.location or "place to be announced")
    link = f" {event.url}" if event.url else ""
    return f"• {event.title} — {when}, {where}.{link}"


def answer(events: list[Event], today: dt.date) -> str:
    ictd = next_clinical_trials_day(today)
    ictd_sentence = (
        f"International Clinical Trials Day is held every year on or around 20 May, so the "
        f"next one is around 20 May {ictd.year}; ECRIN announces the date and place of its "
        "conference on its website."
    )
    if not events:
        return (
            "I don't know of any other announced events coming up right now. "
            f"{ictd_sentence} Learn more: {ICTD_PAGE}"
        )
    lines = ["Here is what's coming up:", *(_describe(e) for e in events), ictd_sentence]
    return "\n".join(lines) + f" Learn more: {ICTD_PAGE}"
