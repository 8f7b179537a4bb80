"""`bot events import FILE`: events from a CSV file or an iCalendar (.ics) feed.

Every row goes through the same checks as the seed files (bot/seed.py); one bad row or a bad
file stops the import with a message naming the line or event, the field and the reason, and
nothing of the file is written.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

from bot.seed import EVENT_FIELDS, SeedError, check_event

CSV_REQUIRED = {"title", "kind", "organiser", "starts_at", "source_url"}


def slugify(*parts: str) -> str:
    text = "-".join(p for p in parts if p).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:120]


def _decode(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = path.read_bytes()[: error.start].count(b"\n") + 1
        raise SeedError(f"{path.name}, line {line}: the file is not UTF-8 text") from error


def _reject_past(values: dict[str, Any], where: str, today: dt.date) -> None:
    ends = values["ends_at"] or values["starts_at"]
    if ends is not None and ends.date() < today:
        raise SeedError(f"{where}: the event is in the past ({ends.date().isoformat()})")


def read_csv(path: Path, today: dt.date, allow_past: bool = False) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(_decode(path)))
    columns = set(reader.fieldnames or [])
    unknown, missing = columns - EVENT_FIELDS, CSV_REQUIRED - columns
    if unknown or missing:
        problems = []
        if missing:
            problems.append(f"missing column(s) {', '.join(sorted(missing))}")
        if unknown:
            problems.append(f"unknown column(s) {', '.join(sorted(unknown))}")
        raise SeedError(
            f"{path.name}, line 1: {'; '.join(problems)} "
            f"(allowed: {', '.join(sorted(EVENT_FIELDS))})"
        )
    rows = []
    for row in reader:
        where = f"{path.name}, line {reader.line_num}"
        row = {k: (v.strip() if isinstance(v, str) else v) for k, v in row.items()}
        row["slug"] = row.get("slug") or slugify(
            row.get("title", ""), row.get("starts_at", "")[:10]
        )
        values = check_event(row, where)
        if not allow_past:
            _reject_past(values, where, today)
        rows.append(values)
    return rows


def read_ics(
    path: Path,
    today: dt.date,
    kind: str,
    organiser: str,
    audience: str = "everyone",
    source_url: str | None = None,
    allow_past: bool = False,
) -> list[dict[str, Any]]:
    from icalendar import Calendar

    try:
        calendar = Calendar.from_ical(_decode(path))
    except ValueError as error:
        raise SeedError(f"{path.name}: not a valid iCalendar file ({error})") from error
    rows = []
    for index, component in enumerate(calendar.walk("VEVENT"), start=1):
        title = str(component.get("SUMMARY", "")).strip()
        where = f"{path.name}, event {index} ({title or 'no title'})"
        start, end = component.get("DTSTART"), component.get("DTEND")
        url = str(component.get("URL", "")) or None
        row = {
            "slug": slugify(str(component.get("UID", "")) or title),
            "title": title,
            "kind": kind,
            "organiser": organiser,
            "audience": audience,
            "starts_at": _ics_datetime(start.dt if start else None, "DTSTART", where),
            "ends_at": _ics_datetime(end.dt if end else None, "DTEND", where),
            "online": "online" in str(component.get("LOCATION", "")).lower(),
            "location": str(component.get("LOCATION", "")) or None,
            "url": url,
            "description": str(component.get("DESCRIPTION", "")) or None,
            "source_url": source_url or url,
        }
        values = check_event(row, where)
        if not allow_past:
            _reject_past(values, where, today)
        rows.append(values)
    return rows


def _ics_datetime(value: Any, field: str, where: str) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, dt.datetime):  # an all-day date: no time, so no timezone needed
        return dt.datetime.combine(value, dt.time.min, tzinfo=dt.timezone.utc)
    if value.tzinfo is None:
        raise SeedError(f"{where}: {field} has no timezone (use UTC or a TZID)")
    return value
