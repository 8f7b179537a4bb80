"""bot/link_check.py against a local web site (tests/link_server.py), never the internet: each
kind of answer, the User-Agent, which addresses count as published, and what is stored."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bot import db
from bot.link_check import USER_AGENT, RowRef, check_links, check_url, check_urls, published_urls
from bot.models import Event, LinkCheck
from tests.link_server import FakeSite, closed_port_url, fake_site
from tests.lookup_rows import event, partner, retired

SHORT = 0.3  # seconds: well under the slow path's wait


@pytest.fixture
def site() -> Iterator[FakeSite]:
    with fake_site() as running:
        yield running


@pytest.fixture
def lookup_url(empty_database: str) -> str:
    """A migrated, empty lookup database, on SQLite and on PostgreSQL."""
    db.upgrade(empty_database)
    return empty_database


# --- One address -----------------------------------------------------------------------------


def test_a_page_that_answers_200_is_ok_with_one_head_request(site: FakeSite) -> None:
    result = check_url(site.url("/ok"), timeout=SHORT)
    assert (result.ok, result.status, result.error, result.problem) == (True, 200, None, "")
    assert site.requests == [("HEAD", "/ok", USER_AGENT)]
    assert "ECRIN" in USER_AGENT


def test_a_redirect_is_followed_and_a_head_stays_a_head(site: FakeSite) -> None:
    result = check_url(site.url("/moved"), timeout=SHORT)
    assert (result.ok, result.status) == (True, 200)
    assert [(method, path) for method, path, _ in site.requests] == [
        ("HEAD", "/moved"),
        ("HEAD", "/ok"),
    ]


def test_a_missing_page_fails_with_its_status_after_a_get_to_be_sure(site: FakeSite) -> None:
    result = check_url(site.url("/missing"), timeout=SHORT)
    assert (result.ok, result.status, result.error, result.problem) == (
        False,
        404,
        "HTTP 404",
        "HTTP 404",
    )
    assert [method for method, _, _ in site.requests] == ["HEAD", "GET"]
    redirected = check_url(site.url("/moved-to-missing"), timeout=SHORT)
    assert (redirected.ok, redirected.status) == (False, 404)
    assert check_url(site.url("/broken"), timeout=SHORT).error == "HTTP 500"


def test_a_redirect_loop_fails(site: FakeSite) -> None:
    result = check_url(site.url("/loop"), timeout=SHORT)
    assert (result.ok, result.status, result.error) == (False, 302, "redirect loop")


def test_a_server_that_refuses_head_is_asked_with_get(site: FakeSite) -> None:
    result = check_url(site.url("/no-head"), timeout=SHORT)
    assert (result.ok, result.status) == (True, 200)
    assert [method for method, _, _ in site.requests] == ["HEAD", "GET"]


def test_a_slow_server_times_out(site: FakeSite) -> None:
    started = dt.datetime.now()
    result = check_url(site.url("/slow"), timeout=SHORT)
    assert (result.ok, result.status, result.error) == (False, None, "timed out")
    assert dt.datetime.now() - started < dt.timedelta(seconds=1.2)


def test_a_closed_port_is_connection_refused() -> None:
    result = check_url(closed_port_url(), timeout=SHORT)
    assert (result.ok, result.status, result.error) == (False, None, "connection refused")


def test_many_addresses_are_checked_once_each_in_the_order_given(site: FakeSite) -> None:
    urls = [site.url("/missing"), site.url("/ok"), site.url("/missing"), site.url("/no-head")]
    results = check_urls(urls, timeout=SHORT, concurrency=3)
    assert [(r.url, r.ok) for r in results] == [(urls[0], False), (urls[1], True), (urls[3], True)]
    heads = [path for method, path, _ in site.requests if method == "HEAD"]
    assert sorted(heads) == ["/missing", "/no-head", "/ok"]


# --- The database ----------------------------------------------------------------------------


def test_published_urls_are_the_live_rows_addresses(lookup_url: str) -> None:
    shared = "https://example.org/shared"
    with db.session_scope(lookup_url) as session:
        session.add_all(
            [
                event("webinar", dt.date(2027, 1, 15), url=shared, source_url=shared),
                event("retired", dt.date(2027, 2, 1), url="https://example.org/old", **retired()),
                event("course", None, url="mailto:someone@example.org"),
                partner(
                    "fcrin",
                    dt.date(2026, 12, 1),
                    website=shared,
                    contact_url=" https://example.org/contact ",
                    acronym="F-TEST",
                ),
                partner(
                    "gone", dt.date(2026, 12, 1), website="https://example.org/gone", **retired()
                ),
            ]
        )
    with db.session_scope(lookup_url) as session:
        found = published_urls(session)
    assert found == {
        "https://example.org/contact": [
            RowRef("partners", "fcrin", "F-TEST (Test partner fcrin)", ("contact_url",))
        ],
        "https://example.org/events/course": [
            RowRef("events", "course", "Test event course", ("source_url",))
        ],
        "https://example.org/partners/fcrin": [
            RowRef("partners", "fcrin", "F-TEST (Test partner fcrin)", ("source_url",))
        ],
        shared: [
            RowRef("events", "webinar", "Test event webinar", ("url", "source_url")),
            RowRef("partners", "fcrin", "F-TEST (Test partner fcrin)", ("website",)),
        ],
    }
    assert str(found[shared][0]) == "events/webinar"


def stored(url: str) -> dict[str, tuple[bool, int | None, str | None, dt.datetime]]:
    with db.session_scope(url) as session:
        return {
            row.url: (row.ok, row.status, row.error, row.checked_at)
            for row in session.scalars(select(LinkCheck))
        }


def test_check_links_stores_one_answer_per_address_and_updates_it(
    site: FakeSite, lookup_url: str
) -> None:
    ok, missing, dead = site.url("/ok"), site.url("/missing"), closed_port_url()
    with db.session_scope(lookup_url) as session:
        session.add_all(
            [
                event("a", dt.date(2027, 1, 15), url=ok, source_url=missing),
                event("b", dt.date(2027, 1, 16), url=ok, source_url=ok),
                partner("p", dt.date(2026, 12, 1), website=dead, source_url=ok),
                event("c", dt.date(2027, 1, 17), url=site.url("/gone"), **retired()),
            ]
        )
    with db.session_scope(lookup_url) as session:
        report = check_links(session, timeout=SHORT)
    assert report.summary() == "Checked 3 link(s): 1 ok, 2 failed."
    assert sorted(r.url for r in report.failures) == sorted([missing, dead])
    assert [str(row) for row in report.used_by[ok]] == ["events/a", "events/b", "partners/p"]
    assert [path for method, path, _ in site.requests if method == "HEAD"].count("/ok") == 1
    assert "/gone" not in {path for _, path, _ in site.requests}  # retired: not published

    first = stored(lookup_url)
    assert {url: answer[:3] for url, answer in first.items()} == {
        ok: (True, 200, None),
        missing: (False, 404, "HTTP 404"),
        dead: (False, None, "connection refused"),
    }
    assert all(answer[3].tzinfo is not None for answer in first.values())

    with db.session_scope(lookup_url) as session:
        again = check_links(session, timeout=SHORT)
    second = stored(lookup_url)
    assert again.checked == 3 and set(second) == set(first)
    assert all(second[url][3] >= first[url][3] for url in first)


def test_only_failed_rechecks_the_failures_and_a_fixed_link_turns_ok(
    site: FakeSite, lookup_url: str
) -> None:
    with db.session_scope(lookup_url) as session:
        session.add(event("a", dt.date(2027, 1, 15), url=site.url("/ok"), source_url="x"))
        session.add(event("b", dt.date(2027, 1, 16), url=site.url("/missing"), source_url="x"))
    with db.session_scope(lookup_url) as session:
        check_links(session, timeout=SHORT)
    site.requests.clear()
    with db.session_scope(lookup_url) as session:
        report = check_links(session, timeout=SHORT, only_failed=True)
    assert [r.url for r in report.results] == [site.url("/missing")]
    assert {path for _, path, _ in site.requests} == {"/missing"}

    # Staff fix the address; the next full run forgets the old one's failure.
    with db.session_scope(lookup_url) as session:
        fixed = session.scalars(select(Event).where(Event.slug == "b")).one()
        fixed.url = site.url("/no-head")
    with db.session_scope(lookup_url) as session:
        report = check_links(session, timeout=SHORT)
    assert report.failures == []
    assert set(stored(lookup_url)) == {site.url("/ok"), site.url("/no-head")}
