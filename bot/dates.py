"""Dates in plain words ("next month", "in May", "this week", "past"), parsed in-process.

No Duckling server: the phrases people use to ask about events are few, and a small, tested
parser is easier to run and to trust than another service.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.settings import Settings


def today(env: Mapping[str, str] | None = None) -> dt.date:
    """The day the assistant answers for: the UTC date (every process and replica agrees,
    whatever its time zone), or ECRIN_TODAY when that is set (bot.settings: the end-to-end
    tests fix it so that answers about dates, "the next trials day" or "webinars in May",
    mean the same thing on every day of the year; unset in production)."""
    fixed = Settings.from_env(env).clock.today
    return fixed or dt.datetime.now(dt.timezone.utc).date()


MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
MONTHS |= {name.lower(): number for number, name in enumerate(calendar.month_abbr) if name}
MONTHS["sept"] = 9
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
# "may" is also a verb: it names the month only after a preposition, before a year or a day.
_MONTH_PHRASE = re.compile(
    rf"\b(?:(?P<day>\d{{1,2}})(?:st|nd|rd|th)? )?(?P<month>{_MONTH})\b(?: (?P<year>20\d\d))?"
)
_MAY_AS_MONTH = re.compile(
    r"\b(in|during|for|on|this|next|last|early|late|mid|until|of|before|after|from"
    r"|\d{1,2}(st|nd|rd|th)?) may\b|\bmay (20\d\d|\d{1,2}(st|nd|rd|th)?)\b|^may\W*$"
)
# Meteorological seasons (winter runs December to February).
SEASONS = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}
_SEASON_PHRASE = re.compile(
    r"\b(?:(?P<which>this|next|last|coming) )?(?P<season>spring|summer|autumn|fall|winter)\b"
)
_PAST = re.compile(
    r"\b(past|previous|earlier|already (happened|took place)|were there|was there"
    r"|did \w+ (organi[sz]e|hold|run)|history of|last (year|month|week|time|edition)|ago)\b"
)


@dataclass(frozen=True)
class DateWindow:
    """Inclusive date range; `None` on a side means open. `label` reads after "events"."""

    start: dt.date | None
    end: dt.date | None
    label: str
    past: bool = False

    def contains(self, day: dt.date) -> bool:
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)


def upcoming(today: dt.date) -> DateWindow:
    return DateWindow(today, None, "coming up")


def _month_window(year: int, month: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def _add_months(day: dt.date, months: int) -> tuple[int, int]:
    index = day.year * 12 + day.month - 1 + months
    return index // 12, index % 12 + 1


def _season_window(season: str, first_month: int, year: int) -> DateWindow:
    start = dt.date(year, first_month, 1)
    end_year, end_month = _add_months(start, 2)
    end = _month_window(end_year, end_month)[1]
    name = "autumn" if season == "fall" else season
    label = f"in {name} {year}" if first_month != 12 else f"in winter {year}/{str(year + 1)[2:]}"
    return DateWindow(start, end, label)


def _season(match: re.Match[str], today: dt.date, wants_past: bool) -> DateWindow:
    """ "next spring" is the first spring that starts after today, "this spring" (or just
    "spring") the one under way or next, "last spring" the last one that is over."""
    season, which = match.group("season"), match.group("which")
    first_month = SEASONS[season]
    windows = [
        _season_window(season, first_month, year) for year in range(today.year - 2, today.year + 3)
    ]
    if which == "last" or (which is None and wants_past):
        window = [w for w in windows if w.end < today][-1]
        return DateWindow(window.start, window.end, window.label, past=True)
    if which == "next":
        return next(w for w in windows if w.start > today)
    return next(w for w in windows if w.end >= today)


def parse_when(text: str, today: dt.date) -> DateWindow | None:
    """The time window a question asks about, or None when it names none."""
    t = re.sub(r"\s+", " ", text.lower()).strip()
    week_start = today - dt.timedelta(days=today.weekday())

    if re.search(r"\btoday\b", t):
        return DateWindow(today, today, "today")
    if re.search(r"\btomorrow\b", t):
        tomorrow = today + dt.timedelta(days=1)
        return DateWindow(tomorrow, tomorrow, "tomorrow")
    if re.search(r"\bthis weekend\b", t):
        saturday = week_start + dt.timedelta(days=5)
        return DateWindow(max(today, saturday), saturday + dt.timedelta(days=1), "this weekend")
    if re.search(r"\bthis week\b", t):
        return DateWindow(today, week_start + dt.timedelta(days=6), "this week")
    if re.search(r"\bnext week\b", t):
        start = week_start + dt.timedelta(days=7)
        return DateWindow(start, start + dt.timedelta(days=6), "next week")
    if re.search(r"\blast week\b", t):
        start = week_start - dt.timedelta(days=7)
        return DateWindow(start, start + dt.timedelta(days=6), "last week", past=True)
    if re.search(r"\bthis month\b", t):
        return DateWindow(today, _month_window(today.year, today.month)[1], "this month")
    for phrase, offset in (("next month", 1), ("last month", -1)):
        if phrase in t:
            start, end = _month_window(*_add_months(today, offset))
            return DateWindow(start, end, phrase, past=offset < 0)
    if re.search(r"\bthis year\b", t):
        return DateWindow(today, dt.date(today.year, 12, 31), "this year")
    if re.search(r"\bnext year\b", t):
        year = today.year + 1
        return DateWindow(dt.date(year, 1, 1), dt.date(year, 12, 31), f"in {year}")
    if re.search(r"\blast year\b", t):
        year = today.year - 1
        return DateWindow(dt.date(year, 1, 1), dt.date(year, 12, 31), f"in {year}", past=True)

    wants_past = bool(_PAST.search(t))
    season = _SEASON_PHRASE.search(t)
    if season:
        return _season(season, today, wants_past)
    for match in _MONTH_PHRASE.finditer(t):
        name = match.group("month")
        if name == "may" and not _MAY_AS_MONTH.search(t):
            continue
        month = MONTHS[name]
        if match.group("year"):
            year = int(match.group("year"))
        elif wants_past:
            year = today.year if month < today.month else today.year - 1
        else:
            year = today.year if month >= today.month else today.year + 1
        start, end = _month_window(year, month)
        if match.group("day"):
            start = end = dt.date(year, month, int(match.group("day")))
            label = f"on {start.day} {calendar.month_name[month]} {year}"
        else:
            label = f"in {calendar.month_name[month]} {year}"
        return DateWindow(start, end, label, past=end < today)

    year_match = re.search(r"\b(20\d\d)\b", t)
    if year_match:
        year = int(year_match.group(1))
        return DateWindow(
            dt.date(year, 1, 1), dt.date(year, 12, 31), f"in {year}", past=year < today.year
        )
    if wants_past:
        return DateWindow(None, today - dt.timedelta(days=1), "in the past", past=True)
    if re.search(r"\b(upcoming|coming up|coming|next|future|soon|planned|scheduled)\b", t):
        return upcoming(today)
    return None
