"""Event look-ups: what a question asks for, the query, and the wording of the answer."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from bot.countries import gazetteer
from bot.dates import DateWindow, parse_when, upcoming
from bot.models import Event

ICTD_PAGE = "https://www.ecrin.org/ictd-past-celebrations"
PAGE_SIZE = 3

KINDS = ("webinar", "training", "conference", "awareness_day", "course")
AUDIENCES = ("patients", "researchers", "everyone")

_KIND_WORDS: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    (re.compile(r"\bwebinars?|web seminars?|online talks?\b"), ("webinar",)),
    (re.compile(r"\b(trainings?|workshops?)\b"), ("training", "course")),
    (
        re.compile(r"\b(courses?|e-?learning|open classroom|modules?|classes)\b"),
        ("course", "training"),
    ),
    (
        re.compile(r"\b(conferences?|congress(es)?|symposi(um|a)|meetings?|forums?)\b"),
        ("conference",),
    ),
    (re.compile(r"\b(awareness days?|trials? day|ictd|clinical trials day)\b"), ("awareness_day",)),
]
_AUDIENCE_WORDS = [
    (re.compile(r"\b(patients?|public|carers?|caregivers?|families|citizens?)\b"), "patients"),
    (
        re.compile(r"\b(researchers?|investigators?|scientists?|clinicians?|doctors?|sponsors?)\b"),
        "researchers",
    ),
]


@dataclass(frozen=True)
class EventQuery:
    """What someone asked for; empty fields mean "any"."""

    when: DateWindow
    kinds: tuple[str, ...] = ()
    audience: str | None = None
    organiser: str | None = None
    country: str | None = None

    @property
    def about_trials_day(self) -> bool:
        return "awareness_day" in self.kinds

    def describe(self) -> str:
        """ "webinars for patients in May 2027" """
        noun = {
            ("webinar",): "webinars",
            ("training", "course"): "trainings or courses",
            ("course", "training"): "courses or trainings",
            ("conference",): "conferences",
            ("awareness_day",): "awareness days",
        }.get(self.kinds, "events")
        parts = [noun]
        if self.organiser:
            parts.append(f"by {self.organiser}")
        if self.audience:
            parts.append(f"for {self.audience}")
        if self.country:
            parts.append(f"in {gazetteer().countries[self.country].display}")
        parts.append(self.when.label)
        return " ".join(parts)


def parse_query(text: str, today: dt.date) -> EventQuery:
    lowered = text.lower()
    kinds: tuple[str, ...] = ()
    for pattern, matched in _KIND_WORDS:
        if pattern.search(lowered):
            kinds = matched
            break
    audience = next((a for pattern, a in _AUDIENCE_WORDS if pattern.search(lowered)), None)
    organiser = next((o for o in ("ECRIN", "EUPATI") if o.lower() in lowered), None)
    place = gazetteer().find_in(text)
    return EventQuery(
        when=parse_when(text, today) or upcoming(today),
        kinds=kinds,
        audience=audience,
        organiser=organiser,
        country=place.iso if place else None,
    )


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.timezone.utc)


def find(
    session: Session, query: EventQuery, limit: int = PAGE_SIZE, offset: int = 0
) -> list[Event]:
    """Events matching `query`: dated ones in its window, self-paced courses when current."""
    conditions = []
    if query.kinds:
        conditions.append(Event.kind.in_(query.kinds))
    if query.audience:
        conditions.append(Event.audience.in_((query.audience, "everyone")))
    if query.organiser:
        conditions.append(func.lower(Event.organiser).contains(query.organiser.lower()))
    if query.country:
        conditions.append(Event.country == query.country)

    window = query.when
    dated = [Event.starts_at.is_not(None)]
    if window.start:
        # An event that is still running counts: it ends on or after the window's start.
        dated.append(func.coalesce(Event.ends_at, Event.starts_at) >= _start_of(window.start))
    if window.end:
        dated.append(Event.starts_at < _start_of(window.end + dt.timedelta(days=1)))
    when = and_(*dated)
    if not window.past and window.end is None:
        # Self-paced courses have no dates and are open now.
        when = or_(when, Event.starts_at.is_(None))

    order = Event.starts_at.desc() if window.past else Event.starts_at.asc().nulls_last()
    statement = select(Event).where(*conditions, when).order_by(order, Event.title)
    return list(session.scalars(statement.offset(offset).limit(limit)).all())


def _describe(event: Event) -> str:
    starts, ends = event.local(event.starts_at), event.local(event.ends_at)
    if starts is None:
        when = "self-paced, start any time"
    else:
        when = f"{starts.day} {starts:%B %Y}"
        if ends and ends.date() > starts.date():
            when += f" to {ends.day} {ends:%B %Y}"
    where = "online" if event.online else (event.location or "place to be announced")
    if event.description and "hybrid" in event.description.lower() and not event.online:
        where += " (hybrid)"
    return f"• {event.title} — {when}, {where}." + (f" {event.url}" if event.url else "")


def next_clinical_trials_day(today: dt.date) -> dt.date:
    """International Clinical Trials Day is held each year on or around 20 May."""
    this_year = dt.date(today.year, 5, 20)
    return this_year if today <= this_year else dt.date(today.year + 1, 5, 20)


def trials_day_sentence(today: dt.date) -> str:
    year = next_clinical_trials_day(today).year
    return (
        "International Clinical Trials Day is held every year on or around 20 May, so the next "
        f"one is around 20 May {year}; ECRIN announces the date and place of its conference "
        "on its website."
    )


@dataclass(frozen=True)
class EventAnswer:
    text: str
    has_more: bool


def answer(session: Session, query: EventQuery, today: dt.date, page: int = 1) -> EventAnswer:
    """Up to three events, a plain "nothing matches" with the nearest alternatives, and a link."""
    offset = (page - 1) * PAGE_SIZE
    found = find(session, query, limit=PAGE_SIZE + 1, offset=offset)
    shown, has_more = found[:PAGE_SIZE], len(found) > PAGE_SIZE
    lines: list[str] = []
    if shown and page == 1 and all(e.starts_at is None for e in shown) and not query.when.past:
        # Only self-paced courses: say plainly that nothing with a date is announced.
        open_now = "but these self-paced courses are open any time:"
        lines.append(f"I couldn't find any dated {query.describe()}, {open_now}")
        lines += [_describe(e) for e in shown]
    elif shown:
        heading = "More" if page > 1 else "Here is what I found"
        lines.append(f"{heading}: {query.describe()}:")
        lines += [_describe(e) for e in shown]
    else:
        lines.append(f"I couldn't find any {query.describe()}.")
        nearest = _nearest(session, query, today)
        if nearest:
            lines.append("The nearest I know of:")
            lines += [_describe(e) for e in nearest]
    if query.about_trials_day or not shown:
        lines.append(trials_day_sentence(today))
    link = next((e.url for e in shown if e.url), None) or ICTD_PAGE
    return EventAnswer("\n".join(lines) + f" Learn more: {link}", has_more)


def _nearest(session: Session, query: EventQuery, today: dt.date) -> list[Event]:
    """Relax the question step by step: any date in the same direction, then any kind."""
    direction = (
        DateWindow(None, today, "in the past", past=True) if query.when.past else upcoming(today)
    )
    for relaxed in (
        replace(query, when=direction),
        replace(query, when=direction, kinds=(), audience=None),
        replace(query, when=direction, kinds=(), audience=None, organiser=None, country=None),
    ):
        if relaxed != query:
            events = find(session, relaxed, limit=2)
            if events:
                return events
    return []
