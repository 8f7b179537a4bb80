"""The Events pages: the list with its filters, the add and edit form, retire and restore, and
each event's history. Uploads of .ics and .csv files are in event_upload.

Any staff member may read them; only editors and administrators may change anything (the
routes in bot.review.app say so with editor=True, and the templates then show no controls).
"""

from __future__ import annotations

import datetime as dt
from calendar import month_name
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from bot import curation, recurrence
from bot.dates import today
from bot.events import AUDIENCES, KINDS, TIMEZONE_BY_COUNTRY
from bot.models import Attendance, Event
from bot.review.context import Context
from bot.review.pages.curated import (
    Curated,
    countries_in,
    country_filter,
    country_names,
    edit_form,
    edit_row,
    history,
    lookup_session,
    paged,
    retire_or_restore,
    save_form,
    ticked,
)
from bot.review.pages.params import choice

EVENTS = Curated(Event, "/events", "event", lambda event: event.title)
WHEN = ("upcoming", "past", "all")
# The form's fields and their labels: what bot.curation.event_row_from_form reads, and the
# two time boxes beside the date boxes (a date alone is an all-day event).
LABELS = {
    "title": "Title",
    "kind": "Kind",
    "audience": "Audience",
    "organiser": "Organiser",
    "description": "Description",
    "starts_on": "Starts on",
    "starts_time": "Start time",
    "ends_on": "Ends on",
    "ends_time": "End time",
    "timezone": "Time zone",
    "recurrence": "Repeats",
    "online": "Online only",
    "hybrid": "Hybrid: in person and online",
    "location": "Place",
    "country": "Country",
    "url": "Event page",
    "source_url": "Source",
}


@dataclass(frozen=True)
class EventLine:
    """One row of the list: the event and how the list shows it."""

    event: Event
    when: str
    where: str
    # The next (or only) start: where the event sorts; None for a self-paced course.
    starts: dt.datetime | None
    upcoming: bool


def _day(moment: dt.datetime) -> str:
    return f"{moment.day} {month_name[moment.month]} {moment.year}"


def _dates(event: Event, starts: dt.datetime, ends: dt.datetime | None) -> str:
    """ "20 May 2027", "20 May 2027 to 22 May 2027", "20 May 2027, 14:00-15:30 CEST": in the
    event's own time zone, without a time for an all-day event (00:00 to 23:59)."""
    starts, ends = event.local(starts), event.local(ends)
    text = _day(starts)
    if ends is not None and ends.date() != starts.date():
        text += f" to {_day(ends)}"
    if starts.time() == dt.time.min and (ends is None or ends.time() >= dt.time(23, 59)):
        return text
    until = f"-{ends:%H:%M}" if ends is not None and ends.date() == starts.date() else ""
    zone = starts.strftime("%Z") or starts.strftime("UTC%z")
    return f"{text}, {starts:%H:%M}{until} {zone}"


def _yearly(event: Event, first: dt.datetime) -> str:
    """ "every year on 20 May" for the rules fixed days use (a month and a day of it, or the
    first date's), "every year on the last day of February" for BYMONTHDAY=-1; any other
    rule as written."""
    body = (event.recurrence or "").strip().upper().removeprefix("RRULE:")
    parts = dict(part.split("=", 1) for part in body.split(";") if "=" in part)
    month, day = parts.pop("BYMONTH", str(first.month)), parts.pop("BYMONTHDAY", str(first.day))
    if parts != {"FREQ": "YEARLY"} or not month.isdigit() or not day.lstrip("-").isdigit():
        return f"every year ({event.recurrence})"
    if day == "-1":
        return f"every year on the last day of {month_name[int(month)]}"
    return f"every year on {int(day)} {month_name[int(month)]}"


def event_line(event: Event, midnight: dt.datetime) -> EventLine:
    """How the list shows `event` on the day starting at `midnight` (UTC)."""
    where = _where(event)
    if event.starts_at is None:
        return EventLine(event, "self-paced", where, None, True)
    if event.recurrence:
        first = event.local(event.starts_at) or event.starts_at
        coming = next(recurrence.occurrences(event, after=midnight), None)
        last = coming or recurrence.last_before(event, midnight)
        when = _yearly(event, first)
        if last is not None:
            when += f" (next: {_dates(event, *last)})" if coming else f" (last: {_day(last[0])})"
        return EventLine(event, when, where, last[0] if last else None, coming is not None)
    ends = event.ends_at or event.starts_at
    when = _dates(event, event.starts_at, event.ends_at)
    return EventLine(event, when, where, event.starts_at, ends >= midnight)


def _where(event: Event) -> str:
    place = ", ".join(part for part in (event.location, event.country) if part)
    if event.attendance == Attendance.ONLINE:
        return "online"
    if event.attendance == Attendance.HYBRID:
        return f"{place or 'in person'} and online"
    return place or "place not given"


def _ordered(lines: list[EventLine], when: str) -> list[EventLine]:
    """Upcoming (and all): soonest first, self-paced courses last; past: latest first."""
    wanted = [line for line in lines if when == "all" or line.upcoming == (when == "upcoming")]
    far = dt.datetime.max.replace(tzinfo=dt.timezone.utc)
    wanted.sort(key=lambda line: line.event.title)
    wanted.sort(key=lambda line: line.starts or far, reverse=when == "past")
    return wanted


def events_list(context: Context) -> Response:
    params = {
        "when": choice(context, "when", WHEN, "upcoming"),
        "kind": choice(context, "kind", ("", *KINDS), ""),
        "audience": choice(context, "audience", ("", *AUDIENCES), ""),
        "country": country_filter(context),
        "retired": "1" if ticked(context, "retired") else "",
    }
    midnight = dt.datetime.combine(today(), dt.time.min, tzinfo=dt.timezone.utc)
    with lookup_session(context) as session:
        query = select(Event)
        if not params["retired"]:
            query = query.where(Event.retired_at.is_(None))
        for name in ("kind", "audience", "country"):
            if params[name]:
                query = query.where(getattr(Event, name) == params[name])
        lines = [event_line(event, midnight) for event in session.scalars(query)]
        return context.render(
            "events.html",
            section="events",
            params=params,
            page=paged(_ordered(lines, params["when"]), context),
            filtered=any(value for name, value in params.items() if name != "when"),
            whens=WHEN,
            kinds=KINDS,
            audiences=AUDIENCES,
            countries=countries_in(session, Event),
            country_names=country_names(),
        )


# --- The form ---------------------------------------------------------------------------------


def _split(value: str) -> tuple[str, str]:
    """ "2027-05-20T14:00" → ("2027-05-20", "14:00"); a date alone has no time."""
    day, _, time = value.partition("T")
    return day, time[:5]


def _shown(event: Event) -> dict[str, str]:
    """The form's boxes for a saved event: curation's fields, each moment as a date and a
    time box."""
    values = curation.event_form(event)
    values["starts_on"], values["starts_time"] = _split(values["starts_on"])
    values["ends_on"], values["ends_time"] = _split(values["ends_on"])
    return values


def _entered(context: Context) -> dict[str, str]:
    return {name: context.field(name).strip() for name in LABELS}


def _for_curation(form: Mapping[str, str]) -> dict[str, str]:
    """The posted boxes as curation reads them: a date and a time become "dateTtime"."""
    joined = dict(form)
    for prefix in ("starts", "ends"):
        day, time = form.get(f"{prefix}_on", ""), form.get(f"{prefix}_time", "")
        joined[f"{prefix}_on"] = f"{day}T{time}" if time else day
    return joined


def _save(session: Session, form: Mapping[str, str], staff: str, slug: str | None) -> Event:
    return curation.save_event(session, _for_curation(form), staff, slug)


def _form_page(
    context: Context,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
    event: Event | None = None,
) -> Response:
    return context.render(
        "events_form.html",
        status_code=status,
        section="events",
        event=event,
        labels=LABELS,
        values=values,
        errors=errors,
        kind_options=[(kind, kind.replace("_", " ")) for kind in KINDS],
        audience_options=[(audience, audience) for audience in AUDIENCES],
        country_names=country_names(),
        timezones=sorted(set(TIMEZONE_BY_COUNTRY.values())),
        general_error=errors.get(curation.FieldErrors.GENERAL),
    )


def event_new_form(context: Context) -> Response:
    return _form_page(context, dict.fromkeys(LABELS, "") | {"audience": "everyone"}, {})


def event_new(context: Context) -> Response:
    return save_form(context, EVENTS, _save, _entered(context), _form_page)


def event_edit_form(context: Context) -> Response:
    return edit_form(context, EVENTS, _shown, _form_page)


def event_edit(context: Context) -> Response:
    return edit_row(context, EVENTS, _save, _entered(context), _form_page)


def event_retire(context: Context) -> Response:
    return retire_or_restore(context, EVENTS, retiring=True)


def event_restore(context: Context) -> Response:
    return retire_or_restore(context, EVENTS, retiring=False)


def event_history(context: Context) -> Response:
    return history(context, EVENTS)
