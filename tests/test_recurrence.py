"""Days held every year and retired rows, as the assistant's event and partner look-ups see them
(real databases: SQLite, then PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from bot import db
from bot.countries import gazetteer
from bot.events import answer, event_by_slug, find, parse_query, upcoming_events
from bot.models import Event, Partner
from bot.partners import lookup
from bot.recurrence import RecurrenceError, occurrences, parse_rule
from bot.seed import SEED_DIR, SeedError, check_event, seed_events
from tests.conftest import seed_database

FIXTURES = Path(__file__).parent / "fixtures"
TODAY = dt.date(2026, 12, 7)
PARIS = "+01:00"


def yearly(slug: str, title: str, first: str, rule: str, **extra: str) -> dict:
    return {
        "slug": slug,
        "title": title,
        "kind": "awareness_day",
        "organiser": "Test organiser",
        "starts_at": f"{first}T00:00:00{extra.pop('offset', PARIS)}",
        "ends_at": f"{first}T23:59:00{extra.pop('end_offset', PARIS)}",
        "country": "FR",
        "recurrence": rule,
        "source_url": "https://example.org/test-day",
        **extra,
    }


@pytest.fixture
def days_db(empty_database: str, tmp_path: Path) -> str:
    """The made-up events of tests/fixtures/events.yml plus two made-up yearly days."""
    url = seed_database(empty_database, FIXTURES / "events.yml")
    days = [
        yearly("test-may-day", "Test day in May", "2005-05-20",
               "FREQ=YEARLY;BYMONTH=5;BYMONTHDAY=20", offset="+02:00", end_offset="+02:00"),
        yearly("test-leap-day", "Test last day of February", "2008-02-29",
               "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1"),
    ]  # fmt: skip
    path = tmp_path / "days.yml"
    path.write_text(yaml.safe_dump({"events": days}), encoding="utf-8")
    with db.session_scope(url) as session:
        seed_events(session, path)
    return url


def titles_and_days(url: str, question: str, today: dt.date = TODAY) -> list[tuple[str, str]]:
    with db.session_scope(url) as session:
        found = find(session, parse_query(question, today), limit=20)
        return [
            (e.title, e.local(e.starts_at).date().isoformat() if e.starts_at else "") for e in found
        ]


def test_a_yearly_day_is_upcoming_on_its_next_date_in_its_own_time(days_db: str) -> None:
    found = titles_and_days(days_db, "what's coming up?")
    assert ("Test last day of February", "2027-02-28") in found
    assert ("Test day in May", "2027-05-20") in found
    # Once: the next occurrence only, not every year to come.
    assert [t for t, _ in found].count("Test day in May") == 1


def test_a_yearly_day_is_found_in_the_month_asked_for(days_db: str) -> None:
    assert titles_and_days(days_db, "awareness days in May 2028") == [
        ("Test day in May", "2028-05-20")
    ]
    # A leap year's last day of February is the 29th.
    assert ("Test last day of February", "2028-02-29") in titles_and_days(
        days_db, "events in February 2028"
    )


def test_upcoming_order_mixes_yearly_days_and_dated_events_by_date(days_db: str) -> None:
    with db.session_scope(days_db) as session:
        events = upcoming_events(session, TODAY)
        starts = [e.starts_at for e in events]
        assert starts == sorted(starts) and len(events) >= 2
        assert all(e.starts_at is not None for e in events)


def test_past_events_list_one_off_events_not_every_year_of_a_day(days_db: str) -> None:
    found = titles_and_days(days_db, "past events")
    assert found and not any(title.startswith("Test day") for title, _ in found)
    # A past month still shows the day held in it.
    assert ("Test day in May", "2026-05-20") in titles_and_days(days_db, "events in May 2026")


def test_answer_dates_a_yearly_day_in_words(days_db: str) -> None:
    with db.session_scope(days_db) as session:
        text = answer(session, parse_query("awareness days in May 2027", TODAY), TODAY).text
    assert "Test day in May — 20 May 2027 (held every year)" in text


def test_event_by_slug_dates_a_yearly_day_on_its_next_occurrence(days_db: str) -> None:
    with db.session_scope(days_db) as session:
        event = event_by_slug(session, "test-may-day", TODAY)
        assert event is not None and event.local(event.starts_at).date() == dt.date(2027, 5, 20)
        assert event_by_slug(session, "no-such-event", TODAY) is None


def test_summer_time_keeps_a_yearly_day_all_day_in_local_time(days_db: str) -> None:
    with db.session_scope(days_db) as session:
        event = session.query(Event).filter_by(slug="test-leap-day").one()
        start, end = next(occurrences(event, dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)))
    assert (start.hour, end.hour, end.minute) == (0, 23, 59)
    assert start.utcoffset() == dt.timedelta(hours=1)


def test_retired_events_and_partners_are_never_named(days_db: str) -> None:
    with db.session_scope(days_db) as session:
        for event in session.query(Event).filter(Event.slug.in_(["test-may-day"])):
            event.retired_at = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
    assert "Test day in May" not in [t for t, _ in titles_and_days(days_db, "what's coming up?")]
    with db.session_scope(days_db) as session:
        assert event_by_slug(session, "test-may-day", TODAY) is None


def test_a_retired_partner_is_not_the_contact(empty_database: str) -> None:
    url = seed_database(empty_database, FIXTURES / "events.yml")
    with db.session_scope(url) as session:
        session.add(
            Partner(slug="test-fr", kind="ecrin_partner", name="Test partner", country="FR",
                    source_url="https://example.org/p", last_checked=TODAY)
        )  # fmt: skip
    france = gazetteer().countries["FR"]
    with db.session_scope(url) as session:
        assert "test-fr" in [p.slug for p in lookup(session, france).ecrin_partners]
        session.query(Partner).filter_by(slug="test-fr").one().retired_at = dt.datetime.now(
            dt.timezone.utc
        )
    with db.session_scope(url) as session:
        assert "test-fr" not in [p.slug for p in lookup(session, france).ecrin_partners]


@pytest.mark.parametrize(
    "rule",
    ["FREQ=MONTHLY;BYMONTHDAY=1", "FREQ=WEEKLY", "not a rule", "FREQ=YEARLY;BYMONTH=13"],
)
def test_only_yearly_rules_are_accepted(rule: str) -> None:
    with pytest.raises(RecurrenceError):
        parse_rule(rule, dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc))
    row = yearly("bad", "Bad", "2020-01-01", rule)
    with pytest.raises(SeedError, match="recurrence"):
        check_event(row, "row 1")


def test_a_rule_needs_a_first_occurrence() -> None:
    row = yearly("bad", "Bad", "2020-01-01", "FREQ=YEARLY")
    row.pop("starts_at"), row.pop("ends_at")
    with pytest.raises(SeedError, match="needs starts_at"):
        check_event(row, "row 1")


def test_the_real_data_has_at_least_three_upcoming_dated_events(empty_database: str) -> None:
    # The public calendar and "what's coming up?" must never run dry: the yearly days in
    # data/db/events.yml see to that, whatever year it is.
    url = seed_database(empty_database, SEED_DIR / "events.yml")
    for today in (TODAY, dt.date(2031, 6, 1)):
        with db.session_scope(url) as session:
            assert len(upcoming_events(session, today)) >= 3


def test_migration_0005_adds_the_data_care_columns_and_downgrades(tmp_path: Path) -> None:
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    db.upgrade(url, "0004")
    db.upgrade(url)
    engine = sa.create_engine(url, future=True)
    inspector = sa.inspect(engine)
    columns = {c["name"] for c in inspector.get_columns("events")}
    assert {"recurrence", "retired_at", "last_checked"} <= columns
    assert "retired_at" in {c["name"] for c in inspector.get_columns("partners")}
    assert {"data_changes", "link_checks"} <= set(inspector.get_table_names())
    config = Config()
    config.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
    config.set_main_option("sqlalchemy.url", url)
    command.downgrade(config, "0004")
    inspector = sa.inspect(engine)
    assert "recurrence" not in {c["name"] for c in inspector.get_columns("events")}
    assert "data_changes" not in inspector.get_table_names()
    engine.dispose()
