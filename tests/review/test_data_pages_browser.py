"""The Events pages in a real headless Chromium, served by `bot review serve` (the same
fixture as test_browser.py) on a seeded tracker store and a lookup database of their own: an
editor adds, edits and retires an event through the form, a reviewer sees no controls and a
forged post is refused, and an upload with one bad row changes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot import curation, db
from bot.dates import today
from bot.events import find, parse_query
from bot.models import Event
from bot.review.accounts import add_staff
from bot.tracker_db.engine import get_engine
from tests.review import test_browser
from tests.review.conftest import EDITOR, REVIEWER
from tests.review.data_pages import BAD_CSV_ROW, CSV_HEADER, GOOD_CSV_ROW, TODAY

# The served app, started per test as in test_browser.py (after `lookup_url` set its env).
review_app = test_browser.review_app
TITLE = "Browser test webinar"  # made up, for this test's database only


@pytest.fixture(autouse=True)
def lookup_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seeded_sqlite: str
) -> Iterator[str]:
    """The lookup database the served app uses (DATABASE_URL), today fixed (ECRIN_TODAY), and
    an editor account: set before `review_app` starts the server, which reads them."""
    url = f"sqlite:///{tmp_path / 'lookup.db'}"
    db.upgrade(url)
    add_staff(get_engine(seeded_sqlite), *EDITOR, role="editor")
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("ECRIN_TODAY", TODAY)
    yield url
    db.get_engine(url).dispose()


def logged_in_page(browser, base: str, account: tuple[str, str]) -> tuple[Any, list[str]]:
    """A new page of a new browser context, logged in as `account`, and the list its console
    messages are collected in."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(account[0])
    page.get_by_label("Password").fill(account[1])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")
    return page, console


def events_rows(url: str) -> list[tuple]:
    with db.get_engine(url).connect() as connection:
        return sorted(map(tuple, connection.execute(sa.text("SELECT * FROM events"))))


def stored_events(url: str) -> list[Event]:
    with Session(db.get_engine(url)) as session:
        events = list(session.scalars(sa.select(Event)))
        session.expunge_all()
        return events


def unlabelled_controls(page) -> list[str]:
    """The visible form controls of the page that no label names."""
    return page.eval_on_selector_all(
        "input:not([type=hidden]), select, textarea",
        "controls => controls.filter(c => c.labels.length === 0 && !c.getAttribute('aria-label'))"
        ".map(c => c.name)",
    )


def assert_no_csp_errors(console: list[str]) -> None:
    """The strict Content-Security-Policy held: nothing was blocked."""
    blocked = [e for e in console if "Content Security Policy" in e or "Refused" in e]
    assert not blocked, blocked


def test_an_editor_adds_edits_and_retires_an_event(
    browser, review_app: str, lookup_url: str
) -> None:
    from playwright.sync_api import expect

    page, console = logged_in_page(browser, review_app, EDITOR)
    page.get_by_role("link", name="Events").click()
    expect(page.get_by_role("heading", name="Events")).to_be_visible()
    page.get_by_role("link", name="Add an event").click()
    assert unlabelled_controls(page) == []

    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Kind").select_option("webinar")
    page.get_by_label("Audience").select_option("patients")
    page.get_by_label("Organiser").fill("ECRIN")
    page.get_by_label("Starts on").fill("2027-05-20")
    page.get_by_label("Start time").fill("14:00")
    page.get_by_label("Ends on").fill("2027-05-19")  # before the start: refused
    page.get_by_label("End time").fill("15:30")
    page.get_by_label("Online only").check()
    page.get_by_label("Event page").fill("https://example.org/browser-webinar")
    page.get_by_role("button", name="Add event").click()

    expect(page.locator("#error-ends_on")).to_have_text("The end must come after the start")
    expect(page.get_by_label("Ends on")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Title")).to_have_value(TITLE)  # what was typed is kept
    assert events_rows(lookup_url) == []
    page.get_by_label("Ends on").fill("2027-05-20")
    page.get_by_role("button", name="Add event").click()

    expect(page.locator(".flash")).to_have_text(f"Added {TITLE}.")
    row = page.locator("table.data tbody tr", has_text=TITLE)
    expect(row).to_contain_text("20 May 2027, 14:00-15:30 CEST")
    expect(row).to_contain_text("online")
    with Session(db.get_engine(lookup_url)) as session:  # the assistant's query, at once
        found = find(session, parse_query("webinars in May 2027", today()))
    assert [e.title for e in found] == [TITLE]

    page.get_by_role("link", name=f"Edit {TITLE}").click()
    expect(page.get_by_label("Start time")).to_have_value("14:00")
    page.get_by_label("Title").fill(f"{TITLE}, moved")
    page.get_by_label("Start time").fill("10:00")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".flash")).to_have_text(f"Saved {TITLE}, moved.")
    expect(page.locator("table.data")).to_contain_text("20 May 2027, 10:00-15:30 CEST")

    page.get_by_role("button", name=f"Retire {TITLE}, moved").click()
    expect(page.locator(".flash")).to_contain_text(f"Retired {TITLE}, moved")
    expect(page.locator("table.data", has_text=TITLE)).to_have_count(0)
    page.get_by_label("include retired").check()
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("table.data tbody tr", has_text=TITLE)).to_contain_text("retired")
    page.get_by_role("link", name=f"History of {TITLE}, moved").click()
    expect(page.locator("table.data tbody tr")).to_have_count(3)  # retired, changed, created
    [event] = stored_events(lookup_url)
    assert event.retired_at is not None
    assert_no_csp_errors(console)
    page.context.close()


def test_a_reviewer_sees_no_controls_and_a_forged_post_is_refused(
    browser,
    review_app: str,
    lookup_url: str,
) -> None:
    from playwright.sync_api import expect

    form = {"title": TITLE, "starts_on": "2027-05-20", "kind": "webinar", "organiser": "ECRIN",
            "url": "https://example.org/browser-webinar"}  # fmt: skip
    with db.session_scope(lookup_url) as session:
        slug = curation.save_event(session, form, "cli:test").slug
    before = events_rows(lookup_url)
    page, console = logged_in_page(browser, review_app, REVIEWER)
    page.goto(f"{review_app}/events")

    expect(page.locator("table.data")).to_contain_text(TITLE)
    expect(page.get_by_role("link", name="Add an event")).to_have_count(0)
    expect(page.get_by_role("link", name="Upload a .ics or .csv file")).to_have_count(0)
    expect(page.get_by_role("button", name=f"Retire {TITLE}")).to_have_count(0)
    page.get_by_role("link", name=f"Details of {TITLE}").click()
    expect(page.get_by_label("Title")).to_be_disabled()
    expect(page.get_by_role("button", name="Save changes")).to_have_count(0)

    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    for path, fields in (
        ("/events/retire", {"slug": slug}),
        ("/events/edit", {**form, "slug": slug, "title": "Forged"}),
        ("/events/new", {**form, "title": "Forged"}),
    ):
        reply = page.request.post(f"{review_app}{path}", form={**fields, "csrf_token": token})
        assert reply.status == 403, (path, reply.status)
    assert events_rows(lookup_url) == before
    assert_no_csp_errors(console)
    page.context.close()


def test_an_upload_with_one_bad_row_changes_nothing(
    browser, review_app: str, lookup_url: str
) -> None:
    from playwright.sync_api import expect

    page, console = logged_in_page(browser, review_app, EDITOR)
    page.goto(f"{review_app}/events/upload")
    assert unlabelled_controls(page) == []
    content = (CSV_HEADER + GOOD_CSV_ROW + BAD_CSV_ROW).encode()
    upload = {"name": "events.csv", "mimeType": "text/csv", "buffer": content}
    page.get_by_label("File").set_input_files(upload)
    page.get_by_role("button", name="Preview").click()

    refused = page.locator("table.refused")
    expect(refused).to_contain_text("events.csv, line 3")
    expect(refused).to_contain_text("kind must be one of")
    expect(page.get_by_role("button", name="Apply")).to_have_count(0)
    assert events_rows(lookup_url) == []

    page.get_by_role("link", name="Upload the corrected file").click()
    fixed = {**upload, "buffer": (CSV_HEADER + GOOD_CSV_ROW).encode()}
    page.get_by_label("File").set_input_files(fixed)
    page.get_by_role("button", name="Preview").click()
    page.get_by_role("button", name="Apply: add 1, update 0").click()
    expect(page.locator(".flash")).to_have_text(
        "Applied events.csv: 1 created, 0 updated, 0 unchanged."
    )
    [course] = stored_events(lookup_url)
    assert course.title == "Test course day"
    assert course.starts_at == dt.datetime(2027, 3, 1, 8, 0, tzinfo=dt.timezone.utc)
    assert_no_csp_errors(console)
    page.context.close()
