import datetime as dt

import pytest

from bot.dates import parse_when, today

TODAY = dt.date(2026, 11, 30)  # a Monday


@pytest.mark.parametrize(
    ("text", "start", "end", "past"),
    [
        ("any webinars in May?", dt.date(2027, 5, 1), dt.date(2027, 5, 31), False),
        ("events next month", dt.date(2026, 12, 1), dt.date(2026, 12, 31), False),
        ("what's on this week", TODAY, dt.date(2026, 12, 6), False),
        ("next week", dt.date(2026, 12, 7), dt.date(2026, 12, 13), False),
        ("anything in december", dt.date(2026, 12, 1), dt.date(2026, 12, 31), False),
        ("trainings in sept 2027", dt.date(2027, 9, 1), dt.date(2027, 9, 30), False),
        ("events on 20 May", dt.date(2027, 5, 20), dt.date(2027, 5, 20), False),
        (
            "what events did ECRIN organise in 2025",
            dt.date(2025, 1, 1),
            dt.date(2025, 12, 31),
            True,
        ),
        ("what happened in March", dt.date(2027, 3, 1), dt.date(2027, 3, 31), False),
        ("past events in March", dt.date(2026, 3, 1), dt.date(2026, 3, 31), True),
        ("last month", dt.date(2026, 10, 1), dt.date(2026, 10, 31), True),
        ("past events", None, dt.date(2026, 11, 29), True),
        ("upcoming courses", TODAY, None, False),
    ],
)
def test_plain_words_become_date_windows(text, start, end, past) -> None:
    window = parse_when(text, TODAY)
    assert (window.start, window.end, window.past) == (start, end, past)


@pytest.mark.parametrize("text", ["may I join an event?", "what events are there", "hello"])
def test_no_date_named(text: str) -> None:
    assert parse_when(text, TODAY) is None


@pytest.mark.parametrize(
    ("text", "start", "end", "past"),
    [
        ("any events next spring?", dt.date(2027, 3, 1), dt.date(2027, 5, 31), False),
        ("webinars this summer", dt.date(2027, 6, 1), dt.date(2027, 8, 31), False),
        ("what happened last autumn", dt.date(2026, 9, 1), dt.date(2026, 11, 30), True),
        ("courses in winter", dt.date(2026, 12, 1), dt.date(2027, 2, 28), False),
        ("next fall", dt.date(2027, 9, 1), dt.date(2027, 11, 30), False),
    ],
)
def test_seasons(text: str, start: dt.date, end: dt.date, past: bool) -> None:
    window = parse_when(text, dt.date(2026, 12, 6))
    assert (window.start, window.end, window.past) == (start, end, past)


def test_the_clock_is_the_utc_date_unless_ecrin_today_fixes_it() -> None:
    before = dt.datetime.now(dt.timezone.utc).date()
    found = today({})
    assert before <= found <= dt.datetime.now(dt.timezone.utc).date()
    assert today({"ECRIN_TODAY": "2027-06-15"}) == dt.date(2027, 6, 15)
    assert today({"ECRIN_TODAY": " "}) == today({})  # blank is unset
    with pytest.raises(SystemExit, match="ECRIN_TODAY must be a date like"):
        today({"ECRIN_TODAY": "15/06/2027"})


def test_the_clock_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECRIN_TODAY", "2027-06-15")
    assert today() == dt.date(2027, 6, 15)
