"""bot/data_health.py on a real SQLite lookup database: which rows are stale, which links
failed, how far the dated calendar reaches, and the warnings staff see."""

from __future__ import annotations

import datetime as dt

import pytest

from bot import db
from bot.data_health import DataHealth, StaleRow, data_health
from bot.models import LinkCheck
from tests.lookup_rows import UTC, event, partner, retired

TODAY = dt.date(2026, 12, 7)
RECENT = dt.date(2026, 11, 30)
LONG_AGO = dt.date(2026, 5, 1)  # 220 days before TODAY
HORIZON_WARNING = "No dated event after 2027-03-07: add the next ones in Events."


@pytest.fixture
def lookup_url(empty_database: str) -> str:
    """A migrated, empty lookup database, on SQLite and on PostgreSQL."""
    db.upgrade(empty_database)
    return empty_database


def health_of(url: str, today: dt.date = TODAY, **options: int) -> DataHealth:
    with db.session_scope(url) as session:
        return data_health(session, today, **options)


def checked(url: str, ok: bool, status: int | None, error: str | None, when: dt.datetime):
    return LinkCheck(url=url, ok=ok, status=status, error=error, checked_at=when)


def test_an_empty_database_warns_about_the_calendar_and_the_link_check(lookup_url: str) -> None:
    health = health_of(lookup_url)
    assert health.warnings == (
        HORIZON_WARNING,
        "Links have never been checked: run `bot data check-links`.",
    )
    assert (health.live_events, health.live_partners, health.stale_rows) == (0, 0, ())
    assert health.last_dated_event is None and health.last_link_check is None
    assert health.summary()[:2] == [f"Warning: {warning}" for warning in health.warnings]


def test_stale_rows_are_current_live_rows_unchecked_for_too_long(lookup_url: str) -> None:
    with db.session_scope(lookup_url) as session:
        session.add_all(
            [
                event("upcoming-old", dt.date(2027, 1, 10), last_checked=LONG_AGO),
                event("upcoming-fresh", dt.date(2027, 1, 11), last_checked=RECENT),
                event("never", dt.date(2027, 1, 12)),  # last_checked None
                event("self-paced", None, last_checked=LONG_AGO, title="Open course"),
                event(
                    "yearly",
                    dt.date(2005, 5, 20),
                    recurrence="FREQ=YEARLY;BYMONTH=5;BYMONTHDAY=20",
                    last_checked=LONG_AGO,
                ),
                event("past", dt.date(2026, 3, 1), last_checked=LONG_AGO),  # history
                event("retired", dt.date(2027, 1, 13), **retired()),
                partner("old", LONG_AGO, acronym="OLD"),
                partner("fresh", RECENT),
                partner("gone", LONG_AGO, **retired()),
                # Exactly 180 days: not yet stale.
                partner("edge", TODAY - dt.timedelta(days=180)),
            ]
        )
    health = health_of(lookup_url)
    assert health.stale_rows == (
        StaleRow("events", "never", "Test event never", None),
        StaleRow("partners", "old", "OLD (Test partner old)", LONG_AGO),
        StaleRow("events", "self-paced", "Open course", LONG_AGO),
        StaleRow("events", "upcoming-old", "Test event upcoming-old", LONG_AGO),
        StaleRow("events", "yearly", "Test event yearly", LONG_AGO),
    )
    assert (health.live_events, health.live_partners) == (6, 3)
    assert "5 row(s) not checked against their source for more than 180 days" in "".join(
        health.warnings
    )
    # A shorter limit makes the recently checked rows stale too.
    assert len(health_of(lookup_url, stale_after_days=3).stale_rows) == 8


def test_the_last_dated_event_ignores_recurring_past_and_retired_rows(lookup_url: str) -> None:
    with db.session_scope(lookup_url) as session:
        session.add_all(
            [
                event("soon", dt.date(2027, 1, 20), last_checked=RECENT),
                # Late on 7 March in UTC is 8 March in Paris: the event's own day counts.
                event(
                    "paris",
                    None,
                    starts_at=dt.datetime(2027, 3, 7, 23, 30, tzinfo=UTC),
                    timezone="Europe/Paris",
                    last_checked=RECENT,
                ),
                event(
                    "yearly",
                    dt.date(2005, 12, 20),
                    recurrence="FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=20",
                    last_checked=RECENT,
                ),
                event("later-but-retired", dt.date(2027, 9, 1), **retired()),
                event("self-paced", None, last_checked=RECENT),
            ]
        )
    health = health_of(lookup_url)
    assert health.last_dated_event == dt.date(2027, 3, 8)
    assert health.horizon == dt.date(2027, 3, 7)
    assert HORIZON_WARNING not in health.warnings
    # Two more days and 8 March is no longer beyond the horizon.
    later = health_of(lookup_url, today=dt.date(2026, 12, 9))
    assert "No dated event after 2027-03-09: add the next ones in Events." in later.warnings
    # Once every dated event is over, there is none at all (the yearly row does not count).
    over = health_of(lookup_url, today=dt.date(2027, 4, 1))
    assert over.last_dated_event is None


def test_failed_links_are_the_published_ones_whose_last_check_failed(lookup_url: str) -> None:
    when = dt.datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
    missing, dead, fine = (
        "https://example.org/missing",
        "https://example.org/dead",
        "https://example.org/fine",
    )
    with db.session_scope(lookup_url) as session:
        session.add_all(
            [
                event("a", dt.date(2027, 6, 1), url=missing, last_checked=RECENT),
                partner("p", RECENT, website=missing, contact_url=dead, source_url=fine),
                event("retired", dt.date(2027, 6, 2), url="https://example.org/old", **retired()),
                checked(missing, False, 404, "HTTP 404", when),
                checked(dead, False, None, "connection refused", when),
                checked(fine, True, 200, None, when),
                # Failed, but no live row shows it any more: not a problem for anyone.
                checked("https://example.org/old", False, 404, "HTTP 404", when),
            ]
        )
    health = health_of(lookup_url)
    assert [(f.url, f.problem, [str(r) for r in f.used_by]) for f in health.failed_links] == [
        (dead, "connection refused", ["partners/p"]),
        (missing, "HTTP 404", ["events/a", "partners/p"]),
    ]
    assert health.failed_links[0].checked_at == when
    assert (health.links_published, health.links_checked) == (4, 3)
    assert health.last_link_check == when
    assert health.warnings == (
        "2 link(s) failed their last check: fix or retire the rows that use them.",
    )


def test_an_old_link_check_is_a_warning(lookup_url: str) -> None:
    with db.session_scope(lookup_url) as session:
        session.add(event("a", dt.date(2027, 6, 1), last_checked=RECENT))
        session.add(
            checked(
                "https://example.org/events/a",
                True,
                200,
                None,
                dt.datetime(2026, 11, 6, tzinfo=UTC),
            )
        )
    assert health_of(lookup_url, today=dt.date(2026, 12, 6)).warnings == ()
    stale_check = health_of(lookup_url, today=dt.date(2026, 12, 7)).warnings
    assert stale_check == (
        "Links were last checked on 2026-11-06, more than 30 days ago: run `bot data "
        "check-links` (docs/data.md shows how to schedule it).",
    )
