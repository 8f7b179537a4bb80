"""Events from a CSV file or an iCalendar (.ics) feed: `bot events import FILE` and the review
app's upload (bot/curation.py `preview_import`).

Every row goes through the same checks as the seed files (bot/seed.py `check_event`).
`parse_upload` returns every row, good or refused with its reason, so a preview can list all
of them at once; `read_csv`/`read_ics` (the command line) stop at the first bad row, with a
message naming the line or event, the field and the reason, and nothing of the file is
written. Both read a file the same way: only the last step differs.

An .ics event says most things itself: its organiser (ORGANIZER's CN), its kind
(CATEGORIES), its address (URL), where it is held (LOCATION) and its time zone (TZID, or the
calendar's X-WR-TIMEZONE). The importer's defaults (`IcsDefaults`) fill only what it leaves
out, so one feed may mix webinars and conferences of several organisers.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot import recurrence
from bot.models import Attendance, Event
from bot.seed import EVENT_FIELDS, SeedError, check_event

CSV_REQUIRED = {"title", "kind", "organiser", "starts_at", "source_url"}

# All-day events carry no time zone; their day is read in the calendar's (X-WR-TIMEZONE),
# else in ECRIN's seat's, as the review form does for a day without a zone.
ALL_DAY_ZONE = "Europe/Paris"

# A CATEGORIES word → our kind; the first category that names one wins.
_KIND_OF_CATEGORY: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\bwebinars?\b"), "webinar"),
    (re.compile(r"\b(trainings?|workshops?)\b"), "training"),
    (re.compile(r"\b(courses?|e-?learning)\b"), "course"),
    (re.compile(r"\b(conferences?|congress(es)?|symposi(um|a))\b"), "conference"),
    (re.compile(r"\b(awareness|days?)\b|awareness_day"), "awareness_day"),
]
_ONLINE = re.compile(r"\b(online|virtual|zoom|teams|webinar)\b", re.I)
_HYBRID = re.compile(r"\bhybrid\b", re.I)
NO_KIND = "no kind: add CATEGORIES or choose a default kind"
NO_ORGANISER = "no organiser: add ORGANIZER;CN=… or choose a default organiser"


@dataclass(frozen=True)
class ParsedRow:
    """One row of an uploaded file: its checked values, or why it was refused.

    A preview (bot/curation.py) shows every refusal at once, so a bad row is data here rather
    than an exception; `where` names the line or event as the CLI's messages do.
    """

    where: str
    values: dict[str, Any] | None
    error: str | None


@dataclass(frozen=True)
class IcsDefaults:
    """What an event that does not say it itself gets: a calendar feed often names neither
    its kind nor its organiser, and the person importing it knows both."""

    kind: str | None = None
    organiser: str | None = None
    audience: str = "everyone"
    source_url: str | None = None


# Frozen, so one shared instance is a safe default argument.
NO_DEFAULTS = IcsDefaults()


def slugify(*parts: str) -> str:
    text = "-".join(p for p in parts if p).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:120]


def parse_upload(
    filename: str,
    content: bytes,
    today: dt.date,
    defaults: IcsDefaults = NO_DEFAULTS,
    allow_past: bool = False,
) -> list[ParsedRow]:
    """Every event of an uploaded .csv or .ics file, checked; a bad row is a ParsedRow with
    `error` set. Raises SeedError for a file that cannot be read at all (wrong type, not
    UTF-8, not iCalendar, CSV columns we do not know, no event in it)."""
    # Browsers may send a path ("C:\\fakepath\\feed.ics"): only the name is shown back.
    name = re.split(r"[\\/]", filename)[-1] or "upload"
    suffix = Path(name).suffix.lower()
    if suffix == ".csv":
        return _csv_rows(name, _decode(name, content), today, allow_past)
    if suffix == ".ics":
        return _ics_rows(name, _decode(name, content), today, defaults, allow_past)
    raise SeedError(f"{name}: expected a .csv or .ics file")


def read_csv(path: Path, today: dt.date, allow_past: bool = False) -> list[dict[str, Any]]:
    """The checked rows of a CSV file; SeedError at its first bad row."""
    return _all_or_error(_csv_rows(path.name, _read(path), today, allow_past))


def read_ics(
    path: Path,
    today: dt.date,
    kind: str | None = None,
    organiser: str | None = None,
    audience: str = "everyone",
    source_url: str | None = None,
    allow_past: bool = False,
) -> list[dict[str, Any]]:
    """The checked events of an .ics file, `kind` and `organiser` filling in what an event
    does not say; SeedError at its first bad event."""
    defaults = IcsDefaults(kind, organiser, audience, source_url)
    return _all_or_error(_ics_rows(path.name, _read(path), today, defaults, allow_past))


def _all_or_error(rows: list[ParsedRow]) -> list[dict[str, Any]]:
    for row in rows:
        if row.error is not None:
            raise SeedError(f"{row.where}: {row.error}")
    return [row.values for row in rows if row.values is not None]


def _read(path: Path) -> str:
    return _decode(path.name, path.read_bytes())


def _decode(name: str, content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = content[: error.start].count(b"\n") + 1
        raise SeedError(f"{name}, line {line}: the file is not UTF-8 text") from error


class _Refused(Exception):
    """A row's reason for refusal, without its place (ParsedRow keeps that apart)."""


def _checked(
    row: dict[str, Any], where: str, today: dt.date, allow_past: bool, seen: dict[str, str]
) -> ParsedRow:
    """`row` through the seed's checks, the past and the file's other slugs."""
    try:
        values = check_event(row, where)
    except SeedError as error:
        # check_event names the place first; a ParsedRow keeps place and reason apart.
        return ParsedRow(where, None, str(error).removeprefix(f"{where}: "))
    try:
        if not allow_past:
            _reject_past(values, today)
    except _Refused as error:
        return ParsedRow(where, None, str(error))
    first = seen.setdefault(values["slug"], where)
    if first != where:
        return ParsedRow(where, None, f"the same event as {first} (slug {values['slug']})")
    return ParsedRow(where, values, None)


def _reject_past(values: dict[str, Any], today: dt.date) -> None:
    """An event that is over is refused; a day held every year is over only when its rule
    ends before today."""
    if values.get("recurrence") and values["starts_at"] is not None:
        midnight = dt.datetime.combine(today, dt.time.min, tzinfo=dt.timezone.utc)
        if next(recurrence.occurrences(Event(**values), after=midnight), None) is None:
            raise _Refused("the repeating event has no date from today on")
        return
    ends = values["ends_at"] or values["starts_at"]
    if ends is not None and ends.date() < today:
        raise _Refused(f"the event is in the past ({ends.date().isoformat()})")


# --- CSV ---------------------------------------------------------------------------------------


def _csv_rows(name: str, text: str, today: dt.date, allow_past: bool) -> list[ParsedRow]:
    reader = csv.DictReader(io.StringIO(text))
    try:
        return _read_csv_rows(reader, name, today, allow_past)
    except csv.Error as error:  # e.g. a cell over csv's field size limit, a NUL byte
        raise SeedError(
            f"{name}, line {reader.line_num}: not a readable CSV file ({error})"
        ) from None


def _read_csv_rows(
    reader: csv.DictReader, name: str, today: dt.date, allow_past: bool
) -> list[ParsedRow]:
    columns = set(reader.fieldnames or [])
    unknown, missing = columns - EVENT_FIELDS, CSV_REQUIRED - columns
    if unknown or missing:
        problems = []
        if missing:
            problems.append(f"missing column(s) {', '.join(sorted(missing))}")
        if unknown:
            problems.append(f"unknown column(s) {', '.join(sorted(unknown))}")
        raise SeedError(
            f"{name}, line 1: {'; '.join(problems)} "
            f"(allowed: {', '.join(sorted(EVENT_FIELDS))})"
        )
    rows: list[ParsedRow] = []
    seen: dict[str, str] = {}
    for row in reader:
        where = f"{name}, line {reader.line_num}"
        row = {k: (v.strip() if isinstance(v, str) else v) for k, v in row.items()}
        if None in row:  # more cells than columns: csv keeps them under the key None
            rows.append(ParsedRow(where, None, "more cells than the header has columns"))
            continue
        row["slug"] = row.get("slug") or slugify(
            row.get("title") or "", (row.get("starts_at") or "")[:10]
        )
        rows.append(_checked(row, where, today, allow_past, seen))
    return rows


# --- iCalendar ---------------------------------------------------------------------------------


def _ics_rows(
    name: str, text: str, today: dt.date, defaults: IcsDefaults, allow_past: bool
) -> list[ParsedRow]:
    from icalendar import Calendar

    try:
        calendar = Calendar.from_ical(text)
    except ValueError as error:
        raise SeedError(f"{name}: not a valid iCalendar file ({error})") from error
    calendar_zone = _iana(str(calendar.get("X-WR-TIMEZONE", "")).strip())
    rows: list[ParsedRow] = []
    seen: dict[str, str] = {}
    for index, component in enumerate(calendar.walk("VEVENT"), start=1):
        title = str(component.get("SUMMARY", "")).strip()
        where = f"{name}, event {index} ({title or 'no title'})"
        try:
            row = _ics_row(component, title, defaults, calendar_zone)
        except _Refused as error:
            rows.append(ParsedRow(where, None, str(error)))
            continue
        rows.append(_checked(row, where, today, allow_past, seen))
    if not rows:
        raise SeedError(f"{name}: the file holds no event (no VEVENT)")
    return rows


def _ics_row(
    component: Any, title: str, defaults: IcsDefaults, calendar_zone: str | None
) -> dict[str, Any]:
    """The seed row an event describes, before the seed's checks (which refuse a rule that
    is not yearly); _Refused for what they cannot see (no kind or organiser, a cancelled
    event, a date-time without a zone)."""
    if str(component.get("STATUS", "")).upper() == "CANCELLED":
        raise _Refused("the event is cancelled (STATUS:CANCELLED)")
    if component.get("RECURRENCE-ID") is not None:
        raise _Refused("a changed date of a repeating event (RECURRENCE-ID) is not supported")
    kind = _kind(component) or defaults.kind
    if not kind:
        raise _Refused(NO_KIND)
    organiser = _organiser(component) or defaults.organiser
    if not organiser:
        raise _Refused(NO_ORGANISER)
    location = _text(component, "LOCATION")
    attendance = _attendance(location)
    if attendance == Attendance.ONLINE:
        # "Zoom" or "Microsoft Teams Meeting" is a platform, not a place to show or to name
        # the local time after.
        location = None
    url = _text(component, "URL")
    starts_at, ends_at, zone = _ics_times(component, calendar_zone)
    row: dict[str, Any] = {
        "slug": slugify(_text(component, "UID") or title),
        "title": title,
        "kind": kind,
        "organiser": organiser,
        "audience": defaults.audience,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "attendance": attendance,
        "location": location,
        "url": url,
        "description": _text(component, "DESCRIPTION"),
        "source_url": defaults.source_url or url,
        "timezone": zone,
    }
    rule = _rrule(component)
    if rule:
        row["recurrence"] = rule
    return row


def _single(component: Any, name: str) -> Any:
    value = component.get(name)
    if isinstance(value, list):
        raise _Refused(f"{name} appears {len(value)} times")
    return value


def _text(component: Any, name: str) -> str | None:
    value = _single(component, name)
    return (str(value).strip() or None) if value is not None else None


def _kind(component: Any) -> str | None:
    """Our kind for the first of the event's CATEGORIES that names one."""
    found = component.get("CATEGORIES")
    properties = found if isinstance(found, list) else [found] if found is not None else []
    for category in (str(c).lower() for p in properties for c in getattr(p, "cats", [p])):
        for pattern, kind in _KIND_OF_CATEGORY:
            if pattern.search(category):
                return kind
    return None


def _organiser(component: Any) -> str | None:
    """ORGANIZER's common name. Its mailto address is not a name ("info@eupati.eu" is
    not "EUPATI"), so without a CN the default organiser is used."""
    organizer = _single(component, "ORGANIZER")
    name = str(organizer.params.get("CN", "")).strip() if organizer is not None else ""
    return name or None


def _attendance(location: str | None) -> str:
    if location and _HYBRID.search(location):
        return Attendance.HYBRID
    if location and _ONLINE.search(location):
        return Attendance.ONLINE
    return Attendance.IN_PERSON


def _iana(name: str | None) -> str | None:
    """`name` if it is an IANA time zone this machine knows, else None."""
    if not name or name not in available_timezones():
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def _zone_name(moment: dt.datetime) -> str | None:
    """The IANA name of an aware datetime's zone: pytz's (icalendar's TZID and Outlook's
    Windows names) or zoneinfo's; None for UTC and for a VTIMEZONE of another name."""
    tzinfo = moment.tzinfo
    name = getattr(tzinfo, "zone", None) or getattr(tzinfo, "key", None)
    return None if name in (None, "UTC", "Etc/UTC") else _iana(str(name))


def _ics_times(
    component: Any, calendar_zone: str | None
) -> tuple[dt.datetime | None, dt.datetime | None, str | None]:
    """(starts_at, ends_at, IANA zone) from DTSTART and DTEND or DURATION.

    A time in a named zone keeps it; a UTC or floating time is read in the calendar's zone
    (Google writes UTC times and names the calendar's zone apart); an all-day event runs
    00:00 to 23:59 local time from its first day to the day before DTEND (which RFC 5545 makes
    exclusive)."""
    start = _single(component, "DTSTART")
    if start is None:
        return None, None, None
    end, duration = _single(component, "DTEND"), _single(component, "DURATION")
    first = start.dt
    if not isinstance(first, dt.datetime):  # VALUE=DATE: all day
        zone = ZoneInfo(calendar_zone or ALL_DAY_ZONE)
        last = first
        if end is not None and not isinstance(end.dt, dt.datetime) and end.dt > first:
            last = end.dt - dt.timedelta(days=1)
        elif duration is not None and duration.dt.days > 1:
            last = first + dt.timedelta(days=duration.dt.days - 1)
        return (
            dt.datetime.combine(first, dt.time.min, tzinfo=zone),
            dt.datetime.combine(last, dt.time(23, 59), tzinfo=zone),
            zone.key,
        )
    if end is not None:
        finish = end.dt
        if not isinstance(finish, dt.datetime):
            raise _Refused("DTSTART is a date-time but DTEND is a date")
    else:
        finish = first + duration.dt if duration is not None else None
    zone_name = _zone_name(first) if first.tzinfo else None
    if first.tzinfo is None and calendar_zone is None:
        raise _Refused("DTSTART has no timezone (use UTC or a TZID)")
    zone_name = zone_name or calendar_zone
    return _in_zone(first, zone_name), _in_zone(finish, zone_name), zone_name


def _in_zone(moment: dt.datetime | None, zone_name: str | None) -> dt.datetime | None:
    """`moment` in the zone `zone_name` (a floating time is taken as local there), or at its
    own fixed UTC offset when no IANA zone is known (pytz's tzinfo is not kept)."""
    if moment is None:
        return None
    if zone_name is not None:
        zone = ZoneInfo(zone_name)
        if moment.tzinfo is None:
            return moment.replace(tzinfo=zone)
        return moment.astimezone(zone)
    if moment.tzinfo is None:
        raise _Refused("DTEND has no timezone (use UTC or a TZID)")
    offset = moment.utcoffset()
    return moment.astimezone(dt.timezone(offset) if offset else dt.timezone.utc)


def _rrule(component: Any) -> str | None:
    """The event's RRULE as text; bot.seed.check_event accepts only yearly ones (what
    bot/recurrence.py expands) and refuses the others with the reason."""
    rule = _single(component, "RRULE")
    return rule.to_ical().decode() if rule is not None else None
