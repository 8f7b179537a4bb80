"""Made-up events, partners and files for the tests of the Events and Partners pages, and
helpers that read those pages and the lookup database (like seeding.py for conversations).
None of these rows is real: they live in the tests' own databases only."""

from __future__ import annotations

import html
import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot import curation, db
from bot.models import Event
from tests.review.conftest import Staff

TODAY = "2026-12-01"  # ECRIN_TODAY: what "upcoming" and "checked today" mean here
# A made-up event for these tests only (never in data/db): 14:00-15:30 Paris time, online.
WEBINAR = {
    "title": "Test webinar on consent forms",
    "starts_on": "2027-05-20",
    "starts_time": "14:00",
    "ends_on": "2027-05-20",
    "ends_time": "15:30",
    "kind": "webinar",
    "audience": "patients",
    "country": "",
    "online": "on",
    "url": "https://example.org/webinar",
    "organiser": "ECRIN",
    "description": "A test event.",
}
PARTNER = {
    "kind": "ecrin_partner",
    "name": "Test Clinical Research Network",
    "acronym": "TCRN",
    "country": "MT",
    "city": "Valletta",
    "website": "https://example.org/tcrn",
    "source_url": "https://example.org/tcrn/about",
}
CSV_HEADER = "title,kind,organiser,starts_at,source_url\n"
GOOD_CSV_ROW = "Test course day,training,EUPATI,2027-03-01T09:00:00+01:00,https://example.org/a\n"
BAD_CSV_ROW = "Test party,party,EUPATI,2027-03-02T09:00:00+01:00,https://example.org/b\n"
ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:test-ics-one@example.org
SUMMARY:Test calendar webinar
DTSTART;TZID=Europe/Brussels:20270610T140000
DTEND;TZID=Europe/Brussels:20270610T153000
LOCATION:Online (Zoom)
URL:https://example.org/ics-one
END:VEVENT
BEGIN:VEVENT
UID:test-ics-two@example.org
SUMMARY:Test calendar conference
DTSTART;VALUE=DATE:20270915
DTEND;VALUE=DATE:20270917
LOCATION:Brussels
URL:https://example.org/ics-two
END:VEVENT
END:VCALENDAR
""".replace("\n", "\r\n")


def lookup_tables(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables these pages change: equal snapshots, nothing written."""
    with db.get_engine(url).connect() as connection:
        return {
            table: sorted(map(tuple, connection.execute(sa.text(f"SELECT * FROM {table}"))))
            for table in ("events", "partners", "data_changes")
        }


def one(url: str, model: type, slug: str) -> Any:
    with Session(db.get_engine(url)) as session:
        row = session.scalars(sa.select(model).where(model.slug == slug)).one()
        session.expunge(row)
        return row


def slug_of(url: str, model: type, title_or_name: str) -> str:
    column = model.title if model is Event else model.name
    with Session(db.get_engine(url)) as session:
        return session.scalars(sa.select(model.slug).where(column == title_or_name)).one()


def saved_event(url: str, **changes: str) -> str:
    """An event saved the way the CLI saves one (staff cli:test); its slug."""
    form = {**WEBINAR, "starts_on": "2027-05-20T14:00", "ends_on": "2027-05-20T15:30", **changes}
    with db.session_scope(url) as session:
        return curation.save_event(session, form, "cli:test").slug


def tag(page: str, element_id: str) -> str:
    """The opening tag of the element with `element_id` in `page`."""
    found = re.search(rf'<[a-z]+ [^>]*id="{element_id}"[^>]*>', page)
    assert found, f"no element {element_id} in the page"
    return found.group(0)


def error_of(page: str, field: str) -> str:
    """The message shown next to `field`, which its input must point to."""
    assert f"error-{field}" in tag(page, f"f-{field}"), tag(page, f"f-{field}")
    assert 'aria-invalid="true"' in tag(page, f"f-{field}")
    found = re.search(rf'<span class="field-error" id="error-{field}">([^<]*)</span>', page)
    assert found, f"no message next to {field}"
    return html.unescape(found.group(1))


def listed(staff: Staff, path: str) -> str:
    """The list's table (not the message above it) at `path`; "" when the list is empty."""
    found = re.search(r"<table.*?</table>", staff.client.get(path).text, re.S)
    return found.group(0) if found else ""


def flash(reply_page: str) -> str:
    found = re.search(r'<p class="flash flash--\w+" role="\w+">([^<]*)</p>', reply_page)
    return html.unescape(found.group(1)) if found else ""


def upload(staff: Staff, name: str, content: bytes, **defaults: str):
    return staff.client.post(
        "/events/upload",
        data={"csrf_token": staff.token("/events/upload"), **defaults},
        files={"file": (name, content, "application/octet-stream")},
        follow_redirects=False,
    )


def apply_form(preview_page: str) -> dict[str, str]:
    """The hidden fields of the preview's Apply form, as the browser would send them."""
    form = re.search(
        r'<form method="post" action="/events/upload/apply".*?</form>', preview_page, re.S
    )
    assert form, "the preview has no Apply form"
    return {
        html.unescape(name): html.unescape(value)
        for name, value in re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(0))
    }
