"""Event look-ups: what a question asks for, the query, and the wording of the answer."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from bot import recurrence
from bot.countries import gazetteer
from bot.dates import DateWindow, parse_when, upcoming
from bot.models import Attendance, Event

ICTD_PAGE = "https://www.ecrin.org/ictd-past-celebrations"
PAGE_SIZE = 3

KINDS = ("webinar", "training", "conference", "awareness_day", "course")
AUDIENCES = ("patients", "researchers", "everyone")
ATTENDANCE = Attendance.ALL

# The organisers' time zone for an event held in a country (bot/seed.py uses it when a row
# names none). Countries with several zones get their capital's; the seed keeps a zone only
# when it agrees with the offset the row's times were written with.
TIMEZONE_BY_COUNTRY = {
    "AT": "Europe/Vienna", "BE": "Europe/Brussels", "BG": "Europe/Sofia",
    "HR": "Europe/Zagreb", "CY": "Asia/Nicosia", "CZ": "Europe/Prague",
    "DK": "Europe/Copenhagen", "EE": "Europe/Tallinn", "FI": "Europe/Helsinki",
    "FR": "Europe/Paris", "DE": "Europe/Berlin", "GR": "Europe/Athens",
    "HU": "Europe/Budapest", "IS": "Atlantic/Reykjavik", "IE": "Europe/Dublin",
    "IT": "Europe/Rome", "LV": "Europe/Riga", "LI": "Europe/Vaduz", "LT": "Europe/Vilnius",
    "LU": "Europe/Luxembourg", "MT": "Europe/Malta", "NL": "Europe/Amsterdam",
    "NO": "Europe/Oslo", "PL": "Europe/Warsaw", "PT": "Europe/Lisbon",
    "RO": "Europe/Bucharest", "SK": "Europe/Bratislava", "SI": "Europe/Ljubljana",
    "ES": "Europe/Madrid", "SE": "Europe/Stockholm", "CH": "Europe/Zurich",
    "GB": "Europe/London", "AL": "Europe/Tirane", "BA": "Europe/Sarajevo",
    "ME": "Europe/Podgorica", "MK": "Europe/Skopje", "RS": "Europe/Belgrade",
    "MD": "Europe/Chisinau", "UA": "Europe/Kyiv", "TR": "Europe/Istanbul",
    "IL": "Asia/Jerusalem", "JP": "Asia/Tokyo",
}  # fmt: skip

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


def _conditions(query: EventQuery) -> list[Any]:
    """What the question asks of an event besides its dates; retired rows never match."""
    conditions: list[Any] = [Event.retired_at.is_(None)]
    if query.kinds:
        conditions.append(Event.kind.in_(query.kinds))
    if query.audience:
        conditions.append(Event.audience.in_((query.audience, "everyone")))
    if query.organiser:
        conditions.append(func.lower(Event.organiser).contains(query.organiser.lower()))
    if query.country:
        conditions.append(Event.country == query.country)
    return conditions


def find(
    session: Session, query: EventQuery, limit: int = PAGE_SIZE, offset: int = 0
) -> list[Event]:
    """Events matching `query`: dated ones in its window (a day held every year on its
    occurrence in the window), self-paced courses when current."""
    conditions = _conditions(query)
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
    one_off = select(Event).where(*conditions, Event.recurrence.is_(None), when)
    found = list(session.scalars(one_off.order_by(order, Event.title).limit(offset + limit)).all())
    recurring = session.scalars(select(Event).where(*conditions, Event.recurrence.is_not(None)))
    found += [o for event in recurring for o in _occurrences_in(event, window)]
    # Dated first in time order (latest first for the past), then self-paced courses by title.
    far = dt.datetime.max.replace(tzinfo=dt.timezone.utc)
    found.sort(key=lambda e: e.title)
    found.sort(key=lambda e: e.starts_at or far, reverse=window.past)
    return found[offset : offset + limit]


def _occurrences_in(event: Event, window: DateWindow) -> list[Event]:
    """The occurrences of a yearly `event` the window asks for: every one in a bounded window,
    the next one for "upcoming". "Past events" lists what was held once (past editions of a
    conference), not every year of a day that comes back anyway."""
    if window.start is None:
        return []
    after = _start_of(window.start)
    before = _start_of(window.end + dt.timedelta(days=1)) if window.end else None
    dates = recurrence.occurrences(event, after, before)
    chosen = list(dates) if before is not None else list(itertools.islice(dates, 1))
    return [recurrence.as_occurrence(event, start, end) for start, end in chosen]


def upcoming_events(session: Session, today: dt.date, limit: int = 100) -> list[Event]:
    """Dated events still to come or running from `today` on, soonest first, each day held
    every year on its next date (for the public calendar feed: self-paced courses have no
    date to put in a calendar)."""
    query = EventQuery(when=upcoming(today))
    return [e for e in find(session, query, limit=limit) if e.starts_at is not None]


def event_by_slug(session: Session, slug: str, today: dt.date) -> Event | None:
    """The live event `slug`; a day held every year dated on its next occurrence from today."""
    event = session.scalars(
        select(Event).where(Event.slug == slug, Event.retired_at.is_(None))
    ).first()
    if event is None or not event.recurrence:
        return event
    next_one = next(recurrence.occurrences(event, _start_of(today)), None)
    return recurrence.as_occurrence(event, *next_one) if next_one else None


def is_all_day(starts: dt.datetime, ends: dt.datetime | None) -> bool:
    """Rows whose source gives no time of day start at 00:00 and end at 23:59 local time."""
    return starts.time() == dt.time.min and (ends is None or ends.time() >= dt.time(23, 59))


def _zone_label(event: Event, moment: dt.datetime) -> str:
    """ "CEST (Berlin time)" for an IANA zone, "UTC+01:00" for a bare offset."""
    label = moment.strftime("%Z") or moment.strftime("UTC%z")
    if event.timezone:
        # The event's own city where it has one ("Bern time"), else the zone's ("Brussels").
        # An online event's "location" is a meeting service ("Zoom"), not a city.
        held_somewhere = event.location and event.attendance != Attendance.ONLINE
        place = event.location.rsplit(",", 1)[-1].strip() if held_somewhere else ""
        city = place or event.timezone.rsplit("/", 1)[-1].replace("_", " ")
        label += f" ({city} time)"
    return label


def _when(event: Event) -> str:
    starts, ends = event.local(event.starts_at), event.local(event.ends_at)
    if starts is None:
        return "self-paced, start any time"
    when = f"{starts.day} {starts:%B %Y}"
    several_days = ends is not None and ends.date() > starts.date()
    if several_days:
        when += f" to {ends.day} {ends:%B %Y}"
    if is_all_day(starts, ends):
        return when
    if several_days or ends is None or ends == starts:
        return f"{when}, starting at {starts:%H:%M} {_zone_label(event, starts)}"
    return f"{when}, {starts:%H:%M} to {ends:%H:%M} {_zone_label(event, starts)}"


def _where(event: Event) -> str:
    if event.attendance == Attendance.ONLINE or (event.attendance is None and event.online):
        return "online"
    if event.attendance == Attendance.HYBRID:
        place = f"in {event.location} or online" if event.location else "in person or online"
        return f"{place} (a hybrid event)"
    return event.location or "place to be announced"


def _describe(event: Event) -> str:
    yearly = " (held every year)" if event.recurrence else ""
    line = f"• {event.title} — {_when(event)}{yearly}, {_where(event)}."
    return line + (f" {event.url}" if event.url else "")


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
    # The events the text lists, in its order (the matches, or the nearest ones), so the web
    # chat can put an "Add to calendar" link under each (actions/events.py, bot/ical.py).
    listed: tuple[Event, ...] = ()


def answer(session: Session, query: EventQuery, today: dt.date, page: int = 1) -> EventAnswer:
    """Up to three events, a plain "nothing matches" with the nearest alternatives, and a link."""
    offset = (page - 1) * PAGE_SIZE
    found = find(session, query, limit=PAGE_SIZE + 1, offset=offset)
    shown, has_more = found[:PAGE_SIZE], len(found) > PAGE_SIZE
    lines: list[str] = []
    nearest: list[Event] = []
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
    return EventAnswer("\n".join(lines) + f" Learn more: {link}", has_more, tuple(shown or nearest))


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
