"""Every change staff make to events and partners, validated and audited.

The review app's pages, its uploads and the `bot data` commands all change the lookup data
here, so that one set of rules applies everywhere: the seed's checks (bot/seed.py) decide what
is valid, and bot/audit.py records who changed what. Nothing is ever half-saved: every check
runs before anything is written, and the row and its DataChange go into the caller's session,
whose transaction commits both or neither. The assistant queries the database on every
message, so a committed change is answered at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import audit
from bot.dates import today
from bot.events import AUDIENCES, KINDS, TIMEZONE_BY_COUNTRY
from bot.importer import ParsedRow, slugify
from bot.models import Attendance, Event, Partner, PartnerKind
from bot.seed import SeedError, SeedReport, check_event, check_partner, upsert

# Where an event with neither a time zone nor a country is held: ECRIN's seat, Paris.
DEFAULT_TIMEZONE = "Europe/Paris"
CHECKED = ("on", "true", "1", "yes")  # what an HTML checkbox or a CLI flag sends for "ticked"
GIVE_A_DATE = "Give a date like 2027-05-20, or a date and time like 2027-05-20T14:00"
WEB_ADDRESS = "Give a web address starting with https://"
COUNTRY_CODE = "Give a two-letter country code like FR"
DAY_ONLY = len("2027-05-20")  # a date without a time: the event lasts all that day


class FieldErrors(ValueError):
    """A form that cannot be saved: `errors` maps each bad form field to a message in plain
    words (all of them at once). A problem no single field explains is under `GENERAL`."""

    GENERAL = "form"

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class _Rule:
    """One check of the seed's, run on `fields` alone over a row known to be valid (`base`):
    so a failure is that field's, and staff see every bad field, not only the first."""

    form_field: str
    message: str
    fields: tuple[str, ...]
    check: Callable[[dict[str, Any], str], dict[str, Any]] = check_event
    # The seed has no web-address rule for events: partners' addresses follow the same one.
    as_partner_field: str | None = None
    when: Callable[[dict[str, Any]], bool] = lambda row: True

    def fails(self, row: dict[str, Any]) -> bool:
        values = {name: row.get(name) for name in self.fields}
        if self.as_partner_field:
            values = {self.as_partner_field: values[self.fields[0]]}
        base = _PARTNER_BASE if self.check is check_partner else _EVENT_BASE
        try:
            self.check({**base, **values}, "form")
        except SeedError:
            return True
        return False


_EVENT_BASE = {
    "slug": "check", "title": "check", "kind": KINDS[0], "organiser": "check",
    "source_url": "https://check.invalid",
}  # fmt: skip
_PARTNER_BASE = {
    "slug": "check", "kind": PartnerKind.ALL[0], "name": "check", "country": "FR",
    "source_url": "https://check.invalid", "last_checked": dt.date(2000, 1, 1),
}  # fmt: skip
_NO_START: Callable[[dict[str, Any]], bool] = lambda row: row.get("starts_at") is None  # noqa: E731
_YEARLY = "Give a yearly rule like FREQ=YEARLY;BYMONTH=5;BYMONTHDAY=20"
# fmt: off
_EVENT_RULES = (
    _Rule("title", "Give the event's title", ("title",)),
    _Rule("kind", f"Choose one of: {', '.join(KINDS)}", ("kind",)),
    _Rule("organiser", "Say who organises the event", ("organiser",)),
    _Rule("audience", f"Choose one of: {', '.join(AUDIENCES)}", ("audience",)),
    _Rule("country", COUNTRY_CODE, ("country",)),
    _Rule("timezone", "Give a time zone like Europe/Brussels", ("timezone",)),
    _Rule("online", "Tick online only or hybrid, not both", ("online", "attendance")),
    _Rule("starts_on", "Give the start too", ("starts_at", "ends_at"), when=_NO_START),
    _Rule("ends_on", "The end must come after the start", ("starts_at", "ends_at")),
    _Rule("starts_on", "A repeating event needs its first date", ("starts_at", "recurrence"),
          when=_NO_START),
    _Rule("recurrence", _YEARLY, ("starts_at", "recurrence")),
    _Rule("url", WEB_ADDRESS, ("url",), check_partner, as_partner_field="website"),
    _Rule("source_url", "Give the web page that announces the event", ("source_url",)),
    _Rule("source_url", WEB_ADDRESS, ("source_url",), check_partner, as_partner_field="website",
          when=lambda row: row.get("source_url") != row.get("url")),  # else url's rule says it
)
_PARTNER_RULES = (
    _Rule("name", "Give the organisation's name", ("name",), check_partner),
    _Rule("kind", f"Choose one of: {', '.join(PartnerKind.ALL)}", ("kind",), check_partner),
    _Rule("country", COUNTRY_CODE, ("country",), check_partner),
    _Rule("website", WEB_ADDRESS, ("website",), check_partner),
    _Rule("contact_url", WEB_ADDRESS, ("contact_url",), check_partner),
    _Rule("source_url", f"Give the page where you checked this. {WEB_ADDRESS}", ("source_url",),
          check_partner),
)
# fmt: on
_RULES = {Event: (_EVENT_RULES, check_event), Partner: (_PARTNER_RULES, check_partner)}
# The form fields taken as written (the others are converted: dates, country, check boxes).
_EVENT_TEXT = ("title", "kind", "organiser", "audience", "url", "description", "location")
_PARTNER_TEXT = ("kind", "name", "acronym", "city", "website", "contact_url", "contact",
                 "ecrin_status", "source_url")  # fmt: skip
# The form fields whose value becomes another row field (the rest keep their name).
_ROW_FIELD = {"starts_on": "starts_at", "ends_on": "ends_at"}


def _text(form: Mapping[str, Any], name: str) -> str:
    return str(form.get(name) or "").strip()


def _zone_name(form: Mapping[str, Any]) -> str:
    """The zone the form's times are written in: its own, the country's, else Paris."""
    for name in (_text(form, "timezone"), TIMEZONE_BY_COUNTRY.get(_text(form, "country").upper())):
        if not name:
            continue
        try:
            return str(ZoneInfo(name))
        except (ZoneInfoNotFoundError, ValueError):
            continue  # an unknown zone is reported by its rule; the times still need one
    return DEFAULT_TIMEZONE


def _moment(text: str, zone: dt.tzinfo, end: bool) -> dt.datetime | None:
    """ "2027-05-20" (all day: 00:00, or 23:59 for an end) or "2027-05-20T14:00" in `zone`."""
    if not text:
        return None
    if len(text) == DAY_ONLY:
        day = dt.date.fromisoformat(text)
        return dt.datetime.combine(day, dt.time(23, 59) if end else dt.time.min, tzinfo=zone)
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _event_row(form: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The row event_row_from_form describes, and the form fields that could not be read."""
    errors: dict[str, str] = {}
    zone_name = _zone_name(form)
    moments: dict[str, dt.datetime | None] = {}
    for name, end in (("starts_on", False), ("ends_on", True)):
        try:
            moments[name] = _moment(_text(form, name), ZoneInfo(zone_name), end)
        except ValueError:
            errors[name], moments[name] = GIVE_A_DATE, None
    starts_on = _text(form, "starts_on")
    if moments["starts_on"] and not _text(form, "ends_on") and len(starts_on) == DAY_ONLY:
        moments["ends_on"] = _moment(starts_on, ZoneInfo(zone_name), end=True)  # all that day
    online, hybrid = (_text(form, name).lower() in CHECKED for name in ("online", "hybrid"))
    dated = any(moments.values())
    mode = Attendance.ONLINE if online else Attendance.IN_PERSON
    row = {name: _text(form, name) or None for name in _EVENT_TEXT}
    row |= {
        "slug": slugify(_text(form, "title"), starts_on[:10]) or "event",
        "country": _text(form, "country").upper() or None,
        "starts_at": moments["starts_on"],
        "ends_at": moments["ends_on"],
        "online": online,
        "attendance": Attendance.HYBRID if hybrid else mode,
        "source_url": _text(form, "source_url") or row["url"],
        "timezone": _text(form, "timezone") or (zone_name if dated else None),
        "recurrence": _text(form, "recurrence") or None,
    }
    return row, errors


def event_row_from_form(form: Mapping[str, Any]) -> dict[str, Any]:
    """The review form's event fields as a row for seed.check_event, with the slug a new event
    would get. Raises FieldErrors for dates it cannot read (the seed's rules run in save_event)."""
    row, errors = _event_row(form)
    if errors:
        raise FieldErrors(errors)
    return row


def _partner_row(form: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    row: dict[str, Any] = {name: _text(form, name) or None for name in _PARTNER_TEXT}
    errors = {}
    try:
        since = _text(form, "status_since")
        row["status_since"] = dt.date.fromisoformat(since) if since else None
    except ValueError:
        errors["status_since"], row["status_since"] = "Give a date like 2027-05-20", None
    # Slugs follow the seed's: the acronym people know (f-crin, scren), else the name.
    row["slug"] = slugify(row["acronym"] or row["name"] or "") or "partner"
    row["country"] = _text(form, "country").upper() or None
    row["last_checked"] = today()
    return row, errors


def partner_row_from_form(form: Mapping[str, Any]) -> dict[str, Any]:
    """The review form's partner fields as a row for seed.check_partner, checked today.
    Raises FieldErrors for a date it cannot read."""
    row, errors = _partner_row(form)
    if errors:
        raise FieldErrors(errors)
    return row


def _as_form(row: Any, names: Iterable[str]) -> dict[str, str]:
    return {name: "" if getattr(row, name) is None else str(getattr(row, name)) for name in names}


def event_form(event: Event) -> dict[str, str]:
    """The review form's fields for `event`, as save_event reads them back: times in the
    event's own zone, an all-day event (00:00 to 23:59) as dates only."""
    starts, ends = event.local(event.starts_at), event.local(event.ends_at)
    all_day = bool(starts and ends) and (starts.time(), ends.time()) == (dt.time(), dt.time(23, 59))
    shape = "%Y-%m-%d" if all_day else "%Y-%m-%dT%H:%M"
    form = _as_form(event, (*_EVENT_TEXT, "country", "source_url", "timezone", "recurrence"))
    return form | {
        "starts_on": starts.strftime(shape) if starts else "",
        "ends_on": ends.strftime(shape) if ends else "",
        "online": "on" if event.attendance == Attendance.ONLINE else "",
        "hybrid": "on" if event.attendance == Attendance.HYBRID else "",
    }


def partner_form(partner: Partner) -> dict[str, str]:
    """The review form's fields for `partner`, as save_partner reads them back."""
    return _as_form(partner, (*_PARTNER_TEXT, "country", "status_since"))


def _validated(model: type, row: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """The seed's checked values for `row`, or FieldErrors naming every bad field."""
    rules, check = _RULES[model]
    blamed = {_ROW_FIELD.get(name, name) for name in errors}  # one message per bad value
    for rule in rules:
        if rule.form_field in errors or blamed & set(rule.fields) or not rule.when(row):
            continue
        if rule.fails(row):
            errors[rule.form_field] = rule.message
            blamed.update(rule.fields)
    for name, value in row.items():  # the schema's limits, which PostgreSQL enforces
        column = model.__table__.columns.get(name)
        length = getattr(column, "type", None) and getattr(column.type, "length", None)
        if isinstance(value, str) and length and len(value) > length:
            errors.setdefault(name, f"Keep this under {length} characters")
    if errors:
        raise FieldErrors(errors)
    try:
        return check(row, f"This {model.__name__.lower()}")
    except SeedError as error:
        raise FieldErrors({FieldErrors.GENERAL: str(error)}) from error


def _find(session: Session, model: type, slug: str) -> Any:
    row = session.scalars(select(model).where(model.slug == slug)).first()
    if row is None:
        raise LookupError(f"no {model.__tablename__[:-1]} with slug {slug!r}")
    return row


def _unique_slug(session: Session, model: type, slug: str) -> str:
    """`slug`, or `slug-2`, `slug-3`… the first no row has (retired ones included)."""
    length = model.__table__.columns["slug"].type.length
    candidate, number = slug[:length], 1
    while session.scalars(select(model.id).where(model.slug == candidate)).first() is not None:
        number += 1
        suffix = f"-{number}"
        candidate = slug[: length - len(suffix)] + suffix
    return candidate


def _save(session: Session, model: type, row: dict, errors: dict, staff: str, slug: str | None):
    """Validate `row` (with the form's `errors`), then create or update and record it."""
    existing = _find(session, model, slug) if slug is not None else None
    if existing is not None:
        row["slug"] = existing.slug
    values = _validated(model, row, errors)
    values["last_checked"] = today()  # saving is confirming: the form shows every field
    table = model.__tablename__
    if existing is None:
        values["slug"] = _unique_slug(session, model, values["slug"])
        existing = model(**values)
        session.add(existing)
        audit.record(session, table, values["slug"], "create", staff, {}, values)
    else:
        before = {name: getattr(existing, name) for name in values}
        for name, value in values.items():
            setattr(existing, name, value)
        # Re-saving unchanged data only moves last_checked: not worth a line in the trail.
        if set(audit.differences(before, values)) - {"last_checked"}:
            audit.record(session, table, existing.slug, "update", staff, before, values)
    session.flush()
    return existing


def save_event(
    session: Session, form: Mapping[str, Any], staff: str, slug: str | None = None
) -> Event:
    """Create an event from the review form (`slug` None: the slug comes from the title and
    date) or update the event `slug` (retired or not; it stays so). Raises FieldErrors naming
    every bad field, writing nothing; LookupError for an unknown slug."""
    row, errors = _event_row(form)
    return _save(session, Event, row, errors, staff, slug)


def save_partner(
    session: Session, form: Mapping[str, Any], staff: str, slug: str | None = None
) -> Partner:
    """Create or update a partner as save_event does an event (new slug: acronym or name)."""
    row, errors = _partner_row(form)
    return _save(session, Partner, row, errors, staff, slug)


def retire(session: Session, model: type[Event] | type[Partner], slug: str, staff: str) -> None:
    """Hide the row from the assistant, keeping it for restore (retiring twice does nothing).
    Raises LookupError for an unknown slug."""
    row = _find(session, model, slug)
    if row.retired_at is None:
        row.retired_at = dt.datetime.now(dt.timezone.utc)
        audit.record(session, model.__tablename__, slug, "retire", staff,
                     {"retired_at": None}, {"retired_at": row.retired_at})  # fmt: skip
        session.flush()


def restore(session: Session, model: type[Event] | type[Partner], slug: str, staff: str) -> None:
    """Show a retired row to the assistant again (a live row is left alone)."""
    row = _find(session, model, slug)
    if row.retired_at is not None:
        audit.record(session, model.__tablename__, slug, "restore", staff,
                     {"retired_at": row.retired_at}, {"retired_at": None})  # fmt: skip
        row.retired_at = None
        session.flush()


@dataclass
class ImportPreview:
    """What applying an upload would do, row by row; `refused` holds (where, reason)."""

    added: list[dict[str, Any]] = field(default_factory=list)
    updated: list[tuple[dict[str, Any], list[str]]] = field(default_factory=list)
    unchanged: list[dict[str, Any]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)

    @property
    def can_apply(self) -> bool:
        """An upload is applied whole or not at all: one refused row stops it."""
        return not self.refused


def _compared(values: Mapping[str, Any]) -> dict[str, Any]:
    # A file that does not say when its rows were checked leaves last_checked out of the
    # comparison: apply_import dates them today.
    return {k: v for k, v in values.items() if not (k == "last_checked" and v is None)}


def preview_import(session: Session, rows: Iterable[ParsedRow]) -> ImportPreview:
    """Sort an upload's parsed events by slug against the database: added, updated (with the
    fields that differ), unchanged, or refused (the row's error, or a slug seen twice)."""
    preview, seen = ImportPreview(), {}
    for row in rows:
        if row.error is not None or row.values is None:
            preview.refused.append((row.where, row.error or "the row could not be read"))
            continue
        slug = row.values["slug"]
        if slug in seen:
            preview.refused.append((row.where, f"the same event as {seen[slug]} (slug {slug})"))
            continue
        seen[slug] = row.where
        existing = session.scalars(select(Event).where(Event.slug == slug)).first()
        if existing is None:
            preview.added.append(row.values)
            continue
        values = _compared(row.values)
        changed = list(audit.differences({k: getattr(existing, k) for k in values}, values))
        if changed:
            preview.updated.append((row.values, changed))
        else:
            preview.unchanged.append(row.values)
    return preview


def apply_import(session: Session, preview: ImportPreview, staff: str) -> SeedReport:
    """Write a previewed upload in the caller's transaction, one DataChange per created or
    updated event. Raises ValueError when the preview refused a row (nothing is written)."""
    if not preview.can_apply:
        raise ValueError(f"{len(preview.refused)} row(s) refused: fix the file and upload it again")
    rows = [
        {**values, "last_checked": values.get("last_checked") or today()}
        for values in [*preview.added, *(values for values, _ in preview.updated)]
    ]
    by_slug = {values["slug"]: values for values in rows}
    existing = session.scalars(select(Event).where(Event.slug.in_(by_slug))).all() if rows else []
    before = {event.slug: {k: getattr(event, k) for k in by_slug[event.slug]} for event in existing}
    report = upsert(session, Event, rows)
    for values in rows:
        slug = values["slug"]
        action = "update" if slug in before else "create"
        audit.record(session, "events", slug, action, staff, before.get(slug, {}), values)
    report.unchanged += len(preview.unchanged)
    session.flush()
    return report
