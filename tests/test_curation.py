"""Issue 19: staff changes to events and partners (bot/curation.py) and their audit trail
(bot/audit.py), on real migrated SQLite files, and once on PostgreSQL.

The events and partners here are made up for the tests (example.org addresses) and are only
ever written to the temporary databases.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot import audit, curation, db
from bot.curation import FieldErrors
from bot.importer import ParsedRow, parse_upload
from bot.models import Attendance, DataChange, Event, Partner
from bot.seed import check_event

TODAY = dt.date(2026, 12, 1)
UTC = dt.timezone.utc
EDITOR = "alice"


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    """bot.dates.today() reads ECRIN_TODAY: last_checked is then a known day."""
    monkeypatch.setenv("ECRIN_TODAY", TODAY.isoformat())


@pytest.fixture
def lookup_url(tmp_path: Path) -> str:
    """A new, migrated, empty lookup database."""
    url = f"sqlite:///{tmp_path / 'lookup.db'}"
    db.upgrade(url)
    return url


def webinar_form(**fields: str) -> dict[str, str]:
    """The review form for a made-up webinar, with `fields` changed."""
    return {
        "title": "Data sharing in trials",
        "starts_on": "2027-05-20",
        "kind": "webinar",
        "audience": "patients",
        "country": "BE",
        "url": "https://example.org/webinar",
        "organiser": "Test organiser",
        "description": "A made-up webinar for the tests.",
        "csrf_token": "ignored: not an event field",
    } | fields


def partner_form(**fields: str) -> dict[str, str]:
    return {
        "kind": "ecrin_partner",
        "name": "Test Clinical Research Network",
        "acronym": "TCRN",
        "country": "BE",
        "city": "Brussels",
        "website": "https://example.org/tcrn",
        "source_url": "https://example.org/tcrn/about",
        "status_since": "2020-01-01",
    } | fields


def count(session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model))


def field_errors(session, form: dict[str, str], slug: str | None = None) -> dict[str, str]:
    with pytest.raises(FieldErrors) as raised:
        curation.save_event(session, form, EDITOR, slug)
    return raised.value.errors


# --- Creating events from the form -----------------------------------------------------------


def test_an_all_day_event_runs_from_midnight_to_2359_in_the_countrys_zone(lookup_url: str) -> None:
    with db.session_scope(lookup_url) as session:
        event = curation.save_event(session, webinar_form(), EDITOR)
        slug = event.slug
    with db.session_scope(lookup_url) as session:
        event = session.scalars(select(Event).where(Event.slug == slug)).one()
        brussels = ZoneInfo("Europe/Brussels")
        assert slug == "data-sharing-in-trials-2027-05-20"
        assert event.starts_at == dt.datetime(2027, 5, 20, 0, 0, tzinfo=brussels)
        assert event.ends_at == dt.datetime(2027, 5, 20, 23, 59, tzinfo=brussels)
        assert (event.timezone, event.utc_offset_minutes) == ("Europe/Brussels", 120)
        assert event.attendance == Attendance.IN_PERSON and event.online is False
        assert event.source_url == "https://example.org/webinar"  # defaults to url
        assert event.last_checked == TODAY and event.retired_at is None
        [change] = audit.history(session, "events", slug)
    assert (change.action, change.staff) == ("create", EDITOR)
    assert change.changes["title"] == [None, "Data sharing in trials"]
    assert change.changes["starts_at"] == [None, "2027-05-19T22:00:00+00:00"]  # as UTC text


def test_a_time_without_country_or_zone_is_read_in_paris_and_checkboxes_set_attendance(
    lookup_url: str,
) -> None:
    form = webinar_form(starts_on="2027-01-14T14:00", ends_on="2027-01-14T15:30", online="on")
    del form["country"]
    with db.session_scope(lookup_url) as session:
        online = curation.save_event(session, form, EDITOR)
        hybrid = curation.save_event(session, webinar_form(hybrid="on", title="Other"), EDITOR)
        assert online.starts_at.astimezone(UTC) == dt.datetime(2027, 1, 14, 13, 0, tzinfo=UTC)
        assert online.ends_at.astimezone(UTC) == dt.datetime(2027, 1, 14, 14, 30, tzinfo=UTC)
        assert online.timezone == "Europe/Paris"
        assert (online.attendance, online.online) == (Attendance.ONLINE, True)
        assert (hybrid.attendance, hybrid.online) == (Attendance.HYBRID, False)


def test_every_bad_field_is_named_at_once_in_plain_words_and_nothing_is_written(
    lookup_url: str,
) -> None:
    form = webinar_form(
        title="",
        starts_on="20 May 2027",
        kind="party",
        audience="children",
        country="Belgium",
        url="www.example.org",
        online="on",
        hybrid="on",
        timezone="Mars/Olympus",
    )
    with db.session_scope(lookup_url) as session:
        errors = field_errors(session, form)
        assert count(session, Event) == count(session, DataChange) == 0
    assert errors == {
        "title": "Give the event's title",
        "starts_on": curation.GIVE_A_DATE,
        "kind": "Choose one of: webinar, training, conference, awareness_day, course",
        "audience": "Choose one of: patients, researchers, everyone",
        "country": "Give a two-letter country code like FR",
        "timezone": "Give a time zone like Europe/Brussels",
        "online": "Tick online only or hybrid, not both",
        "url": "Give a web address starting with https://",
    }
    assert "Give a date like 2027-05-20" in errors["starts_on"]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"ends_on": "2027-05-19"}, {"ends_on": "The end must come after the start"}),
        ({"starts_on": "2027-13-01"}, {"starts_on": curation.GIVE_A_DATE}),
        ({"starts_on": "2027-13-01", "ends_on": "2027-05-19"}, {"starts_on": curation.GIVE_A_DATE}),
        ({"starts_on": "", "ends_on": "2027-05-19"}, {"starts_on": "Give the start too"}),
        ({"recurrence": "FREQ=DAILY"}, {"recurrence": "Give a yearly rule like "
                                        "FREQ=YEARLY;BYMONTH=5;BYMONTHDAY=20"}),
        ({"starts_on": "", "recurrence": "FREQ=YEARLY;BYMONTH=5;BYMONTHDAY=20"},
         {"starts_on": "A repeating event needs its first date"}),
        ({"url": "", "source_url": ""},
         {"source_url": "Give the web page that announces the event"}),
        ({"source_url": "ftp://example.org"}, {"source_url": curation.WEB_ADDRESS}),
        ({"organiser": " ", "title": "x" * 301},
         {"organiser": "Say who organises the event", "title": "Keep this under 300 characters"}),
    ],
)  # fmt: skip
def test_fields_checked_together_are_blamed_on_the_right_field(
    lookup_url: str, fields: dict[str, str], expected: dict[str, str]
) -> None:
    with db.session_scope(lookup_url) as session:
        assert field_errors(session, webinar_form(**fields)) == expected
        assert count(session, Event) == 0


def test_a_yearly_day_is_saved_with_its_rule(lookup_url: str) -> None:
    rule = "FREQ=YEARLY;BYMONTH=5;BYMONTHDAY=20"
    with db.session_scope(lookup_url) as session:
        event = curation.save_event(session, webinar_form(recurrence=rule), EDITOR)
        assert event.recurrence == rule


def test_the_same_title_and_day_get_distinct_slugs(lookup_url: str) -> None:
    with db.session_scope(lookup_url) as session:
        slugs = [curation.save_event(session, webinar_form(), EDITOR).slug for _ in range(3)]
    assert slugs == [
        "data-sharing-in-trials-2027-05-20",
        "data-sharing-in-trials-2027-05-20-2",
        "data-sharing-in-trials-2027-05-20-3",
    ]


def test_event_row_from_form_gives_a_row_the_seed_accepts_or_names_unreadable_dates() -> None:
    row = curation.event_row_from_form(webinar_form())
    values = check_event(row, "form")
    assert values["slug"] == "data-sharing-in-trials-2027-05-20"
    assert values["timezone"] == "Europe/Brussels"
    with pytest.raises(FieldErrors) as raised:
        curation.event_row_from_form(webinar_form(ends_on="2027-13-01"))
    assert list(raised.value.errors) == ["ends_on"]


# --- Updating, retiring, restoring -----------------------------------------------------------


def test_an_update_records_only_the_fields_that_changed_and_a_same_save_records_nothing(
    lookup_url: str,
) -> None:
    with db.session_scope(lookup_url) as session:
        slug = curation.save_event(session, webinar_form(), EDITOR).slug
    with db.session_scope(lookup_url) as session:
        curation.save_event(session, webinar_form(title="Data sharing, explained"), "bob", slug)
    with db.session_scope(lookup_url) as session:
        curation.save_event(session, webinar_form(title="Data sharing, explained"), "bob", slug)
        event = session.scalars(select(Event).where(Event.slug == slug)).one()
        assert event.title == "Data sharing, explained" and event.slug == slug  # slug is kept
        history = audit.history(session, "events", slug)
    assert [change.action for change in history] == ["update", "create"]  # newest first
    assert history[0].staff == "bob"
    assert history[0].changes == {"title": ["Data sharing in trials", "Data sharing, explained"]}


def test_the_form_of_a_saved_event_saves_back_unchanged(lookup_url: str) -> None:
    timed = {"starts_on": "2027-03-02T10:00", "ends_on": "2027-03-02T11:00", "online": "on"}
    with db.session_scope(lookup_url) as session:
        slugs = [
            curation.save_event(session, webinar_form(**fields), EDITOR).slug
            for fields in ({}, timed)
        ]
    with db.session_scope(lookup_url) as session:
        for slug in slugs:
            event = session.scalars(select(Event).where(Event.slug == slug)).one()
            curation.save_event(session, curation.event_form(event), "bob", slug)
        assert count(session, DataChange) == 2  # the two creations only
    with db.session_scope(lookup_url) as session:
        event = session.scalars(select(Event).where(Event.slug == slugs[1])).one()
        form = curation.event_form(event)
    assert (form["starts_on"], form["ends_on"], form["online"]) == (
        "2027-03-02T10:00",
        "2027-03-02T11:00",
        "on",
    )


def test_bad_update_or_unknown_slug_leaves_the_row_as_it_was(lookup_url: str) -> None:
    with db.session_scope(lookup_url) as session:
        slug = curation.save_event(session, webinar_form(), EDITOR).slug
    with db.session_scope(lookup_url) as session:
        assert field_errors(session, webinar_form(kind="party"), slug) == {
            "kind": "Choose one of: webinar, training, conference, awareness_day, course"
        }
        with pytest.raises(LookupError):
            curation.save_event(session, webinar_form(), EDITOR, "no-such-event")
    with db.session_scope(lookup_url) as session:
        assert session.scalars(select(Event.kind)).one() == "webinar"
        assert count(session, DataChange) == 1


def test_retire_and_restore_are_recorded_once_and_a_retired_row_can_be_edited(
    lookup_url: str,
) -> None:
    with db.session_scope(lookup_url) as session:
        slug = curation.save_event(session, webinar_form(), EDITOR).slug
    with db.session_scope(lookup_url) as session:
        curation.retire(session, Event, slug, "bob")
        curation.retire(session, Event, slug, "bob")  # already retired: nothing more
        curation.save_event(session, webinar_form(location="Room 2"), "bob", slug)
    with db.session_scope(lookup_url) as session:
        event = session.scalars(select(Event).where(Event.slug == slug)).one()
        assert event.retired_at is not None and event.location == "Room 2"  # still retired
        curation.restore(session, Event, slug, "carol")
        curation.restore(session, Event, slug, "carol")  # live already: nothing more
    with db.session_scope(lookup_url) as session:
        assert session.scalars(select(Event.retired_at)).one() is None
        history = audit.history(session, "events", slug)
        for unknown in (curation.retire, curation.restore):
            with pytest.raises(LookupError):
                unknown(session, Partner, slug, "bob")  # a slug of the other table
    assert [(c.action, c.staff) for c in history] == [
        ("restore", "carol"),
        ("update", "bob"),
        ("retire", "bob"),
        ("create", EDITOR),
    ]
    retired_at = history[2].changes["retired_at"]
    assert retired_at[0] is None and retired_at[1] == history[0].changes["retired_at"][0]


def test_a_change_and_its_record_are_committed_together_or_not_at_all(lookup_url: str) -> None:
    with pytest.raises(RuntimeError), db.session_scope(lookup_url) as session:
        curation.save_event(session, webinar_form(), EDITOR)
        raise RuntimeError("the request failed after the save")
    with db.session_scope(lookup_url) as session:
        assert count(session, Event) == count(session, DataChange) == 0


# --- Partners --------------------------------------------------------------------------------


def test_partners_are_saved_checked_today_and_every_bad_field_is_named(lookup_url: str) -> None:
    with db.session_scope(lookup_url) as session:
        partner = curation.save_partner(session, partner_form(), EDITOR)
        assert (partner.slug, partner.last_checked) == ("tcrn", TODAY)
        assert partner.status_since == dt.date(2020, 1, 1)
        with pytest.raises(FieldErrors) as raised:
            curation.save_partner(
                session,
                partner_form(
                    kind="hospital",
                    name="",
                    country="",
                    website="example.org",
                    contact_url="mailto:x",
                    status_since="2020",
                ),
                EDITOR,
                "tcrn",
            )
        assert count(session, DataChange) == 1
    assert raised.value.errors == {
        "status_since": "Give a date like 2027-05-20",
        "name": "Give the organisation's name",
        "kind": "Choose one of: ecrin_partner, eupati_platform, ecrin_office",
        "country": "Give a two-letter country code like FR",
        "website": curation.WEB_ADDRESS,
        "contact_url": curation.WEB_ADDRESS,
    }
    with db.session_scope(lookup_url) as session:
        partner = session.scalars(select(Partner)).one()
        assert partner.name == "Test Clinical Research Network"
        curation.save_partner(
            session, curation.partner_form(partner) | {"city": "Gent"}, "bob", "tcrn"
        )
        [update, _] = audit.history(session, "partners")
    assert update.changes == {"city": ["Brussels", "Gent"]}


def test_history_filters_by_table_and_row_and_keeps_the_newest(lookup_url: str) -> None:
    with db.session_scope(lookup_url) as session:
        slug = curation.save_event(session, webinar_form(), EDITOR).slug
        curation.save_partner(session, partner_form(), EDITOR)
        curation.retire(session, Event, slug, EDITOR)
    with db.session_scope(lookup_url) as session:
        assert [c.table_name for c in audit.history(session)] == ["events", "partners", "events"]
        assert [c.action for c in audit.history(session, "events")] == ["retire", "create"]
        assert [c.slug for c in audit.history(session, slug="tcrn")] == ["tcrn"]
        assert [c.action for c in audit.history(session, limit=1)] == ["retire"]
        stored = session.scalars(select(DataChange.changes)).first()
    assert isinstance(json.loads(stored), dict)


def test_record_keeps_differing_fields_as_text_and_skips_a_change_of_nothing(
    lookup_url: str,
) -> None:
    paris = ZoneInfo("Europe/Paris")
    moment = dt.datetime(2027, 5, 20, 10, 0, tzinfo=paris)
    with db.session_scope(lookup_url) as session:
        same = {"starts_at": moment, "online": True}
        audit.record(
            session,
            "events",
            "e",
            "update",
            EDITOR,
            same,
            same | {"starts_at": moment.astimezone(UTC)},
        )
        audit.record(
            session,
            "events",
            "e",
            "update",
            EDITOR,
            {"online": False, "last_checked": None},
            {"online": True, "last_checked": dt.date(2027, 1, 2)},
        )
        [change] = audit.history(session)
    assert change.changes == {"online": ["false", "true"], "last_checked": [None, "2027-01-02"]}


# --- Uploads ---------------------------------------------------------------------------------

CSV_HEADER = "slug,title,kind,organiser,starts_at,ends_at,source_url,country\n"


def csv_line(slug: str, title: str, starts: str = "2027-06-10T10:00:00+02:00") -> str:
    return f"{slug},{title},webinar,Test organiser,{starts},,https://example.org/{slug},FR\n"


def test_an_upload_is_previewed_then_applied_whole_with_one_record_per_row(lookup_url: str) -> None:
    with db.session_scope(lookup_url) as session:
        for slug in ("kept", "changed"):
            rows = parse_upload("a.csv", (CSV_HEADER + csv_line(slug, "Old")).encode(), TODAY)
            curation.apply_import(session, curation.preview_import(session, rows), EDITOR)
    upload = CSV_HEADER + csv_line("kept", "Old") + csv_line("changed", "New") + csv_line(
        "added", "New"
    )  # fmt: skip
    with db.session_scope(lookup_url) as session:
        preview = curation.preview_import(session, parse_upload("b.csv", upload.encode(), TODAY))
        assert preview.can_apply and not preview.refused
        assert [values["slug"] for values in preview.added] == ["added"]
        assert [(values["slug"], fields) for values, fields in preview.updated] == [
            ("changed", ["title"])
        ]
        assert [values["slug"] for values in preview.unchanged] == ["kept"]
        report = curation.apply_import(session, preview, "bob")
    assert (report.created, report.updated, report.unchanged) == (1, 1, 1)
    with db.session_scope(lookup_url) as session:
        titles = dict(session.execute(select(Event.slug, Event.title)).all())
        history = audit.history(session, "events")
        checked = session.scalars(select(Event.last_checked).where(Event.slug == "added")).one()
    assert titles == {"kept": "Old", "changed": "New", "added": "New"}
    assert [(c.slug, c.action, c.staff) for c in history[:2]] == [
        ("changed", "update", "bob"),
        ("added", "create", "bob"),
    ]
    assert history[0].changes["title"] == ["Old", "New"]
    assert checked == TODAY


def valid(slug: str, where: str) -> ParsedRow:
    row: dict[str, Any] = {
        "slug": slug,
        "title": f"Event {slug}",
        "kind": "course",
        "organiser": "Test organiser",
        "source_url": f"https://example.org/{slug}",
    }
    return ParsedRow(where, check_event(row, where), None)


def test_an_upload_with_a_refused_row_writes_nothing(lookup_url: str) -> None:
    rows = [
        valid("one", "x.csv, line 2"),
        ParsedRow("x.csv, line 3", None, "kind must be one of webinar, …"),
        valid("one", "x.csv, line 4"),
    ]
    with db.session_scope(lookup_url) as session:
        preview = curation.preview_import(session, rows)
        assert not preview.can_apply
        assert preview.refused == [
            ("x.csv, line 3", "kind must be one of webinar, …"),
            ("x.csv, line 4", "the same event as x.csv, line 2 (slug one)"),
        ]
        with pytest.raises(ValueError, match="2 row"):
            curation.apply_import(session, preview, EDITOR)
        assert count(session, Event) == count(session, DataChange) == 0


# --- PostgreSQL ------------------------------------------------------------------------------


def test_save_update_retire_and_history_on_postgresql(postgres_database: str) -> None:
    db.upgrade(postgres_database)
    with db.session_scope(postgres_database) as session:
        slug = curation.save_event(session, webinar_form(), EDITOR).slug
        curation.save_partner(session, partner_form(), EDITOR)
        errors = field_errors(session, webinar_form(title="x" * 301, kind="party"))
    assert set(errors) == {"title", "kind"}  # too long for the column: named, never a crash
    with db.session_scope(postgres_database) as session:
        curation.save_event(session, webinar_form(online="on"), "bob", slug)
        curation.retire(session, Event, slug, "bob")
    with db.session_scope(postgres_database) as session:
        event = session.scalars(select(Event).where(Event.slug == slug)).one()
        assert event.attendance == Attendance.ONLINE and event.retired_at is not None
        history = audit.history(session, "events", slug)
    assert [c.action for c in history] == ["retire", "update", "create"]
    assert history[1].changes == {
        "attendance": ["in_person", "online"],
        "online": ["false", "true"],
    }
