"""The public calendar (`events.ics`), each event's "Add to calendar" file, and the links to
them under an events answer in the web chat: the real web channel on a Sanic app (as
tests/test_rest_channel.py mounts it), a real database (SQLite and PostgreSQL), and every
file read back with the `icalendar` package."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from pathlib import Path

import pytest
from icalendar import Calendar
from sqlalchemy import update

from bot import db
from bot.models import Event
from tests.conftest import seed_database
from tests.test_rest_channel import web_chat_app

FIXTURES = Path(__file__).parent / "fixtures"
TODAY = "2026-12-01"
SENDER = "0c9e8f7a-6b5d-4c3e-9f1a-2b3c4d5e6f70"

# Beside the made-up events of tests/fixtures/events.yml: a day held every year, a two-day
# event given as whole days, and one staff have retired.
MORE_EVENTS = """\
events:
- slug: test-yearly-day
  title: Test yearly day
  kind: awareness_day
  organiser: ECRIN
  starts_at: 2020-05-20T00:00:00+02:00
  ends_at: 2020-05-20T23:59:00+02:00
  recurrence: FREQ=YEARLY;BYMONTH=5;BYMONTHDAY=20
  location: Worldwide
  url: https://example.org/yearly
  source_url: https://example.org
- slug: test-all-day-workshop
  title: Test all-day workshop
  kind: training
  organiser: ECRIN
  starts_at: 2027-02-03T00:00:00+01:00
  ends_at: 2027-02-04T23:59:00+01:00
  timezone: Europe/Paris
  location: Paris
  description: Two days of practice.
  url: https://example.org/workshop
  source_url: https://example.org
- slug: test-retired-webinar
  title: Test retired webinar
  kind: webinar
  organiser: EUPATI
  starts_at: 2027-03-01T14:00:00+01:00
  online: true
  source_url: https://example.org
"""


@pytest.fixture
def events_url(empty_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test events in a real database, set as DATABASE_URL, on 1 December 2026."""
    more = tmp_path / "more.yml"
    more.write_text(MORE_EVENTS, encoding="utf-8")
    seed_database(empty_database, FIXTURES / "events.yml", more)
    with db.session_scope(empty_database) as session:
        retired = dt.datetime(2026, 11, 20, tzinfo=dt.timezone.utc)
        session.execute(
            update(Event).where(Event.slug == "test-retired-webinar").values(retired_at=retired)
        )
    monkeypatch.setenv("DATABASE_URL", empty_database)
    monkeypatch.setenv("ECRIN_TODAY", TODAY)
    return empty_database


@pytest.fixture
def client(events_url: str):
    from starlette.testclient import TestClient

    with TestClient(web_chat_app(EventsActionAgent())) as client:
        yield client


def vevents(body: bytes) -> list:
    return Calendar.from_ical(body).walk("VEVENT")


def assert_calendar_headers(reply, disposition: str) -> None:
    assert reply.headers["content-type"] == "text/calendar; charset=utf-8"
    assert reply.headers["content-disposition"] == disposition
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in reply.headers["content-security-policy"]


# --- The feed ----------------------------------------------------------------------------------


def test_the_feed_lists_the_upcoming_dated_events_in_order(client) -> None:
    reply = client.get("/webhooks/web/events.ics")
    assert reply.status_code == 200
    assert_calendar_headers(reply, 'inline; filename="ecrin-events.ics"')
    calendar = Calendar.from_ical(reply.content)
    assert str(calendar["X-WR-CALNAME"]) == "ECRIN events"
    # No past event, no self-paced course (no date), no retired one; the yearly day once,
    # on its next date.
    assert [str(e["SUMMARY"]) for e in calendar.walk("VEVENT")] == [
        "Test conference for researchers",
        "Test training for everyone",
        "Test all-day workshop",
        "Test webinar on consent for patients",
        "Test yearly day",
    ]


def test_each_event_says_when_where_who_and_where_to_read_more(client) -> None:
    found = {str(e["UID"]): e for e in vevents(client.get("/webhooks/web/events.ics").content)}
    conference = found["test-conference-researchers-dec@ecrin-assistant"]
    # Timed: in UTC (09:00 in Lisbon's +01:00 is 08:00 UTC).
    assert conference.decoded("DTSTART") == dt.datetime(2026, 12, 10, 8, tzinfo=dt.timezone.utc)
    assert conference.decoded("DTEND") == dt.datetime(2026, 12, 11, 16, tzinfo=dt.timezone.utc)
    assert str(conference["LOCATION"]) == "Lisbon and online"  # a hybrid event
    assert str(conference["DESCRIPTION"]) == "A hybrid meeting.\n\nMore: https://example.org"
    assert conference["ORGANIZER"].params["CN"] == "ECRIN and a partner"
    assert "DTSTAMP" in conference

    webinar = found["test-webinar-patients-may@ecrin-assistant"]
    assert str(webinar["LOCATION"]) == "Online"
    assert str(webinar["URL"]) == "https://example.org/webinar-may"
    assert str(webinar["DESCRIPTION"]) == "More: https://example.org/webinar-may"

    # Whole days: dates, the end exclusive (RFC 5545), so 3 and 4 February.
    workshop = found["test-all-day-workshop@ecrin-assistant"]
    assert workshop["DTSTART"].params["VALUE"] == "DATE"
    assert workshop.decoded("DTSTART") == dt.date(2027, 2, 3)
    assert workshop.decoded("DTEND") == dt.date(2027, 2, 5)

    # The yearly day: its own UID for each year's occurrence.
    yearly = found["test-yearly-day-20270520@ecrin-assistant"]
    assert yearly.decoded("DTSTART") == dt.date(2027, 5, 20)
    assert yearly.decoded("DTEND") == dt.date(2027, 5, 21)


def test_an_event_added_is_in_the_feed_at_once(client, events_url: str) -> None:
    from bot.seed import check_event, upsert

    row = {
        "slug": "test-new-webinar",
        "title": "Test new webinar",
        "kind": "webinar",
        "organiser": "EUPATI",
        "starts_at": "2027-04-01T15:00:00+02:00",
        "online": True,
        "source_url": "https://example.org",
    }
    with db.session_scope(events_url) as session:
        upsert(session, Event, [check_event(row, "test")])
    titles = [str(e["SUMMARY"]) for e in vevents(client.get("/webhooks/web/events.ics").content)]
    assert "Test new webinar" in titles


# --- One event's file ----------------------------------------------------------------------------


def test_one_event_is_served_as_an_attachment(client) -> None:
    reply = client.get("/webhooks/web/events/test-webinar-patients-may.ics")
    assert reply.status_code == 200
    assert_calendar_headers(reply, 'attachment; filename="test-webinar-patients-may.ics"')
    [webinar] = vevents(reply.content)
    assert str(webinar["SUMMARY"]) == "Test webinar on consent for patients"
    assert webinar.decoded("DTSTART") == dt.datetime(2027, 5, 12, 13, tzinfo=dt.timezone.utc)


def test_a_yearly_event_is_served_on_its_next_date(client) -> None:
    [yearly] = vevents(client.get("/webhooks/web/events/test-yearly-day.ics").content)
    assert yearly.decoded("DTSTART") == dt.date(2027, 5, 20)
    assert str(yearly["UID"]) == "test-yearly-day-20270520@ecrin-assistant"


@pytest.mark.parametrize(
    "slug",
    ["no-such-event", "test-retired-webinar", "test-course-self-paced"],
)
def test_an_unknown_retired_or_undated_event_is_a_404(client, slug: str) -> None:
    reply = client.get(f"/webhooks/web/events/{slug}.ics")
    assert reply.status_code == 404
    assert reply.headers["content-type"].startswith("text/plain")
    assert reply.text.startswith("No such event")


@pytest.mark.parametrize(
    "name",
    ["test-webinar-patients-may.txt", "-leading-dash.ics", "%3Cscript%3E.ics", "a" * 121 + ".ics"],
)
def test_a_malformed_address_is_a_400(client, name: str) -> None:
    reply = client.get(f"/webhooks/web/events/{name}")
    assert reply.status_code == 400
    assert reply.text == "Not an event's address: expected events/<event>.ics."


@pytest.mark.parametrize("path", ["events.ics", "events/test-webinar-patients-may.ics"])
def test_a_database_that_cannot_be_read_is_a_503_and_a_log_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    path: str,
) -> None:
    from starlette.testclient import TestClient

    # A file SQLite cannot open: the directory does not exist.
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'missing' / 'ecrin.db'}")
    with caplog.at_level(logging.ERROR), TestClient(web_chat_app()) as client:
        reply = client.get(f"/webhooks/web/{path}")
    assert reply.status_code == 503
    assert reply.headers["retry-after"] == "30"
    assert reply.text.startswith("The events calendar is unavailable right now")
    assert "The events calendar could not read the database" in caplog.text


# --- "Add to calendar" under an events answer ----------------------------------------------------


class EventsActionAgent:
    """Rasa's part stood in for (no trained model): every message goes to the real events
    action, through rasa-sdk's own Tracker and dispatcher, and each message it utters becomes
    the bot event Rasa would store and send (text, buttons and custom payload together)."""

    def __init__(self) -> None:
        from rasa.core.tracker_store import InMemoryTrackerStore
        from rasa.shared.core.domain import Domain

        self.tracker_store = InMemoryTrackerStore(Domain.empty())

    async def handle_message(self, message) -> None:
        from rasa.shared.core.events import BotUttered, UserUttered
        from rasa_sdk.executor import CollectingDispatcher

        from actions.events import ActionFindEvents
        from tests.test_actions import tracker as sdk_tracker

        dispatcher = CollectingDispatcher()
        await asyncio.to_thread(ActionFindEvents().run, dispatcher, sdk_tracker(message.text), {})
        tracker = await self.tracker_store.get_or_create_tracker(message.sender_id)
        tracker.update(UserUttered(message.text, input_channel=message.input_channel))
        for uttered in dispatcher.messages:
            data = {key: uttered[key] for key in ("buttons", "custom") if uttered.get(key)}
            event = BotUttered(uttered.get("text"), data=data)
            tracker.update(event)
            await message.output_channel.send_response(message.sender_id, event.message())
        await self.tracker_store.save(tracker)


def ask(client, question: str) -> list[dict]:
    reply = client.post("/webhooks/web/webhook", json={"sender": SENDER, "message": question})
    assert reply.status_code == 200
    return reply.json()


def test_an_events_answer_carries_a_calendar_link_for_each_event(client) -> None:
    # The web channel sends the payload with the answer it belongs to.
    [reply] = ask(client, "what's coming up?")
    text = reply["text"]
    assert text.startswith("Here is what I found: events coming up:")
    assert "calendar" not in text.lower()  # the answer's words are unchanged
    # Each entry also carries its card's fields (tests/test_web_rich.py).
    links = [
        {key: entry[key] for key in ("slug", "title", "calendar_url")}
        for entry in reply["custom"]["events"]
    ]
    assert links == [
        {
            "slug": "test-conference-researchers-dec",
            "title": "Test conference for researchers",
            "calendar_url": "events/test-conference-researchers-dec.ics",
        },
        {
            "slug": "test-training-everyone-jan",
            "title": "Test training for everyone",
            "calendar_url": "events/test-training-everyone-jan.ics",
        },
        {
            "slug": "test-all-day-workshop",
            "title": "Test all-day workshop",
            "calendar_url": "events/test-all-day-workshop.ics",
        },
    ]
    for link in links:  # each serves a calendar with that one event, relative to the chat page
        served = client.get(f"/webhooks/web/{link['calendar_url']}")
        assert served.status_code == 200
        [event] = vevents(served.content)
        assert str(event["SUMMARY"]) == link["title"] and link["title"] in text
    # A reload shows them again.
    history = client.get(f"/webhooks/web/history?sender={SENDER}").json()
    assert history[-1]["text"] == text and history[-1]["custom"] == reply["custom"]


def test_a_yearly_day_is_linked_on_its_next_date(client) -> None:
    [links_reply] = ask(client, "awareness days in May 2027")
    [link] = links_reply["custom"]["events"]
    assert link["slug"] == "test-yearly-day"
    [event] = vevents(client.get(f"/webhooks/web/{link['calendar_url']}").content)
    assert event.decoded("DTSTART") == dt.date(2027, 5, 20)


@pytest.mark.parametrize(
    ("question", "answered"),
    [
        ("past events", "Here is what I found: events in the past:\n• Test trials day 2025"),
        ("any courses by EUPATI?", "I couldn't find any dated courses or trainings by EUPATI"),
    ],
)
def test_past_events_and_courses_without_dates_get_no_link(
    client, question: str, answered: str
) -> None:
    [reply] = ask(client, question)
    assert reply["text"].startswith(answered)
    # Their cards come without a calendar file.
    listed = reply.get("custom", {}).get("events", [])
    assert listed and all(entry["calendar_url"] is None for entry in listed)


def test_the_transcript_keeps_only_checked_calendar_links() -> None:
    from rasa.shared.core.events import BotUttered

    from bot.channels.web import transcript

    listed = {
        "events": [
            {"slug": "a-webinar", "title": "A webinar", "calendar_url": "https://evil.example"},
            {"slug": "../../etc/passwd", "title": "Bad"},
            {"slug": "no-title"},
            "not an object",
        ]
    }
    [entry] = transcript([BotUttered("Events.", data={"custom": listed})])
    # The address is rebuilt from the slug: a stored payload never names another site.
    assert entry["custom"] == {
        "events": [
            {"slug": "a-webinar", "title": "A webinar", "calendar_url": "events/a-webinar.ics"}
        ]
    }


# --- In the browser ------------------------------------------------------------------------------


@pytest.fixture
def events_chat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The real web channel and page, served by uvicorn (as tests/test_browser.py's plan
    chat), answering with the real events action from a SQLite database of the test events."""
    import threading
    import time

    import uvicorn

    from tests.conftest import free_port

    more = tmp_path / "more.yml"
    more.write_text(MORE_EVENTS, encoding="utf-8")
    url = seed_database(f"sqlite:///{tmp_path / 'ecrin.db'}", FIXTURES / "events.yml", more)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("ECRIN_TODAY", TODAY)
    port = free_port()
    config = uvicorn.Config(
        web_chat_app(EventsActionAgent()), host="127.0.0.1", port=port, ws="none",
        log_level="warning",
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the web chat did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/webhooks/web/"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.e2e
def test_add_to_calendar_links_sit_under_the_answer_and_download_the_event(
    browser, events_chat: str
) -> None:
    from playwright.sync_api import expect

    from tests.test_browser import ask as ask_in_page
    from tests.test_browser import phone_page

    context, page, problems = phone_page(browser)
    page.goto(events_chat)
    ask_in_page(page, "what's coming up?")

    link = page.get_by_role("link", name="Add to calendar: Test conference for researchers")
    expect(link).to_be_visible(timeout=30_000)
    # One link on each event's card, inside the answer, before its "Show more events" chip.
    answer = page.locator(".msg--bot").last
    expect(answer.locator(".card__calendar")).to_have_count(3)
    card = answer.locator(".card", has_text="Test conference for researchers")
    expect(card.locator(".card__calendar")).to_have_attribute(
        "href", "events/test-conference-researchers-dec.ics"
    )

    with page.expect_download() as downloading:
        link.click()
    saved = downloading.value
    assert saved.suggested_filename == "test-conference-researchers-dec.ics"
    [event] = vevents(Path(saved.path()).read_bytes())
    assert str(event["SUMMARY"]) == "Test conference for researchers"

    page.reload()  # the links come back with the conversation
    expect(page.locator(".msg--bot .card__calendar")).to_have_count(3, timeout=30_000)
    assert problems == []
    context.close()
