"""The dashboard's "Data health" section, on the real app with a real SQLite lookup database:
warnings first, stale rows and failed links linked to their edit pages, and a page that still
renders when the lookup database cannot be read."""

from __future__ import annotations

import datetime as dt
import html
import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from bot import db
from bot.models import LinkCheck, Partner
from tests.lookup_rows import UTC, event, lookup_database, partner
from tests.review.conftest import ADMIN, REVIEWER, XSS, logged_in

LONG_AGO = dt.date(2026, 1, 5)
RECENT = dt.date(2026, 12, 1)


@pytest.fixture
def lookup_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("ECRIN_TODAY", "2026-12-07")
    return lookup_database(tmp_path)


def section(page: str) -> str:
    """The data-health section of the dashboard's HTML."""
    start = page.index('<h2 id="data-health">')
    return page[start : page.index("</section>", start)]


def test_the_dashboard_shows_warnings_stale_rows_and_failed_links(
    seeded_sqlite: str, lookup_url: str
) -> None:
    missing = "https://example.org/moved-away"
    with db.session_scope(lookup_url) as session:
        session.add_all(
            [
                event("soon", dt.date(2027, 1, 15), last_checked=LONG_AGO, title=f"Café {XSS}"),
                partner("fcrin", RECENT, acronym="F-TEST", website=missing),
                LinkCheck(
                    url=missing,
                    ok=False,
                    status=404,
                    error="HTTP 404",
                    checked_at=dt.datetime(2026, 12, 6, 2, 30, tzinfo=UTC),
                ),
            ]
        )
    page = logged_in(seeded_sqlite, REVIEWER, lookup_database_url=lookup_url).client.get(
        "/dashboard"
    )
    assert page.status_code == 200
    shown = section(page.text)
    # Warnings come first, before the figures and lists.
    horizon = "No dated event after 2027-03-07: add the next ones in Events."
    assert shown.index(horizon) < shown.index('<dl class="figures">')
    assert "1 link(s) failed their last check" in shown
    # The stale event, escaped, linked to its edit page.
    assert (
        f'<a href="/events/edit?slug=soon">Café {html.escape(XSS, quote=False)}</a>' in shown
        and XSS not in page.text
    )
    assert "2026-01-05" in shown
    # The failed link, its problem, when, and the row that shows it.
    assert f'<a href="{missing}" rel="noopener noreferrer">{missing}</a>' in shown
    assert "HTTP 404" in shown and "2026-12-06 02:30" in shown
    assert '<a href="/partners/edit?slug=fcrin">F-TEST (Test partner fcrin)</a>' in shown
    assert "2026-12-06" in shown  # the last link check
    # The charts are still there, below.
    assert page.text.count("<svg") == 8 and page.text.index("data-health") < page.text.index("<svg")


def test_long_lists_are_capped_and_healthy_data_says_so(
    seeded_sqlite: str, lookup_url: str
) -> None:
    with db.session_scope(lookup_url) as session:
        session.add_all([partner(f"p{n:02}", LONG_AGO) for n in range(12)])
    staff = logged_in(seeded_sqlite, ADMIN, lookup_database_url=lookup_url)
    shown = section(staff.client.get("/dashboard").text)
    assert shown.count('href="/partners/edit?slug=p') == 10
    assert "And 2 more" in shown

    with db.session_scope(lookup_url) as session:
        for row in session.scalars(select(Partner)):
            row.last_checked = RECENT
        session.add(event("later", dt.date(2027, 6, 1), last_checked=RECENT, source_url="x"))
        session.add(
            LinkCheck(
                url="https://example.org/partners/p00",
                ok=True,
                status=200,
                checked_at=dt.datetime(2026, 12, 6, tzinfo=UTC),
            )
        )
    shown = section(staff.client.get("/dashboard").text)
    assert "Nothing to fix" in shown and "flash--error" not in shown


def test_an_unreadable_lookup_database_leaves_a_note_and_the_rest_of_the_page(
    seeded_sqlite: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    never_migrated = f"sqlite:///{tmp_path / 'empty.db'}"
    staff = logged_in(seeded_sqlite, ADMIN, lookup_database_url=never_migrated)
    with caplog.at_level(logging.WARNING, logger="bot.review.pages.dashboard"):
        page = staff.client.get("/dashboard")
    assert page.status_code == 200
    assert "Data health unavailable" in section(page.text)
    assert page.text.count("<svg") == 8
    assert any("Data health unavailable" in r.getMessage() for r in caplog.records)
