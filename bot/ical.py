"""Events as iCalendar (RFC 5545): the public feed and one event's "Add to calendar" file.

The web channel serves them (bot/channels/web.py: `events.ics`, `events/<slug>.ics`); the
events come from bot.events (`upcoming_events`, `event_by_slug`), a day held every year
already dated on its occurrence. A calendar client that subscribes to the feed refreshes it,
so every change staff make reaches the calendars that follow it.

Timed events are written in UTC, which every client reads the same way without a VTIMEZONE
block; an all-day row (00:00 to 23:59 in the event's own zone) is written as dates, so a
client shows it on the right day wherever it is.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from icalendar import Calendar, vCalAddress, vText
from icalendar import Event as VEvent

from bot.events import is_all_day
from bot.models import Attendance

PRODUCT_ID = "-//ECRIN//ECRIN assistant events//EN"
UID_DOMAIN = "ecrin-assistant"
CALENDAR_NAME = "ECRIN events"
# How often a subscribed client should fetch the feed again (clients may wait longer).
REFRESH = "PT12H"
# What an event's address may name: slugs as bot.importer.slugify makes them ("rare-disease-
# day-2027"), and the letters, "_" and "." a CSV's own slug column may add. Nothing that needs
# escaping in a URL or a Content-Disposition header.
SLUG_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,119}")


class CalendarEvent(Protocol):
    """What the files need of an event: a bot.models.Event, or an occurrence of a recurring
    one (bot.recurrence.as_occurrence, dated on that occurrence)."""

    slug: str
    title: str
    organiser: str
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    attendance: str
    online: bool
    location: str | None
    url: str | None
    source_url: str
    description: str | None
    recurrence: str | None

    def local(self, moment: dt.datetime | None) -> dt.datetime | None: ...


def calendar_feed(events: Iterable[CalendarEvent], now: dt.datetime) -> bytes:
    """A calendar of `events` to subscribe to; self-paced courses (no date) are left out."""
    calendar = _calendar()
    calendar.add("X-WR-CALNAME", CALENDAR_NAME)
    calendar.add("X-WR-CALDESC", "Upcoming events announced by ECRIN and its partners")
    calendar.add("REFRESH-INTERVAL", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("X-PUBLISHED-TTL", REFRESH)
    for event in events:
        if event.starts_at is not None:
            calendar.add_component(_vevent(event, now))
    return calendar.to_ical()


def single_event(event: CalendarEvent, now: dt.datetime | None = None) -> bytes:
    """One dated event as a calendar file to open or import ("Add to calendar")."""
    if event.starts_at is None:
        raise ValueError(f"{event.slug} is self-paced: it has no date for a calendar")
    now = now or dt.datetime.now(dt.timezone.utc)
    calendar = _calendar()
    calendar.add_component(_vevent(event, now))
    return calendar.to_ical()


# The custom payload that carries an events answer's "Add to calendar" links to the web chat.
PAYLOAD_KEY = "events"


def calendar_path(slug: str) -> str | None:
    """The single-event file's address, relative to the web chat's page (as its plan link);
    None for a slug no address may carry."""
    return f"events/{slug}.ics" if SLUG_PATTERN.fullmatch(slug) else None


def calendar_links(events: Iterable[CalendarEvent], today: dt.date) -> list[dict[str, str]]:
    """{slug, title, calendar_url} of each listed event worth adding to a calendar: dated
    and not over (a past event or a self-paced course gets no link)."""
    links = []
    for event in events:
        last = event.ends_at or event.starts_at
        path = calendar_path(event.slug)
        if last is None or path is None or event.local(last).date() < today:
            continue
        links.append({"slug": event.slug, "title": event.title, "calendar_url": path})
    return links


# How a card names an event's attendance (bot.presentation.EventCard.attendance).
CARD_ATTENDANCE = {
    Attendance.IN_PERSON: "in person",
    Attendance.ONLINE: "online",
    Attendance.HYBRID: "hybrid",
}
# The fields an entry carries beside slug, title and calendar_url, for the chat's event cards
# (bot/presentation.py); an entry that has them is read back as a card.
CARD_FIELDS = (
    "starts_on",
    "ends_on",
    "all_day",
    "time_label",
    "yearly",
    "place",
    "attendance",
    "audience",
    "url",
)


def event_entries(events: Iterable[CalendarEvent], today: dt.date) -> list[dict[str, Any]]:
    """Every listed event as an entry of the answer's custom payload, in the text's order:
    {slug, title, calendar_url} as `calendar_links` gives them (calendar_url None for a past
    event or a self-paced course, which have nothing to add to a calendar), and the fields
    of its card: dates as ISO dates in the event's own zone, time, place, attendance,
    audience and page. A channel that shows cards drops the text's bullet list for them."""
    addable = {link["slug"]: link["calendar_url"] for link in calendar_links(events, today)}
    return [
        {
            "slug": event.slug,
            "title": event.title,
            "calendar_url": addable.get(event.slug),
            **card_fields(event),
        }
        for event in events
    ]


def card_fields(event: CalendarEvent) -> dict[str, Any]:
    """The card of one event (see CARD_FIELDS), from the same data its line in the text says."""
    from bot.events import _zone_label

    starts, ends = event.local(event.starts_at), event.local(event.ends_at)
    all_day = starts is not None and is_all_day(starts, ends)
    time_label = None
    if starts is not None and not all_day:
        zone = _zone_label(event, starts)  # type: ignore[arg-type]
        same_day = ends is not None and ends.date() == starts.date() and ends != starts
        time_label = (
            f"{starts:%H:%M} to {ends:%H:%M} {zone}"
            if same_day and ends is not None
            else f"starting at {starts:%H:%M} {zone}"
        )
    online = event.attendance == Attendance.ONLINE or (event.attendance is None and event.online)
    attendance = "online" if online else CARD_ATTENDANCE.get(event.attendance, "in person")
    audience = getattr(event, "audience", None)
    return {
        "starts_on": starts.date().isoformat() if starts else None,
        "ends_on": ends.date().isoformat() if ends else None,
        "all_day": all_day,
        "time_label": time_label,
        "yearly": bool(event.recurrence),
        "place": None if online else (event.location or None),
        "attendance": attendance,
        "audience": audience if isinstance(audience, str) and audience else None,
        "url": event.url or None,
    }


def read_entries(custom: Any) -> list[dict[str, Any]]:
    """The events entries of a message's custom payload, each checked (a stored payload is
    shown back by the history page): the calendar address rebuilt from the slug, and only
    where the entry had one; the card fields kept as plain values of their type. An entry
    without card fields reads as `read_links` reads it."""
    found = custom.get(PAYLOAD_KEY) if isinstance(custom, Mapping) else None
    entries: list[dict[str, Any]] = []
    for entry in found if isinstance(found, list) else []:
        if not isinstance(entry, Mapping):
            continue
        slug, title = entry.get("slug"), entry.get("title")
        path = calendar_path(slug) if isinstance(slug, str) else None
        if not isinstance(title, str) or path is None:
            continue
        if "attendance" not in entry:  # an older payload: links only
            entries.append({"slug": slug, "title": title, "calendar_url": path})
            continue
        kept: dict[str, Any] = {
            "slug": slug,
            "title": title,
            "calendar_url": path if entry.get("calendar_url") else None,
        }
        for field in CARD_FIELDS:
            value = entry.get(field)
            if field in ("all_day", "yearly"):
                kept[field] = value is True
            elif field == "url":  # an address a page may link to: the web's, nothing else
                web = isinstance(value, str) and value.startswith(("https://", "http://"))
                kept[field] = value if web else None
            else:
                kept[field] = value if isinstance(value, str) else None
        entries.append(kept)
    return entries


def read_links(custom: Any) -> list[dict[str, str]]:
    """The calendar links in a message's custom payload, each checked (a stored payload is
    shown back by the history page), and nothing else of it."""
    found = custom.get(PAYLOAD_KEY) if isinstance(custom, Mapping) else None
    links = []
    for entry in found if isinstance(found, list) else []:
        if not isinstance(entry, Mapping):
            continue
        slug, title = entry.get("slug"), entry.get("title")
        if isinstance(slug, str) and isinstance(title, str) and calendar_path(slug):
            links.append({"slug": slug, "title": title, "calendar_url": calendar_path(slug)})
    return links


def event_uid(event: CalendarEvent) -> str:
    """Stable across fetches, so a client updates the event instead of adding it twice; an
    occurrence of a recurring event has its own (its local date), one per year."""
    if event.recurrence and event.starts_at is not None:
        day = event.local(event.starts_at).date()
        return f"{event.slug}-{day:%Y%m%d}@{UID_DOMAIN}"
    return f"{event.slug}@{UID_DOMAIN}"


def _calendar() -> Calendar:
    calendar = Calendar()
    calendar.add("PRODID", PRODUCT_ID)
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("METHOD", "PUBLISH")
    return calendar


def _vevent(event: CalendarEvent, now: dt.datetime) -> VEvent:
    vevent = VEvent()
    vevent.add("UID", event_uid(event))
    vevent.add("DTSTAMP", now.astimezone(dt.timezone.utc))
    vevent.add("SUMMARY", event.title)
    starts, ends = event.local(event.starts_at), event.local(event.ends_at)
    if is_all_day(starts, ends):
        # DTEND of a date is exclusive (RFC 5545): the day after the last one.
        last = (ends or starts).date()
        vevent.add("DTSTART", starts.date())
        vevent.add("DTEND", last + dt.timedelta(days=1))
    else:
        vevent.add("DTSTART", starts.astimezone(dt.timezone.utc))
        if ends is not None:
            vevent.add("DTEND", ends.astimezone(dt.timezone.utc))
    place = _location(event)
    if place:
        vevent.add("LOCATION", place)
    if event.url:
        vevent.add("URL", event.url)
    vevent.add("DESCRIPTION", _description(event))
    # RFC 5545 wants an address; we publish no one's e-mail, so the organiser's page stands in.
    organizer = vCalAddress(event.url or event.source_url)
    organizer.params["CN"] = vText(event.organiser)
    vevent.add("ORGANIZER", organizer)
    return vevent


def _location(event: CalendarEvent) -> str | None:
    online = event.attendance == Attendance.ONLINE or (event.attendance is None and event.online)
    if online:
        return "Online"
    if event.attendance == Attendance.HYBRID:
        return f"{event.location} and online" if event.location else "Online"
    return event.location


def _description(event: CalendarEvent) -> str:
    more = event.url or event.source_url
    text = (event.description or "").strip()
    return f"{text}\n\nMore: {more}" if text else f"More: {more}"
