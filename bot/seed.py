"""Load curated rows into the database, idempotently and all-or-nothing.

Rows are matched by `slug`: re-running updates them and never duplicates them. Every row is
checked first; one bad row raises `SeedError` naming the file, the row and the field, and the
caller's transaction writes nothing. `bot db seed` loads `data/db/*.yml`; `bot events import`
(bot/importer.py) feeds CSV and iCalendar rows through the same checks.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.countries import gazetteer
from bot.events import AUDIENCES, KINDS, TIMEZONE_BY_COUNTRY
from bot.models import Attendance, CrisisLine, DataChange, Event, Partner, PartnerKind
from bot.recurrence import RecurrenceError, parse_rule
from bot.settings import PROJECT_ROOT

SEED_DIR = PROJECT_ROOT / "data" / "db"
PARTNER_FILES = ("partners.yml", "eupati_platforms.yml")
EVENT_FILES = ("events.yml",)
CRISIS_LINE_FILES = ("crisis_lines.yml",)

PARTNER_FIELDS = {
    "slug", "kind", "name", "acronym", "country", "city", "website", "contact_url", "contact",
    "ecrin_status", "status_since", "source_url", "last_checked",
}  # fmt: skip
EVENT_FIELDS = {
    "slug", "title", "kind", "organiser", "audience", "starts_at", "ends_at", "online",
    "location", "country", "url", "description", "source_url", "attendance", "timezone",
    "recurrence", "last_checked",
}  # fmt: skip
CRISIS_LINE_FIELDS = {
    "slug", "country", "rank", "name", "phone", "hours", "notes", "website", "source_url",
    "last_checked",
}  # fmt: skip
# Digits and spaces, and "A or B" for two numbers: what `bot.answers.phone_numbers` reads
# back out of an answer, so every number said to a user is one of these (ALLOWED_PHONES).
CRISIS_PHONE = re.compile(r"^\d[\d ]*\d( or \d[\d ]*\d)?$")


class SeedError(ValueError):
    """A row is invalid; the message names where (file and row), the field and the reason."""


@dataclass
class SeedReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    # Rows staff have changed in the review app: the database's version wins over the file's.
    kept: int = 0

    def __str__(self) -> str:
        text = f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"
        return text + (f", {self.kept} kept as staff edited them" if self.kept else "")


def _require(row: dict[str, Any], fields: set[str], required: set[str], where: str) -> None:
    unknown = set(row) - fields
    if unknown:
        raise SeedError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    missing = sorted(f for f in required if row.get(f) in (None, ""))
    if missing:
        raise SeedError(f"{where}: missing field(s) {', '.join(missing)}")


def _check_country(value: Any, where: str) -> str | None:
    if value in (None, ""):
        return None
    country = str(value)
    if len(country) != 2 or not country.isupper():
        raise SeedError(f"{where}: country must be an ISO 3166-1 code like 'FR', got {country!r}")
    return country


def check_partner(row: dict[str, Any], where: str) -> dict[str, Any]:
    _require(
        row,
        PARTNER_FIELDS,
        {"slug", "kind", "name", "country", "source_url", "last_checked"},
        where,
    )
    if row["kind"] not in PartnerKind.ALL:
        raise SeedError(f"{where}: kind must be one of {', '.join(PartnerKind.ALL)}")
    for date_field in ("status_since", "last_checked"):
        value = row.get(date_field)
        if value is not None and not isinstance(value, dt.date):
            raise SeedError(f"{where}: {date_field} must be a date (YYYY-MM-DD)")
    for url_field in ("website", "contact_url", "source_url"):
        value = row.get(url_field)
        if value not in (None, "") and not str(value).startswith(("https://", "http://")):
            raise SeedError(f"{where}: {url_field} must be a web address, got {value!r}")
    values = {field: row.get(field) for field in PARTNER_FIELDS}
    values["country"] = _check_country(row["country"], where)
    return values


def _datetime(value: Any, field: str, where: str) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError as error:
            raise SeedError(f"{where}: {field} {value!r} is not an ISO 8601 date-time") from error
    if not isinstance(value, dt.datetime):
        raise SeedError(f"{where}: {field} must be a date-time with a timezone")
    if value.tzinfo is None:
        raise SeedError(f"{where}: {field} {value.isoformat()} has no timezone (add e.g. +02:00)")
    return value


def check_event(row: dict[str, Any], where: str) -> dict[str, Any]:
    _require(row, EVENT_FIELDS, {"slug", "title", "kind", "organiser", "source_url"}, where)
    if row["kind"] not in KINDS:
        raise SeedError(f"{where}: kind must be one of {', '.join(KINDS)}, got {row['kind']!r}")
    audience = row.get("audience") or "everyone"
    if audience not in AUDIENCES:
        raise SeedError(
            f"{where}: audience must be one of {', '.join(AUDIENCES)}, got {audience!r}"
        )
    starts_at = _datetime(row.get("starts_at"), "starts_at", where)
    ends_at = _datetime(row.get("ends_at"), "ends_at", where)
    if ends_at and not starts_at:
        raise SeedError(f"{where}: ends_at is set but starts_at is not")
    if starts_at and ends_at and ends_at < starts_at:
        raise SeedError(
            f"{where}: the event ends ({ends_at.isoformat()}) "
            f"before it starts ({starts_at.isoformat()})"
        )
    online = row.get("online", False)
    if isinstance(online, str):
        online = online.strip().lower() in ("true", "yes", "1")
    attendance = _attendance(row.get("attendance"), bool(online), "online" in row, where)
    country = _check_country(row.get("country"), where)
    recurrence = _recurrence(row.get("recurrence"), starts_at, where)
    last_checked = row.get("last_checked") or None
    if last_checked is not None and not isinstance(last_checked, dt.date):
        raise SeedError(f"{where}: last_checked must be a date (YYYY-MM-DD)")
    values = {field: row.get(field) or None for field in EVENT_FIELDS}
    offset = starts_at.utcoffset() if starts_at else None
    values |= {
        "utc_offset_minutes": int(offset.total_seconds() // 60) if offset is not None else None,
        "audience": audience,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "online": attendance == Attendance.ONLINE,
        "attendance": attendance,
        "country": country,
        "timezone": _timezone(row.get("timezone"), country, starts_at, ends_at, where),
        "recurrence": recurrence,
        "last_checked": last_checked,
    }
    return values


def _recurrence(value: Any, starts_at: dt.datetime | None, where: str) -> str | None:
    """A yearly RRULE, kept as written; it repeats the first occurrence, so that is required."""
    if value in (None, ""):
        return None
    if starts_at is None:
        raise SeedError(f"{where}: recurrence needs starts_at (the first occurrence)")
    try:
        parse_rule(str(value), starts_at)
    except RecurrenceError as error:
        raise SeedError(f"{where}: recurrence {error}") from error
    return str(value).strip()


def _attendance(value: Any, online: bool, online_given: bool, where: str) -> str:
    """in_person, online or hybrid; without it, `online` says which of the first two."""
    if value in (None, ""):
        return Attendance.ONLINE if online else Attendance.IN_PERSON
    attendance = str(value).strip().lower().replace("-", "_").replace(" ", "_")
    if attendance not in Attendance.ALL:
        raise SeedError(
            f"{where}: attendance must be one of {', '.join(Attendance.ALL)}, got {value!r}"
        )
    if online_given and online != (attendance == Attendance.ONLINE):
        raise SeedError(
            f"{where}: online is {str(online).lower()} but attendance is {attendance} "
            "(online: true is for online-only events)"
        )
    return attendance


def _agrees(zone: dt.tzinfo, *moments: dt.datetime | None) -> bool:
    return all(m is None or m.astimezone(zone).utcoffset() == m.utcoffset() for m in moments)


def _timezone(
    value: Any,
    country: str | None,
    starts_at: dt.datetime | None,
    ends_at: dt.datetime | None,
    where: str,
) -> str | None:
    """The organisers' IANA time zone: as given, or the event's country's when that agrees
    with the offsets the times were written with (otherwise the offsets alone are kept)."""
    if value in (None, ""):
        name = TIMEZONE_BY_COUNTRY.get(country or "")
        return name if name and _agrees(ZoneInfo(name), starts_at, ends_at) else None
    try:
        zone = ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise SeedError(
            f"{where}: timezone {value!r} is not an IANA time zone like 'Europe/Brussels'"
        ) from error
    if not _agrees(zone, starts_at, ends_at):
        raise SeedError(
            f"{where}: the times' UTC offsets do not match timezone {value} on those dates"
        )
    return str(value)


def upsert(
    session: Session, model: type, rows: Iterable[dict[str, Any]], keep: set[str] = frozenset()
) -> SeedReport:
    """Insert or update checked rows by slug, leaving the rows whose slug is in `keep`."""
    report = SeedReport()
    for values in rows:
        if values["slug"] in keep:
            report.kept += 1
            continue
        existing = session.scalars(select(model).where(model.slug == values["slug"])).first()
        if existing is None:
            session.add(model(**values))
            report.created += 1
        elif any(getattr(existing, key) != value for key, value in values.items()):
            for key, value in values.items():
                setattr(existing, key, value)
            report.updated += 1
        else:
            report.unchanged += 1
    session.flush()
    return report


def _load(path: Path, key: str, check) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    rows = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get(key) or []
    checked, seen = [], set()
    for index, row in enumerate(rows, start=1):
        values = check(row, f"{path.name}, {key[:-1]} {index} ({row.get('slug')})")
        if values["slug"] in seen:
            raise SeedError(f"{path.name}: slug {values['slug']!r} appears twice")
        seen.add(values["slug"])
        checked.append(values)
    return checked


def edited_by_staff(session: Session, model: type) -> set[str]:
    """Slugs of the rows staff have added, changed, retired or restored in the review app.

    Every release re-runs the seed (bot/processes.py, the migrate step): without this, the
    files would undo the staff's corrections at each deployment. Once staff touch a row, the
    database holds its truth; the files only add rows they have never seen.
    """
    return set(
        session.scalars(
            select(DataChange.slug).where(DataChange.table_name == model.__tablename__)
        ).all()
    )


def seed_partners(session: Session, *paths: Path) -> SeedReport:
    paths = paths or tuple(SEED_DIR / name for name in PARTNER_FILES)
    rows = [r for p in paths for r in _load(p, "partners", check_partner)]
    return upsert(session, Partner, rows, keep=edited_by_staff(session, Partner))


def seed_events(session: Session, *paths: Path) -> SeedReport:
    paths = paths or tuple(SEED_DIR / name for name in EVENT_FILES)
    rows = [r for p in paths for r in _load(p, "events", check_event)]
    return upsert(session, Event, rows, keep=edited_by_staff(session, Event))


def check_crisis_line(row: dict[str, Any], where: str) -> dict[str, Any]:
    """A crisis line is said to people in distress: a source page and a check date are
    required, and the number must read back exactly as dialled."""
    required = {"slug", "country", "name", "phone", "source_url", "last_checked"}
    _require(row, CRISIS_LINE_FIELDS, required, where)
    country = _check_country(row["country"], where)
    if country not in gazetteer().countries:
        raise SeedError(f"{where}: country {country} is not in data/db/countries.yml")
    phone = str(row["phone"]).strip()
    if not CRISIS_PHONE.match(phone):
        raise SeedError(
            f"{where}: phone must be digits and spaces (two numbers: 'A or B'), got {phone!r}"
        )
    for url_field in ("source_url", "website"):
        url = row.get(url_field)
        if url and not str(url).startswith(("https://", "http://")):
            raise SeedError(f"{where}: {url_field} must be a web address, got {url!r}")
    if not isinstance(row["last_checked"], dt.date):
        raise SeedError(f"{where}: last_checked must be a date (YYYY-MM-DD)")
    hours = row.get("hours") or None
    if hours and str(hours)[0].isdigit():
        # "24 hours" right after the number would read as part of it.
        raise SeedError(f"{where}: hours must start with a word, like 'free, 24 hours a day'")
    rank = row.get("rank", 1)
    if not isinstance(rank, int) or isinstance(rank, bool) or rank < 1:
        raise SeedError(f"{where}: rank must be a whole number from 1, got {rank!r}")
    values = {field: row.get(field) or None for field in CRISIS_LINE_FIELDS}
    values |= {"country": country, "phone": phone, "rank": rank, "hours": hours}
    return values


def seed_crisis_lines(session: Session, *paths: Path) -> SeedReport:
    paths = paths or tuple(SEED_DIR / name for name in CRISIS_LINE_FILES)
    rows = [r for p in paths for r in _load(p, "crisis_lines", check_crisis_line)]
    return upsert(session, CrisisLine, rows)
