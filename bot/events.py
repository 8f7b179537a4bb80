"""Event look-ups: what a question asks for, the query, and the wording of the answer, in
the conversation's language (data/i18n/<code>/messages.yml `events.*`; dates by Babel)."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass, replace
from typing import Any

from babel.dates import format_date
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from bot import i18n, recurrence
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

# English first, then the same words in French, German, Spanish and Italian.
_KIND_WORDS: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    (
        re.compile(
            r"\bwebinars?|web seminars?|online talks?\b"
            r"|\b(webinaires?|webinare|webinarios?|seminarios? web|webinar)\b"
        ),
        ("webinar",),
    ),
    (
        re.compile(
            r"\b(trainings?|workshops?)\b"
            r"|\b(formations?|ateliers?|schulung(en)?|fortbildung(en)?|weiterbildung(en)?"
            r"|formaci[óo]n(es)?|talleres|taller|formazion[ei])\b"
        ),
        ("training", "course"),
    ),
    (
        re.compile(
            r"\b(courses?|e-?learning|open classroom|modules?|classes)\b"
            r"|\b(cours|kurs(e)?|cursos?|cors[oi])\b"
        ),
        ("course", "training"),
    ),
    (
        re.compile(
            r"\b(conferences?|congress(es)?|symposi(um|a)|meetings?|forums?)\b"
            r"|\b(conf[ée]rences?|congr[èe]s|konferenz(en)?|kongress(e)?|tagung(en)?"
            r"|conferencias?|congresos?|conferenz[ae]|congress[oi]|convegn[oi])\b"
        ),
        ("conference",),
    ),
    (
        re.compile(
            r"\b(awareness days?|trials? day|ictd|clinical trials day)\b"
            r"|\b(journ[ée]e (internationale )?des essais|tag der klinischen studien"
            r"|d[íi]a (internacional )?de los ensayos|giornata (internazionale )?"
            r"(delle sperimentazioni|degli studi))"
        ),
        ("awareness_day",),
    ),
]
_AUDIENCE_WORDS = [
    (
        re.compile(
            r"\b(patients?|public|carers?|caregivers?|families|citizens?)\b"
            r"|\b(patientes?|patient(inn)?en|pacientes?|pazienti|aidants|angehörige)\b"
        ),
        "patients",
    ),
    (
        re.compile(
            r"\b(researchers?|investigators?|scientists?|clinicians?|doctors?|sponsors?)\b"
            r"|\b(chercheu(r|se)s?|m[ée]decins|forscher(innen)?|ärzte|aerzte|investigador(es|as)?"
            r"|m[ée]dicos|ricercator[ie]|medici)\b"
        ),
        "researchers",
    ),
]
_NOUN_KEYS = {
    ("webinar",): "webinar",
    ("training", "course"): "training",
    ("course", "training"): "course",
    ("conference",): "conference",
    ("awareness_day",): "awareness_day",
}


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

    def describe(self, language: str | None = None) -> str:
        """ "webinars for patients in May 2027", in `language` (English by default)."""
        parts = [i18n.text(f"events.noun.{_NOUN_KEYS.get(self.kinds, 'any')}", language)]
        if self.organiser:
            parts.append(i18n.text("events.by_organiser", language, organiser=self.organiser))
        if self.audience:
            parts.append(i18n.text(f"events.for_audience.{self.audience}", language))
        if self.country:
            country = gazetteer().countries[self.country].values(i18n.supported(language))
            parts.append(i18n.text("events.in_country", language, **country))
        parts.append(self.when.label_in(language))
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


def _zone_label(event: Event, moment: dt.datetime, language: str | None = None) -> str:
    """ "CEST (Berlin time)" for an IANA zone, "UTC+01:00" for a bare offset."""
    label = moment.strftime("%Z") or moment.strftime("UTC%z")
    if event.timezone:
        # The event's own city where it has one ("Bern time"), else the zone's ("Brussels").
        # An online event's "location" is a meeting service ("Zoom"), not a city.
        held_somewhere = event.location and event.attendance != Attendance.ONLINE
        place = event.location.rsplit(",", 1)[-1].strip() if held_somewhere else ""
        city = place or event.timezone.rsplit("/", 1)[-1].replace("_", " ")
        label = i18n.text("events.zone_city", language, zone=label, city=city)
    return label


def _day(moment: dt.datetime, language: str | None) -> str:
    """ "20 May 2027"; "20 mai 2027", "20. Mai 2027"… (Babel's long date) in other languages."""
    code = i18n.supported(language)
    if code in (None, i18n.SOURCE):
        return f"{moment.day} {moment:%B %Y}"
    return format_date(moment.date(), "long", locale=code)


def _when(event: Event, language: str | None = None) -> str:
    starts, ends = event.local(event.starts_at), event.local(event.ends_at)
    if starts is None:
        return i18n.text("events.self_paced", language)
    when = _day(starts, language)
    several_days = ends is not None and ends.date() > starts.date()
    if several_days:
        when = i18n.text("events.date_range", language, start=when, end=_day(ends, language))
    if is_all_day(starts, ends):
        return when
    zone = _zone_label(event, starts, language)
    if several_days or ends is None or ends == starts:
        return i18n.text(
            "events.starting_at", language, when=when, time=f"{starts:%H:%M}", zone=zone
        )
    return i18n.text(
        "events.time_range",
        language,
        when=when,
        start=f"{starts:%H:%M}",
        end=f"{ends:%H:%M}",
        zone=zone,
    )


def _where(event: Event, language: str | None = None) -> str:
    if event.attendance == Attendance.ONLINE or (event.attendance is None and event.online):
        return i18n.text("events.online", language)
    if event.attendance == Attendance.HYBRID:
        if event.location:
            return i18n.text("events.hybrid_in", language, location=event.location)
        return i18n.text("events.hybrid", language)
    return event.location or i18n.text("events.place_tba", language)


def _describe(event: Event, language: str | None = None) -> str:
    yearly = " " + i18n.text("events.yearly", language) if event.recurrence else ""
    line = f"• {event.title} — {_when(event, language)}{yearly}, {_where(event, language)}."
    return line + (f" {event.url}" if event.url else "")


def next_clinical_trials_day(today: dt.date) -> dt.date:
    """International Clinical Trials Day is held each year on or around 20 May."""
    this_year = dt.date(today.year, 5, 20)
    return this_year if today <= this_year else dt.date(today.year + 1, 5, 20)


def trials_day_sentence(today: dt.date, language: str | None = None) -> str:
    year = next_clinical_trials_day(today).year
    return i18n.text("events.trials_day", language, year=year)


@dataclass(frozen=True)
class EventAnswer:
    text: str
    has_more: bool
    # The events the text lists, in its order (the matches, or the nearest ones), so the web
    # chat can put an "Add to calendar" link under each (actions/events.py, bot/ical.py).
    listed: tuple[Event, ...] = ()


def answer(
    session: Session,
    query: EventQuery,
    today: dt.date,
    page: int = 1,
    language: str | None = None,
) -> EventAnswer:
    """Up to three events, a plain "nothing matches" with the nearest alternatives, and a
    link, in `language` (English by default)."""
    offset = (page - 1) * PAGE_SIZE
    found = find(session, query, limit=PAGE_SIZE + 1, offset=offset)
    shown, has_more = found[:PAGE_SIZE], len(found) > PAGE_SIZE
    lines: list[str] = []
    nearest: list[Event] = []
    asked = query.describe(language)
    if shown and page == 1 and all(e.starts_at is None for e in shown) and not query.when.past:
        # Only self-paced courses: say plainly that nothing with a date is announced.
        lines.append(i18n.text("events.only_self_paced", language, query=asked))
        lines += [_describe(e, language) for e in shown]
    elif shown:
        heading = "events.more" if page > 1 else "events.found"
        lines.append(i18n.text(heading, language, query=asked))
        lines += [_describe(e, language) for e in shown]
    else:
        lines.append(i18n.text("events.none", language, query=asked))
        nearest = _nearest(session, query, today)
        if nearest:
            lines.append(i18n.text("events.nearest", language))
            lines += [_describe(e, language) for e in nearest]
    if query.about_trials_day or not shown:
        lines.append(trials_day_sentence(today, language))
    link = next((e.url for e in shown if e.url), None) or ICTD_PAGE
    text = "\n".join(lines) + f" {i18n.learn_more(language)} {link}"
    return EventAnswer(text, has_more, tuple(shown or nearest))


def _nearest(session: Session, query: EventQuery, today: dt.date) -> list[Event]:
    """Relax the question step by step: any date in the same direction, then any kind."""
    direction = (
        DateWindow(None, today, "in the past", past=True, key="past")
        if query.when.past
        else upcoming(today)
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
