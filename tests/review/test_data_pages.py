"""The Events and Partners pages over HTTP (Starlette's TestClient on the real app): real SQLite
files for both databases, the tracker store (staff accounts) and the lookup database the
assistant answers from. Editors change data, reviewers only read, bad forms and uploads write
nothing, and the assistant's own query sees a change at once."""

from __future__ import annotations

import base64
import datetime as dt
import html
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot import db
from bot.countries import gazetteer
from bot.dates import today
from bot.events import find, parse_query
from bot.models import Attendance, Event, Partner
from bot.partners import lookup
from bot.review.accounts import add_staff
from bot.review.pages.event_upload import MAX_UPLOAD_BYTES
from bot.tracker_db.engine import get_engine
from tests.review.conftest import ADMIN, EDITOR, REVIEWER, Staff, logged_in
from tests.review.data_pages import (
    BAD_CSV_ROW,
    CSV_HEADER,
    GOOD_CSV_ROW,
    ICS,
    PARTNER,
    TODAY,
    WEBINAR,
    apply_form,
    error_of,
    flash,
    listed,
    lookup_tables,
    one,
    saved_event,
    slug_of,
    tag,
    upload,
)


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECRIN_TODAY", TODAY)


@pytest.fixture
def lookup_url(tmp_path) -> Iterator[str]:
    """An empty lookup database at the schema's head (events, partners, data_changes…)."""
    url = f"sqlite:///{tmp_path / 'lookup.db'}"
    db.upgrade(url)
    yield url
    db.get_engine(url).dispose()


@pytest.fixture
def tracker(seeded_sqlite: str) -> str:
    """The seeded tracker store, with an editor beside its admin and reviewer."""
    add_staff(get_engine(seeded_sqlite), *EDITOR, role="editor")
    return seeded_sqlite


def staff_client(tracker: str, lookup_url: str, account: tuple[str, str], **settings) -> Staff:
    return logged_in(tracker, account, lookup_database_url=lookup_url, **settings)


@pytest.fixture
def editor(tracker: str, lookup_url: str) -> Staff:
    return staff_client(tracker, lookup_url, EDITOR)


@pytest.fixture
def reader(tracker: str, lookup_url: str) -> Staff:
    return staff_client(tracker, lookup_url, REVIEWER)


# --- Events: add, edit, retire, restore, history ------------------------------------------------


def test_an_editor_adds_an_event_and_the_assistant_finds_it_at_once(
    editor: Staff, lookup_url: str
) -> None:
    reply = editor.post("/events/new", WEBINAR)

    assert reply.status_code == 303 and reply.headers["location"] == "/events"
    listing = editor.client.get("/events").text
    assert flash(listing) == "Added Test webinar on consent forms."
    assert "Test webinar on consent forms" in listing
    assert "20 May 2027, 14:00-15:30 CEST" in listing
    event = one(lookup_url, Event, slug_of(lookup_url, Event, WEBINAR["title"]))
    assert event.starts_at == dt.datetime(2027, 5, 20, 12, 0, tzinfo=dt.timezone.utc)
    assert event.ends_at == dt.datetime(2027, 5, 20, 13, 30, tzinfo=dt.timezone.utc)
    assert (event.attendance, event.timezone) == (Attendance.ONLINE, "Europe/Paris")
    assert event.last_checked == dt.date(2026, 12, 1) and event.retired_at is None
    # The assistant's own query, on the same database, with nothing restarted or reloaded.
    with Session(db.get_engine(lookup_url)) as session:
        found = find(session, parse_query("webinars for patients in May 2027", today()))
    assert [e.title for e in found] == ["Test webinar on consent forms"]


def test_an_editor_edits_retires_and_restores_an_event_and_its_history_says_so(
    editor: Staff, lookup_url: str
) -> None:
    editor.post("/events/new", WEBINAR)
    slug = slug_of(lookup_url, Event, WEBINAR["title"])
    form = editor.client.get(f"/events/edit?slug={slug}").text
    assert 'value="Test webinar on consent forms"' in form
    assert 'value="2027-05-20"' in tag(form, "f-starts_on")
    assert 'value="14:00"' in tag(form, "f-starts_time")
    assert "checked" in tag(form, "f-online")

    edited = {
        **WEBINAR,
        "slug": slug,
        "title": "Test webinar on consent, again",
        "starts_time": "10:00",
    }
    reply = editor.post("/events/edit", edited)

    assert reply.status_code == 303
    event = one(lookup_url, Event, slug)
    assert event.title == "Test webinar on consent, again"
    assert event.starts_at == dt.datetime(2027, 5, 20, 8, 0, tzinfo=dt.timezone.utc)

    assert editor.post("/events/retire", {"slug": slug}).status_code == 303
    assert one(lookup_url, Event, slug).retired_at is not None
    assert "Test webinar on consent, again" not in listed(editor, "/events")
    with_retired = listed(editor, "/events?retired=1")
    assert "Test webinar on consent, again" in with_retired and "badge--retired" in with_retired
    assert 'aria-label="Restore Test webinar on consent, again"' in with_retired
    with Session(db.get_engine(lookup_url)) as session:
        assert find(session, parse_query("webinars in May 2027", today())) == []

    assert editor.post("/events/restore", {"slug": slug}).status_code == 303
    assert one(lookup_url, Event, slug).retired_at is None
    with Session(db.get_engine(lookup_url)) as session:
        assert len(find(session, parse_query("webinars in May 2027", today()))) == 1

    history = editor.client.get(f"/events/history?slug={slug}").text
    actions = re.findall(r"<td>(created|changed|retired|restored)</td>", history)
    assert actions == ["restored", "retired", "changed", "created"]  # newest first
    assert history.count(f"<td>{EDITOR[0]}</td>") == 4
    assert "Test webinar on consent forms</span> → <span" in history
    assert "Test webinar on consent, again</span>" in history


def test_a_reviewer_reads_everything_but_changes_nothing(reader: Staff, lookup_url: str) -> None:
    slug = saved_event(lookup_url)
    listing = reader.client.get("/events")
    assert listing.status_code == 200 and "Test webinar on consent forms" in listing.text
    for control in ("Add an event", "/events/upload", "/events/retire", ">Edit<"):
        assert control not in listing.text
    assert 'aria-label="Details of Test webinar on consent forms"' in listing.text
    details = reader.client.get(f"/events/edit?slug={slug}").text
    assert "<fieldset disabled>" in details and "Save changes" not in details
    assert reader.client.get(f"/events/history?slug={slug}").status_code == 200
    assert "<fieldset disabled>" in reader.client.get("/events/upload").text
    before = lookup_tables(lookup_url)

    forged = [
        ("/events/new", WEBINAR),
        ("/events/edit", {**WEBINAR, "slug": slug, "title": "Changed"}),
        ("/events/retire", {"slug": slug}),
        ("/events/restore", {"slug": slug}),
        ("/events/upload/apply", {"filename": "a.csv", "content": ""}),
        ("/partners/new", PARTNER),
    ]
    for path, form in forged:
        reply = reader.post(path, form)
        assert reply.status_code == 403, path
        assert "Only editors and administrators" in reply.text
    uploaded = upload(reader, "a.csv", (CSV_HEADER + GOOD_CSV_ROW).encode())
    assert uploaded.status_code == 403

    assert lookup_tables(lookup_url) == before


def test_an_admin_may_change_data_too(tracker: str, lookup_url: str) -> None:
    admin = staff_client(tracker, lookup_url, ADMIN)
    assert admin.post("/events/new", WEBINAR).status_code == 303
    assert ">Edit<" in admin.client.get("/events").text


def test_bad_fields_get_their_messages_next_to_them_and_nothing_is_written(
    editor: Staff, lookup_url: str
) -> None:
    before = lookup_tables(lookup_url)
    bad = {
        **WEBINAR,
        "title": "",
        "organiser": "",
        "ends_on": "2027-05-19",
        "url": "ftp://example.org/x",
        "hybrid": "on",
    }

    reply = editor.post("/events/new", bad)

    assert reply.status_code == 400
    page = reply.text
    assert error_of(page, "title") == "Give the event's title"
    assert error_of(page, "organiser") == "Say who organises the event"
    assert error_of(page, "ends_on") == "The end must come after the start"
    assert error_of(page, "url").startswith("Give a web address")
    assert error_of(page, "online") == "Tick online only or hybrid, not both"
    assert "error-kind" not in page and 'aria-invalid="true"' not in tag(page, "f-kind")
    # What was typed is still there, to be corrected rather than typed again.
    assert 'value="ftp://example.org/x"' in tag(page, "f-url")
    assert 'value="2027-05-19"' in tag(page, "f-ends_on")
    assert "checked" in tag(page, "f-hybrid")
    assert 'role="alert"' in page and "5 fields to fix" in page
    assert lookup_tables(lookup_url) == before


def test_unknown_rows_and_bad_filters(editor: Staff) -> None:
    assert editor.client.get("/events/edit?slug=nothing-here").status_code == 404
    assert editor.client.get("/events/history?slug=nothing-here").status_code == 404
    assert editor.client.get("/events/edit").status_code == 400
    assert editor.post("/events/retire", {"slug": "nothing-here"}).status_code == 404
    assert editor.client.get("/events?when=soon").status_code == 400
    assert editor.client.get("/events?country=France").status_code == 400
    assert editor.client.get("/partners?kind=friend").status_code == 400
    assert editor.client.get("/events?page=0").status_code == 400


def test_on_the_seed_data_on_sqlite_and_postgresql(tracker: str, database_url: str) -> None:
    """The pages on the real seed rows (yearly days, self-paced courses, partners), on both
    engines: every row lists, and an added event is found by the assistant's query at once."""
    editor = staff_client(tracker, database_url, EDITOR)
    with Session(db.get_engine(database_url)) as session:
        live_events = session.scalar(
            sa.select(sa.func.count()).select_from(Event).where(Event.retired_at.is_(None))
        )
        partners = session.scalar(sa.select(sa.func.count()).select_from(Partner))
    many = staff_client(tracker, database_url, EDITOR, page_size=1000)
    everything = many.client.get("/events?when=all").text
    assert everything.count('class="row-actions"') == live_events
    assert "every year on 20 May" in everything
    assert many.client.get("/partners").text.count('class="row-actions"') == partners

    assert editor.post("/events/new", WEBINAR).status_code == 303

    with Session(db.get_engine(database_url)) as session:
        found = find(session, parse_query("webinars for patients in May 2027", today()))
    assert "Test webinar on consent forms" in [e.title for e in found]


# --- Events: the list ---------------------------------------------------------------------------


def test_the_list_filters_orders_and_pages(tracker: str, lookup_url: str, editor: Staff) -> None:
    saved_event(lookup_url)
    saved_event(lookup_url, title="Test past training", kind="training", audience="researchers",
                starts_on="2026-03-02", ends_on="2026-03-02")  # fmt: skip
    saved_event(lookup_url, title="Test trials day", kind="awareness_day", audience="everyone",
                starts_on="2025-05-20", ends_on="2025-05-20", online="",
                recurrence="FREQ=YEARLY;BYMONTH=5;BYMONTHDAY=20", country="FR")  # fmt: skip

    upcoming = editor.client.get("/events").text
    assert upcoming.index("Test webinar on consent") > upcoming.index("Test trials day")
    assert "every year on 20 May (next: 20 May 2027)" in upcoming
    assert "Test past training" not in upcoming
    past = editor.client.get("/events?when=past").text
    assert "Test past training" in past and "Test webinar" not in past
    assert "2 March 2026" in past
    kind = editor.client.get("/events?when=all&kind=awareness_day").text
    assert "Test trials day" in kind and "Test past training" not in kind
    france = editor.client.get("/events?when=all&country=FR").text
    assert "Test trials day" in france and "Test webinar" not in france
    assert '<option value="FR" selected>France</option>' in france

    small = staff_client(tracker, lookup_url, EDITOR, page_size=2)
    first, second = (
        small.client.get("/events?when=all"),
        small.client.get("/events?when=all&page=2"),
    )
    assert "Page 1 of 2" in first.text and "page=2" in first.text
    assert "Page 2 of 2" in second.text and second.text.count('class="row-actions"') == 1


# --- Uploads ------------------------------------------------------------------------------------


def test_an_upload_with_one_bad_row_is_refused_whole(editor: Staff, lookup_url: str) -> None:
    before = lookup_tables(lookup_url)
    content = (CSV_HEADER + GOOD_CSV_ROW + BAD_CSV_ROW).encode()

    preview = upload(editor, "events.csv", content)

    assert preview.status_code == 200
    assert "events.csv, line 3" in preview.text
    assert "kind must be one of" in html.unescape(preview.text)
    assert "/events/upload/apply" not in preview.text  # no Apply button
    assert lookup_tables(lookup_url) == before

    forged = {
        "filename": "events.csv",
        "content": base64.urlsafe_b64encode(content).decode(),
        "kind": "",
        "organiser": "",
        "audience": "",
    }
    applied = editor.post("/events/upload/apply", forged)
    assert applied.status_code == 400
    assert "Nothing was written: 1 row refused" in applied.text
    assert lookup_tables(lookup_url) == before


def test_a_good_calendar_upload_applies_at_once_and_is_in_the_history(
    editor: Staff, lookup_url: str
) -> None:
    preview = upload(editor, "feed.ics", ICS.encode(), kind="webinar", organiser="EUPATI")
    assert preview.status_code == 200, preview.text[:500]
    assert re.search(r"<dt>To add</dt><dd>2</dd>", preview.text)
    assert lookup_tables(lookup_url)["events"] == []

    reply = editor.post("/events/upload/apply", apply_form(preview.text))

    assert reply.status_code == 303 and reply.headers["location"] == "/events"
    assert flash(editor.client.get("/events").text) == (
        "Applied feed.ics: 2 created, 0 updated, 0 unchanged."
    )
    webinar = one(lookup_url, Event, slug_of(lookup_url, Event, "Test calendar webinar"))
    assert (webinar.organiser, webinar.kind, webinar.timezone) == (
        "EUPATI",
        "webinar",
        "Europe/Brussels",
    )
    assert webinar.starts_at == dt.datetime(2027, 6, 10, 12, 0, tzinfo=dt.timezone.utc)
    history = editor.client.get(f"/events/history?slug={webinar.slug}").text
    assert "<td>created</td>" in history and f"<td>{EDITOR[0]}</td>" in history
    with Session(db.get_engine(lookup_url)) as session:
        found = find(session, parse_query("webinars in June 2027", today()))
    assert [e.title for e in found] == ["Test calendar webinar"]

    again = upload(editor, "feed.ics", ICS.encode(), kind="webinar", organiser="EUPATI")
    assert re.search(r"<dt>Unchanged</dt><dd>2</dd>", again.text)


def test_uploads_that_cannot_be_read(editor: Staff, lookup_url: str) -> None:
    before = lookup_tables(lookup_url)
    no_file = editor.client.post(
        "/events/upload",
        data={"csrf_token": editor.token("/events/upload")},
        files={"file": ("", b"", "application/octet-stream")},
    )
    assert no_file.status_code == 400 and "Choose a .ics or .csv file." in no_file.text
    wrong_type = upload(editor, "events.xlsx", b"PK\x03\x04")
    assert wrong_type.status_code == 400 and "expected a .csv or .ics file" in wrong_type.text
    too_big = upload(editor, "events.csv", CSV_HEADER.encode() + b"x" * MAX_UPLOAD_BYTES)
    assert too_big.status_code == 400 and "larger than 512 KB" in too_big.text
    damaged = editor.post("/events/upload/apply", {"filename": "a.csv", "content": "***"})
    assert damaged.status_code == 400
    assert lookup_tables(lookup_url) == before


def test_a_file_of_the_largest_size_allowed_still_applies(editor: Staff, lookup_url: str) -> None:
    """The apply form carries the file in base64: at the upload limit it must still fit the
    app's limit on a request body (bot.review.app)."""
    header = "title,kind,organiser,starts_at,source_url,description\n"
    rows = [
        f"Test long course {n},training,EUPATI,2027-03-0{n}T09:00:00+01:00,https://example.org/a,"
        for n in range(1, 6)
    ]
    # Five long descriptions (csv reads a field of at most 128 KB) filling the file exactly.
    room = MAX_UPLOAD_BYTES - len(header) - sum(len(row) + 1 for row in rows)
    fillers = [room // 5] * 4 + [room - 4 * (room // 5)]
    content = (
        header + "".join(f"{r}{'x' * n}\n" for r, n in zip(rows, fillers, strict=True))
    ).encode()
    assert len(content) == MAX_UPLOAD_BYTES

    preview = upload(editor, "long.csv", content)
    reply = editor.post("/events/upload/apply", apply_form(preview.text))

    assert reply.status_code == 303, reply.text[:300]
    assert len(lookup_tables(lookup_url)["events"]) == 5


# --- Partners -----------------------------------------------------------------------------------


def test_an_editor_adds_edits_retires_and_restores_a_partner(
    editor: Staff, lookup_url: str
) -> None:
    malta = gazetteer().countries["MT"]
    assert editor.post("/partners/new", PARTNER).status_code == 303
    assert "TCRN (Test Clinical Research Network)" in editor.client.get("/partners").text
    slug = slug_of(lookup_url, Partner, PARTNER["name"])
    with Session(db.get_engine(lookup_url)) as session:
        assert [p.slug for p in lookup(session, malta).ecrin_partners] == [slug]

    assert (
        editor.post("/partners/edit", {**PARTNER, "slug": slug, "city": "Msida"}).status_code == 303
    )
    assert one(lookup_url, Partner, slug).city == "Msida"
    assert editor.post("/partners/retire", {"slug": slug}).status_code == 303
    with Session(db.get_engine(lookup_url)) as session:
        assert lookup(session, malta).ecrin_partners == []
    assert "Test Clinical Research Network" not in listed(editor, "/partners")
    assert editor.post("/partners/restore", {"slug": slug}).status_code == 303
    assert one(lookup_url, Partner, slug).retired_at is None

    history = editor.client.get(f"/partners/history?slug={slug}").text
    assert re.findall(r"<td>(created|changed|retired|restored)</td>", history) == [
        "restored", "retired", "changed", "created",
    ]  # fmt: skip
    assert "Valletta</span> → <span" in history


def test_a_bad_partner_form_writes_nothing_and_a_reviewer_cannot_post(
    editor: Staff, reader: Staff, lookup_url: str
) -> None:
    before = lookup_tables(lookup_url)
    reply = editor.post(
        "/partners/new", {**PARTNER, "name": "", "website": "example.org", "country": "Malta"}
    )
    assert reply.status_code == 400
    assert error_of(reply.text, "name") == "Give the organisation's name"
    assert error_of(reply.text, "website").startswith("Give a web address")
    assert error_of(reply.text, "country") == "Give a two-letter country code like FR"
    assert 'value="Malta"' in tag(reply.text, "f-country")
    assert reader.post("/partners/new", PARTNER).status_code == 403
    assert "Add a partner" not in reader.client.get("/partners").text
    assert lookup_tables(lookup_url) == before
