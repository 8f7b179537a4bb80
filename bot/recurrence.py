"""Days held every year (International Clinical Trials Day, Rare Disease Day…) as events that
never go stale.

A recurring row stores its first occurrence in `starts_at`/`ends_at` and an iCalendar RRULE
(RFC 5545) in `recurrence`. Occurrences are computed in the event's own time zone, so "20 May,
all day" stays 20 May 00:00 to 23:59 local time across summer-time changes. Only yearly rules are
accepted: they are what fixed days need, and they keep every query bounded (one occurrence a
year).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from dateutil.rrule import rrule, rrulestr

from bot.models import Event

# Far enough for "events in 2040" and no further: a rule without an end stops here.
MAX_YEARS_AHEAD = 30


class RecurrenceError(ValueError):
    """A rule that is not a yearly RRULE this module can expand."""


def parse_rule(text: str, first: dt.datetime) -> rrule:
    """The yearly rule `text` (with or without the "RRULE:" prefix) starting at `first`."""
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[len("RRULE:") :]
    try:
        rule = rrulestr(body, dtstart=first.replace(tzinfo=None), forceset=False)
    except (ValueError, TypeError) as error:
        raise RecurrenceError(f"{text!r} is not an iCalendar RRULE ({error})") from error
    frequency = dict(part.split("=", 1) for part in body.upper().split(";") if "=" in part)
    if not isinstance(rule, rrule) or frequency.get("FREQ") != "YEARLY":
        raise RecurrenceError(
            f"{text!r} does not repeat yearly (use FREQ=YEARLY, e.g. "
            "FREQ=YEARLY;BYMONTH=5;BYMONTHDAY=20)"
        )
    if rule.after(first.replace(tzinfo=None), inc=True) is None:
        raise RecurrenceError(f"{text!r} never happens (check BYMONTH and BYMONTHDAY)")
    return rule


def _local_start_and_length(event: Event) -> tuple[dt.datetime, dt.timedelta, dt.tzinfo]:
    zone = event.zone or dt.timezone.utc
    starts = event.starts_at.astimezone(zone)
    ends = event.ends_at.astimezone(zone) if event.ends_at else starts
    # Wall-clock length: an all-day 00:00 to 23:59 stays so on a day with a clock change.
    length = ends.replace(tzinfo=None) - starts.replace(tzinfo=None)
    return starts, length, zone


def occurrences(
    event: Event, after: dt.datetime | None = None, before: dt.datetime | None = None
) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """(start, end) of each occurrence of a recurring `event` that ends on or after `after`
    and starts before `before`, in order, as timezone-aware datetimes."""
    if not event.recurrence or event.starts_at is None:
        return
    starts, length, zone = _local_start_and_length(event)
    rule = parse_rule(event.recurrence, starts)
    horizon = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=366 * MAX_YEARS_AHEAD)
    if before is None or before > horizon:
        before = horizon
    # Rules are expanded in wall-clock time and placed in the zone afterwards.
    begin = starts.replace(tzinfo=None)
    if after is not None:
        begin = max(begin, (after.astimezone(zone) - length).replace(tzinfo=None))
    for local in rule.xafter(begin, inc=True):
        start = local.replace(tzinfo=zone)
        if start >= before:
            return
        end = (local + length).replace(tzinfo=zone)
        if after is None or end >= after:
            yield start, end


def as_occurrence(event: Event, starts: dt.datetime, ends: dt.datetime) -> Event:
    """A copy of `event` dated from `starts` to `ends`, outside any session (nothing is written), so
    the answer's wording and the calendar feed treat it like any dated event."""
    columns = {column.name: getattr(event, column.name) for column in Event.__table__.columns}
    copy = Event(**columns)
    copy.starts_at, copy.ends_at = starts, ends
    return copy
