"""Event queries, answers and imports on a real SQLite database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot import db
from bot.events import answer, find, parse_query
from bot.importer import read_csv, read_ics
from bot.models import Event
from bot.seed import SeedError, seed_events, upsert
from tests.conftest import seed_database

FIXTURES = Path(__file__).parent / "fixtures"
TODAY = dt.date(2026, 11, 30)


@pytest.fixture
def events_db(empty_database: str) -> str:
    """A database (SQLite, then PostgreSQL) whose only events are the made-up ones in
    tests/fixtures/events.yml."""
    return seed_database(empty_database, FIXTURES / "events.yml")


def titles(database_url: str, question: str) -> list[str]:
    with db.session_scope(database_url) as session:
        return [e.title for e in find(session, parse_query(question, TODAY), limit=10)]


def test_webinars_in_may(events_db: str) -> None:
    assert titles(events_db, "any webinars in May?") == ["Test webinar on consent for patients"]


def test_upcoming_lists_dated_events_in_order_then_self_paced_courses(events_db: str) -> None:
    assert titles(events_db, "what's coming up?") == [
        "Test conference for researchers",
        "Test training for everyone",
        "Test webinar on consent for patients",
        "Test self-paced course",
    ]


def test_audience_includes_events_for_everyone(events_db: str) -> None:
    assert titles(events_db, "trainings for researchers") == ["Test training for everyone"]


def test_country_and_past(events_db: str) -> None:
    assert titles(events_db, "events in Portugal") == ["Test conference for researchers"]
    assert titles(events_db, "past events") == ["Test trials day 2025"]


def test_no_match_says_so_plainly_and_offers_the_nearest(events_db: str) -> None:
    with db.session_scope(events_db) as session:
        result = answer(session, parse_query("any conferences this week?", TODAY), TODAY)
    assert result.text.startswith("I couldn't find any conferences this week.")
    assert (
        "The nearest I know of:\n• Test conference for researchers — 10 December 2026"
        in result.text
    )
    assert "20 May 2027" in result.text  # the recurring trials day
    assert "Learn more: https://" in result.text


def test_answers_page_three_at_a_time(events_db: str) -> None:
    with db.session_scope(events_db) as session:
        first = answer(session, parse_query("upcoming events", TODAY), TODAY)
        second = answer(session, parse_query("upcoming events", TODAY), TODAY, page=2)
    assert first.has_more and first.text.count("•") == 3
    assert not second.has_more and "Test self-paced course" in second.text


def test_seeding_events_is_idempotent(events_db: str) -> None:
    with db.session_scope(events_db) as session:
        report = seed_events(session, FIXTURES / "events.yml")
        count = session.scalar(select(func.count()).select_from(Event))
    assert (report.created, report.updated, report.unchanged) == (0, 0, 5) and count == 5


def test_times_keep_their_timezone(events_db: str) -> None:
    with db.session_scope(events_db) as session:
        event = session.scalars(
            select(Event).where(Event.slug == "test-conference-researchers-dec")
        ).one()
        assert event.starts_at == dt.datetime(2026, 12, 10, 8, 0, tzinfo=dt.timezone.utc)


GOOD_CSV = (
    "title,kind,organiser,audience,starts_at,ends_at,online,url,source_url\n"
    "Imported webinar,webinar,ECRIN,patients,2027-02-01T14:00:00+01:00,"
    "2027-02-01T15:00:00+01:00,true,https://example.org/w,https://example.org\n"
)


def test_csv_import_creates_events(events_db: str, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(GOOD_CSV)
    rows = read_csv(path, TODAY)
    with db.session_scope(events_db) as session:
        assert upsert(session, Event, rows).created == 1
    assert rows[0]["slug"] == "imported-webinar-2027-02-01" and rows[0]["online"] is True


GOOD_ROW = GOOD_CSV.split("\n")[1]


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        (GOOD_ROW.replace(",2027-02-01T15", ",2027-01-01T15"), "line 3: the event ends"),
        (
            GOOD_ROW.replace("2027-02-01T", "2025-02-01T"),
            "line 3: the event is in the past (2025-02-01)",
        ),
        (
            GOOD_ROW.replace("14:00:00+01:00", "14:00:00"),
            "line 3: starts_at 2027-02-01T14:00:00 has no",
        ),
        (GOOD_ROW.replace("webinar,ECRIN", "party,ECRIN"), "line 3: kind must be one of"),
        (
            GOOD_ROW.removesuffix(",https://example.org") + ",",
            "line 3: missing field(s) source_url",
        ),
    ],
)
def test_a_bad_row_is_named_and_nothing_of_the_file_is_written(
    events_db: str, tmp_path: Path, bad_row: str, message: str
) -> None:
    path = tmp_path / "events.csv"
    path.write_text(GOOD_CSV + bad_row + "\n")
    with pytest.raises(SeedError) as caught:
        read_csv(path, TODAY)
    assert message in str(caught.value)
    with db.session_scope(events_db) as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 5  # the fixtures only


def test_wrong_columns_are_listed(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("title,kind,when\nX,webinar,2027-01-01\n")
    with pytest.raises(SeedError) as caught:
        read_csv(path, TODAY)
    assert (
        "line 1: missing column(s) organiser, source_url, starts_at; unknown column(s) when"
        in str(caught.value)
    )


def test_csv_that_is_not_utf8_is_rejected_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_bytes(GOOD_CSV.encode() + "Caf\xe9 webinar".encode("latin-1"))
    with pytest.raises(SeedError, match=r"line 3: the file is not UTF-8"):
        read_csv(path, TODAY)


ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:abc-123@example.org
SUMMARY:Feed webinar
DTSTART:20270301T130000Z
DTEND:20270301T140000Z
LOCATION:Online
URL:https://example.org/feed
END:VEVENT
END:VCALENDAR
"""


def test_ics_import_reads_events_with_their_times(tmp_path: Path) -> None:
    path = tmp_path / "feed.ics"
    path.write_text(ICS)
    [row] = read_ics(path, TODAY, kind="webinar", organiser="EUPATI")
    assert row["title"] == "Feed webinar" and row["online"] is True
    assert row["starts_at"] == dt.datetime(2027, 3, 1, 13, 0, tzinfo=dt.timezone.utc)
    assert row["source_url"] == "https://example.org/feed"


def test_ics_event_ending_before_it_starts_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "feed.ics"
    path.write_text(ICS.replace("DTEND:20270301T140000Z", "DTEND:20270301T120000Z"))
    with pytest.raises(SeedError, match=r"event 1 \(Feed webinar\): the event ends"):
        read_ics(path, TODAY, kind="webinar", organiser="EUPATI")


def test_days_are_shown_in_the_events_own_time_zone(events_db: str) -> None:
    # Stored in UTC this is 19 May 22:00; Madrid's organisers said 20 May.
    with db.session_scope(events_db) as session:
        result = answer(session, parse_query("past events", TODAY), TODAY)
    assert "Test trials day 2025 — 20 May 2025, Madrid." in result.text


def test_only_self_paced_courses_found_says_no_dated_ones_are_announced(tmp_path: Path) -> None:
    url = seed_database(f"sqlite:///{tmp_path / 'only-courses.db'}", FIXTURES / "events.yml")
    with db.session_scope(url) as session:
        result = answer(
            session, parse_query("courses for patients", dt.date(2027, 6, 1)), dt.date(2027, 6, 1)
        )
    assert result.text.startswith(
        "I couldn't find any dated courses or trainings for patients coming up, "
        "but these self-paced courses are open any time:\n• Test self-paced course"
    )


def test_a_question_about_a_country_with_an_article_is_described_naturally() -> None:
    query = parse_query("any webinars in Holland in May?", TODAY)
    assert query.country == "NL"
    assert "webinars in the Netherlands" in query.describe()
