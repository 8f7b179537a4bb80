"""The .ics importer reads what an event says itself (organiser, kind, address, place, time
zone, yearly rule) and the upload's parse keeps every row, good or refused with its reason.

The calendars below are written the way Outlook and Google export them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import db
from bot.events import answer, parse_query
from bot.importer import NO_KIND, NO_ORGANISER, IcsDefaults, parse_upload, read_csv, read_ics
from bot.models import Attendance, Event
from bot.seed import SeedError, upsert

TODAY = dt.date(2026, 12, 1)
DEFAULTS = IcsDefaults(kind="webinar", organiser="EUPATI")

# Outlook: a Windows zone name as TZID, with its VTIMEZONE; CN quoted; Teams in LOCATION.
OUTLOOK = """\
BEGIN:VCALENDAR
PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN
VERSION:2.0
METHOD:PUBLISH
BEGIN:VTIMEZONE
TZID:W. Europe Standard Time
BEGIN:STANDARD
DTSTART:16011028T030000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010325T020000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
CLASS:PUBLIC
CREATED:20261120T101500Z
DESCRIPTION:How patients review trial documents.\\nAll welcome.
DTEND;TZID="W. Europe Standard Time":20270302T153000
DTSTAMP:20261120T101500Z
DTSTART;TZID="W. Europe Standard Time":20270302T140000
LOCATION:Microsoft Teams Meeting
ORGANIZER;CN="ECRIN Coordination":mailto:events@ecrin.example
CATEGORIES:Webinar
SUMMARY;LANGUAGE=en-gb:Reviewing trial documents
UID:040000008200E00074C5B7101A82E00800000000
URL:https://ecrin.example/webinars/reviewing
END:VEVENT
BEGIN:VEVENT
DTSTART;TZID="W. Europe Standard Time":20270615T093000
DTEND;TZID="W. Europe Standard Time":20270615T170000
LOCATION:Charité\\, Berlin
ORGANIZER;CN=KKS Netzwerk:mailto:info@kks.example
CATEGORIES:Workshop
SUMMARY:Monitoring workshop
UID:040000008200E00074C5B7101A82E00800000001
URL:https://kks.example/monitoring
END:VEVENT
END:VCALENDAR
"""

# Google: UTC times, the calendar's zone apart (X-WR-TIMEZONE), all-day days as VALUE=DATE.
GOOGLE = """\
BEGIN:VCALENDAR
PRODID:-//Google Inc//Google Calendar 70.9054//EN
VERSION:2.0
CALSCALE:GREGORIAN
METHOD:PUBLISH
X-WR-CALNAME:Patient events
X-WR-TIMEZONE:Europe/Brussels
BEGIN:VEVENT
DTSTART:20270210T130000Z
DTEND:20270210T143000Z
DTSTAMP:20261125T080000Z
ORGANIZER;CN=European Patients' Forum:mailto:abc123@group.calendar.google.com
UID:7kukuqrfedlm2f9t0vr42q2tbc@google.com
CATEGORIES:Training,Patients
LOCATION:Hybrid: Brussels and online
SUMMARY:Advocacy training
URL:https://epf.example/advocacy
END:VEVENT
BEGIN:VEVENT
DTSTART;VALUE=DATE:20270520
DTEND;VALUE=DATE:20270521
DTSTAMP:20261125T080000Z
UID:ictd@google.com
CATEGORIES:Awareness day
RRULE:FREQ=YEARLY;BYMONTH=5;BYMONTHDAY=20
SUMMARY:International Clinical Trials Day
URL:https://ecrin.example/ictd
END:VEVENT
BEGIN:VEVENT
DTSTART;VALUE=DATE:20270322
DTEND;VALUE=DATE:20270325
DTSTAMP:20261125T080000Z
UID:congress@google.com
CATEGORIES:Congress
ORGANIZER:mailto:congress@example.org
LOCATION:Lisbon Congress Centre
SUMMARY:Clinical research congress
URL:https://congress.example/2027
END:VEVENT
END:VCALENDAR
"""


def event(*lines: str, calendar: str = "") -> str:
    """A one-event calendar; `lines` are the VEVENT's properties."""
    body = "\n".join(("UID:one@example.org", "SUMMARY:One event", *lines))
    return (
        f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n{calendar}"
        f"BEGIN:VEVENT\n{body}\nEND:VEVENT\nEND:VCALENDAR\n"
    )


WEBINAR = (
    "DTSTART:20270301T130000Z",
    "DTEND:20270301T140000Z",
    "URL:https://example.org/one",
)


def parse(text: str, defaults: IcsDefaults = DEFAULTS, name: str = "feed.ics") -> list:
    return parse_upload(name, text.encode(), TODAY, defaults)


def only_values(text: str, defaults: IcsDefaults = DEFAULTS) -> dict:
    [row] = parse(text, defaults)
    assert row.error is None, row.error
    return row.values


def only_error(text: str, defaults: IcsDefaults = DEFAULTS) -> str:
    [row] = parse(text, defaults)
    assert row.values is None
    return row.error


# --- Outlook: Windows zone names and their VTIMEZONE ------------------------------------------


def test_an_outlook_event_keeps_its_zone_organiser_kind_and_address() -> None:
    webinar, workshop = (row.values for row in parse(OUTLOOK, IcsDefaults()))
    berlin = ZoneInfo("Europe/Berlin")
    assert webinar["timezone"] == "Europe/Berlin"
    assert webinar["starts_at"] == dt.datetime(2027, 3, 2, 14, 0, tzinfo=berlin)
    assert webinar["ends_at"] == dt.datetime(2027, 3, 2, 15, 30, tzinfo=berlin)
    assert webinar["starts_at"].utcoffset() == dt.timedelta(hours=1)
    assert webinar["organiser"] == "ECRIN Coordination"
    assert webinar["kind"] == "webinar"
    assert webinar["attendance"] == Attendance.ONLINE and webinar["online"] is True
    assert webinar["location"] is None  # "Microsoft Teams Meeting" is no place
    assert webinar["url"] == webinar["source_url"] == "https://ecrin.example/webinars/reviewing"
    assert webinar["description"] == "How patients review trial documents.\nAll welcome."
    # Summer time in June: the same zone, two hours ahead of UTC.
    assert workshop["starts_at"].utcoffset() == dt.timedelta(hours=2)
    assert workshop["kind"] == "training" and workshop["organiser"] == "KKS Netzwerk"
    assert workshop["attendance"] == Attendance.IN_PERSON
    assert workshop["location"] == "Charité, Berlin"


def test_a_vtimezone_of_no_known_name_keeps_its_offsets() -> None:
    custom = OUTLOOK.replace("W. Europe Standard Time", "Customized Time Zone")
    webinar = parse(custom, IcsDefaults())[0].values
    assert webinar["timezone"] is None
    assert webinar["starts_at"].utcoffset() == dt.timedelta(hours=1)
    assert webinar["starts_at"] == dt.datetime(2027, 3, 2, 13, 0, tzinfo=dt.timezone.utc)


def test_an_iana_tzid_is_kept() -> None:
    values = only_values(
        event(
            "DTSTART;TZID=Europe/Lisbon:20270301T100000",
            "DTEND;TZID=Europe/Lisbon:20270301T110000",
            "URL:https://example.org/one",
        )
    )
    assert values["timezone"] == "Europe/Lisbon"
    assert values["starts_at"] == dt.datetime(2027, 3, 1, 10, tzinfo=ZoneInfo("Europe/Lisbon"))


def test_the_imported_event_is_answered_in_its_own_local_time(
    empty_database: str, tmp_path: Path
) -> None:
    db.upgrade(empty_database)
    with db.session_scope(empty_database) as session:
        upsert(session, Event, read_ics(_write(tmp_path, OUTLOOK), TODAY))
    with db.session_scope(empty_database) as session:
        text = answer(session, parse_query("webinars in March 2027", TODAY), TODAY).text
    assert (
        "Reviewing trial documents — 2 March 2027, 14:00 to 15:30 CET (Berlin time), online."
        in text
    )


# --- Google: UTC times, the calendar's zone, all-day days --------------------------------------


def test_google_utc_times_are_read_in_the_calendars_zone() -> None:
    training = parse(GOOGLE)[0].values
    brussels = ZoneInfo("Europe/Brussels")
    assert training["timezone"] == "Europe/Brussels"
    assert training["starts_at"] == dt.datetime(2027, 2, 10, 14, 0, tzinfo=brussels)
    assert training["starts_at"].utcoffset() == dt.timedelta(hours=1)
    assert training["organiser"] == "European Patients' Forum"
    assert training["kind"] == "training"  # the first category that names a kind
    assert training["attendance"] == Attendance.HYBRID


def test_utc_times_without_a_calendar_zone_stay_utc() -> None:
    values = only_values(event(*WEBINAR))
    assert values["timezone"] is None
    assert values["starts_at"] == dt.datetime(2027, 3, 1, 13, tzinfo=dt.timezone.utc)


def test_a_floating_time_needs_a_zone() -> None:
    floating = ("DTSTART:20270301T130000", "URL:https://example.org/one")
    assert only_error(event(*floating)) == "DTSTART has no timezone (use UTC or a TZID)"
    values = only_values(event(*floating, calendar="X-WR-TIMEZONE:Europe/Madrid\n"))
    assert values["starts_at"] == dt.datetime(2027, 3, 1, 13, tzinfo=ZoneInfo("Europe/Madrid"))


def test_all_day_days_run_from_midnight_to_23_59_local_time() -> None:
    congress = parse(GOOGLE)[2].values
    brussels = ZoneInfo("Europe/Brussels")
    # DTEND is exclusive: 22 to 25 March is three days, the 22nd to the 24th.
    assert congress["starts_at"] == dt.datetime(2027, 3, 22, 0, 0, tzinfo=brussels)
    assert congress["ends_at"] == dt.datetime(2027, 3, 24, 23, 59, tzinfo=brussels)
    assert congress["kind"] == "conference"
    # Without a calendar zone, ECRIN's (Paris) is the day's.
    values = only_values(event("DTSTART;VALUE=DATE:20270301", "URL:https://example.org/one"))
    paris = ZoneInfo("Europe/Paris")
    assert values["timezone"] == "Europe/Paris"
    assert values["starts_at"] == dt.datetime(2027, 3, 1, 0, 0, tzinfo=paris)
    assert values["ends_at"] == dt.datetime(2027, 3, 1, 23, 59, tzinfo=paris)


def test_an_organizer_without_a_name_gets_the_default_not_its_address() -> None:
    congress = parse(GOOGLE)[2].values
    assert congress["organiser"] == "EUPATI"  # not "congress@example.org" or "example"
    no_default = parse(GOOGLE, IcsDefaults(kind="webinar"))[2]
    assert no_default.error == NO_ORGANISER


# --- CATEGORIES and LOCATION -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("categories", "kind"),
    [
        ("Webinar", "webinar"),
        ("Training", "training"),
        ("Workshops", "training"),
        ("E-learning", "course"),
        ("Online course", "course"),
        ("Conference", "conference"),
        ("Congress", "conference"),
        ("Symposium", "conference"),
        ("Awareness day", "awareness_day"),
        ("Rare Disease Day", "awareness_day"),
        ("Networking,Symposium", "conference"),  # the first category that names a kind
        ("Networking", "course"),  # none does: the default
    ],
)
def test_categories_name_the_kind(categories: str, kind: str) -> None:
    values = only_values(event(*WEBINAR, f"CATEGORIES:{categories}"), IcsDefaults("course", "X"))
    assert values["kind"] == kind


def test_no_kind_and_no_default_is_refused_with_the_way_out() -> None:
    assert only_error(event(*WEBINAR), IcsDefaults(organiser="EUPATI")) == NO_KIND
    assert NO_KIND == "no kind: add CATEGORIES or choose a default kind"


@pytest.mark.parametrize(
    ("location", "attendance"),
    [
        ("Online", Attendance.ONLINE),
        ("Virtual event", Attendance.ONLINE),
        ("Zoom", Attendance.ONLINE),
        ("Microsoft Teams Meeting", Attendance.ONLINE),
        ("Webinar platform", Attendance.ONLINE),
        ("Hybrid (Paris and Zoom)", Attendance.HYBRID),
        ("Institut Pasteur\\, Paris", Attendance.IN_PERSON),
    ],
)
def test_location_says_whether_the_event_is_online(location: str, attendance: str) -> None:
    assert only_values(event(*WEBINAR, f"LOCATION:{location}"))["attendance"] == attendance


# --- Yearly rules ------------------------------------------------------------------------------


def test_a_yearly_rule_is_kept_and_its_first_date_may_be_past() -> None:
    ictd = parse(GOOGLE)[1].values
    assert ictd["recurrence"] == "FREQ=YEARLY;BYMONTHDAY=20;BYMONTH=5"
    assert ictd["kind"] == "awareness_day"
    # Rare Disease Day, first held in 2008: still upcoming every year.
    rare = only_values(
        event(
            "DTSTART;VALUE=DATE:20080229",
            "RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=-1",
            "URL:https://example.org/rare",
        )
    )
    assert rare["recurrence"] == "FREQ=YEARLY;BYMONTHDAY=-1;BYMONTH=2"


def test_a_yearly_rule_that_ended_is_past() -> None:
    error = only_error(
        event(
            "DTSTART;VALUE=DATE:20200301",
            "RRULE:FREQ=YEARLY;UNTIL=20230301",
            "URL:https://example.org/one",
        )
    )
    assert error == "the repeating event has no date from today on"


@pytest.mark.parametrize("rule", ["FREQ=WEEKLY;BYDAY=TU", "FREQ=MONTHLY;BYMONTHDAY=1"])
def test_other_frequencies_are_refused_with_the_reason(rule: str) -> None:
    error = only_error(event(*WEBINAR, f"RRULE:{rule}"))
    assert error.startswith(f"recurrence {rule!r} does not repeat yearly (use FREQ=YEARLY")


# --- Bad rows and bad files --------------------------------------------------------------------


def test_a_bad_event_among_good_ones_is_listed_with_its_reason(tmp_path: Path) -> None:
    bad = GOOGLE.replace(
        "DTEND:20270210T143000Z", "DTEND:20270210T113000Z"
    )  # the training ends before it starts
    rows = parse_upload("feed.ics", bad.encode(), TODAY, DEFAULTS)
    assert [row.where for row in rows] == [
        "feed.ics, event 1 (Advocacy training)",
        "feed.ics, event 2 (International Clinical Trials Day)",
        "feed.ics, event 3 (Clinical research congress)",
    ]
    assert rows[0].values is None and rows[0].error.startswith("the event ends (2027-02-10T12:30")
    assert rows[1].error is None and rows[2].error is None
    # The command line stops at the first, naming it.
    with pytest.raises(SeedError, match=r"^feed.ics, event 1 \(Advocacy training\): the event"):
        read_ics(_write(tmp_path, bad), TODAY, "webinar", "EUPATI")


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        (("STATUS:CANCELLED",), "the event is cancelled (STATUS:CANCELLED)"),
        (("RECURRENCE-ID:20270301T130000Z",), "a changed date of a repeating event"),
        (("DTSTART:20250301T130000Z",), "the event is in the past (2025-03-01)"),
    ],
)
def test_events_that_cannot_be_imported_say_why(lines: tuple[str, ...], reason: str) -> None:
    webinar = WEBINAR[2:] if lines[0].startswith("DTSTART") else WEBINAR
    assert reason in only_error(event(*webinar, *lines))


def test_the_same_uid_twice_is_refused_the_second_time() -> None:
    twice = GOOGLE.replace("UID:congress@google.com", "UID:ictd@google.com")
    rows = parse(twice)
    assert rows[2].error == (
        "the same event as feed.ics, event 2 (International Clinical Trials Day) "
        "(slug ictd-google-com)"
    )


def test_a_csv_upload_lists_every_row(tmp_path: Path) -> None:
    csv = (
        "title,kind,organiser,starts_at,source_url\n"
        "Good,webinar,ECRIN,2027-02-01T14:00:00+01:00,https://example.org\n"
        "Bad,party,ECRIN,2027-02-02T14:00:00+01:00,https://example.org\n"
        "Also good,course,ECRIN,,https://example.org\n"
    )
    rows = parse_upload("C:\\fakepath\\events.csv", csv.encode(), TODAY)
    assert [(row.where, row.error is None) for row in rows] == [
        ("events.csv, line 2", True),
        ("events.csv, line 3", False),
        ("events.csv, line 4", True),
    ]
    assert rows[1].error.startswith("kind must be one of")
    with pytest.raises(SeedError, match=r"^events.csv, line 3: kind must be one of"):
        read_csv(_write(tmp_path, csv, "events.csv"), TODAY)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("feed.txt", b"hello", "feed.txt: expected a .csv or .ics file"),
        ("feed.ics", b"not a calendar", "feed.ics: not a valid iCalendar file"),
        ("feed.ics", "Caf\xe9".encode("latin-1"), "feed.ics, line 1: the file is not UTF-8"),
        ("feed.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "the file holds no event"),
        ("events.csv", b"title,when\nX,now\n", "events.csv, line 1: missing column(s)"),
    ],
)
def test_a_file_that_cannot_be_read_raises(name: str, content: bytes, message: str) -> None:
    with pytest.raises(SeedError) as caught:
        parse_upload(name, content, TODAY, DEFAULTS)
    assert message in str(caught.value)


def _write(folder: Path, text: str, name: str = "feed.ics") -> Path:
    """`text` as a file for read_ics/read_csv."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_an_unreadable_csv_is_refused_with_its_line_not_a_crash() -> None:
    huge_cell = '"' + "a" * 200_000 + '"'
    content = f"title,kind,organiser,starts_at,source_url\n{huge_cell},webinar,ECRIN,x,y\n"
    with pytest.raises(SeedError, match=r"line \d+: not a readable CSV file"):
        parse_upload("big.csv", content.encode(), dt.date(2026, 12, 7))
