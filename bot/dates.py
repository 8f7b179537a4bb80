"""Dates in plain words ("next month", "in May", "this week", "past"), parsed in-process,
in English and in the other languages the assistant speaks ("en mai", "nächsten Monat",
"el mes que viene", "a maggio"); windows said back in the conversation's language (Babel).

No Duckling server: the phrases people use to ask about events are few, and a small, tested
parser is easier to run and to trust than another service.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass

from babel.dates import format_date, format_skeleton

from bot import i18n
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
# The months in French, German, Spanish and Italian, with and without accents ("fevrier").
FOREIGN_MONTHS = {
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "de": "januar februar märz april mai juni juli august september oktober november dezember",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre "
    "diciembre",
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre "
    "dicembre",
}
for _names in FOREIGN_MONTHS.values():
    for _number, _name in enumerate(_names.split(), start=1):
        MONTHS.setdefault(_name, _number)
        _plain = _name.translate(str.maketrans("éûäñ", "euan"))
        MONTHS.setdefault(_plain, _number)
MONTHS.setdefault("maerz", 3)
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
# "may" is also a verb: it names the month only after a preposition, before a year or a day.
_MONTH_PHRASE = re.compile(
    rf"\b(?:(?P<day>\d{{1,2}})(?:st|nd|rd|th|\.|er)? (?:de )?)?(?P<month>{_MONTH})\b"
    rf"(?: (?:de )?(?P<year>20\d\d))?"
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
    r"|did \w+ (organi[sz]e|hold|run)|history of|last (year|month|week|time|edition)|ago"
    # French, German, Spanish, Italian: "passés", "vergangene", "pasados", "passati".
    r"|pass[ée]e?s|pass[ée]e|dernière édition|vergangen\w*|bisherigen|früheren|pasad[oa]s?"
    r"|anteriores|passat[ioe]|scors[oia]|precedent[ie])\b"
)
# The relative phrases of the other languages, as the English phrase they mean.
_FOREIGN_PHRASES = [
    (re.compile(r"\b(aujourd'?hui|aujourd hui|heute|hoy|oggi)\b"), "today"),
    (re.compile(r"\b(demain|morgen|mañana|manana|domani)\b"), "tomorrow"),
    (re.compile(r"\b(ce week-?end|dieses wochenende|este fin de semana|questo weekend)\b"),
     "this weekend"),
    (re.compile(r"\b(cette semaine|diese woche|esta semana|questa settimana)\b"), "this week"),
    (re.compile(r"\b(semaine prochaine|n[äa]e?chste[n]? woche|pr[óo]xima semana"
                r"|semana que viene|settimana prossima|prossima settimana)\b"), "next week"),
    (re.compile(r"\b(semaine derni[èe]re|letzte[n]? woche|semana pasada|settimana scorsa)\b"),
     "last week"),
    (re.compile(r"\b(ce mois[- ]ci|ce mois|diesen monat|este mes|questo mese)\b"), "this month"),
    (re.compile(r"\b(mois prochain|n[äa]e?chste[nr]? monat|pr[óo]ximo mes|mes que viene"
                r"|mese prossimo|prossimo mese)\b"), "next month"),
    (re.compile(r"\b(mois dernier|letzte[nr]? monat|mes pasado|mese scorso)\b"), "last month"),
    (re.compile(r"\b(cette ann[ée]e|dieses jahr|este a[ñn]o|quest'? ?anno)\b"), "this year"),
    (re.compile(r"\b(ann[ée]e prochaine|l'an prochain|n[äa]e?chstes jahr|pr[óo]ximo a[ñn]o"
                r"|a[ñn]o que viene|anno prossimo|prossimo anno)\b"), "next year"),
    (re.compile(r"\b(ann[ée]e derni[èe]re|l'an dernier|letztes jahr|a[ñn]o pasado"
                r"|anno scorso)\b"), "last year"),
    (re.compile(r"\b(à venir|a venir|prochainement|bient[ôo]t|kommende[n]?|demn[äa]e?chst"
                r"|anstehende[n]?|pr[óo]ximos|pr[óo]ximas|pronto|prossimi|prossime"
                r"|in arrivo|futur[ie])\b"), "upcoming"),
]  # fmt: skip
# Seasons: printemps, été, automne, hiver; Frühling, Sommer, Herbst, Winter; primavera,
# verano, otoño, invierno; primavera, estate, autunno, inverno.
_FOREIGN_SEASONS = {
    "printemps": "spring", "automne": "autumn", "hiver": "winter",
    "frühling": "spring", "fruehling": "spring", "sommer": "summer", "herbst": "autumn",
    "verano": "summer", "otoño": "autumn", "otono": "autumn", "invierno": "winter",
    "primavera": "spring", "autunno": "autumn", "inverno": "winter",
}  # fmt: skip
# "été" is also "been" (a été) and "estate" an English word: only after "en", "cet", "l'"…
_FOREIGN_SEASON = re.compile(
    r"\b(" + "|".join(_FOREIGN_SEASONS) + r")\b"
    r"|(?:(?<=\ben )|(?<=\bcet )|(?<=\bl')|(?<=\bd')|(?<=\bl\u2019))(été|ete)\b"
    r"|(?:(?<=\bin )|(?<=\bquest')|(?<=\bprossima )|(?<=\bl'))(estate)\b"
)
# "mai" is also Italian for "never": the month only after a preposition, before a year or a
# day, or alone, as "may" in English.
_MAI_AS_MONTH = re.compile(
    r"\b(en|im|in|au|de|le|ab|bis|anfang|ende|mitte|début|debut|fin|avant|après|apres"
    r"|jusqu'en|\d{1,2}\.?) mai\b|\bmai (20\d\d|\d{1,2})\b|^mai\W*$"
)


def _in_english(text: str) -> str:
    """`text` with the other languages' date phrases replaced by the English ones the parser
    reads ("le mois prochain" -> "le next month"); English text is left as it is."""
    for pattern, english in _FOREIGN_PHRASES:
        text = pattern.sub(english, text)

    def season(match: re.Match[str]) -> str:
        if match.group(1):
            return _FOREIGN_SEASONS[match.group(1)]
        return "summer"

    return _FOREIGN_SEASON.sub(season, text)


@dataclass(frozen=True)
class DateWindow:
    """Inclusive date range; `None` on a side means open. `label` reads after "events"."""

    start: dt.date | None
    end: dt.date | None
    label: str
    past: bool = False
    # Which phrase `label` is (data/i18n/en/messages.yml `when.<key>`), to say it in
    # another language; "" for a label said in English only.
    key: str = ""

    def label_in(self, language: str | None) -> str:
        """The label in `language`: "in May 2027" -> "en mai 2027", "im Mai 2027"…"""
        code = i18n.supported(language)
        if code in (None, i18n.SOURCE) or not self.key:
            return self.label
        values: dict[str, object] = {}
        if self.key == "on_day" and self.start:
            values["date"] = format_date(self.start, "long", locale=code)
        elif self.key == "in_month" and self.start:
            values["month"] = format_skeleton("yMMMM", self.start, locale=code)
        elif self.start and (self.key == "in_year" or self.key.startswith("in_season.")):
            year = str(self.start.year)
            if self.key == "in_season.winter":
                year += f"/{str(self.start.year + 1)[2:]}"
            values["year"] = year
        return i18n.text(f"when.{self.key}", code, **values)

    def contains(self, day: dt.date) -> bool:
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)


def upcoming(today: dt.date) -> DateWindow:
    return DateWindow(today, None, "coming up", key="upcoming")


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
    return DateWindow(start, end, label, key=f"in_season.{name}")


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
        return DateWindow(window.start, window.end, window.label, past=True, key=window.key)
    if which == "next":
        return next(w for w in windows if w.start > today)
    return next(w for w in windows if w.end >= today)


def parse_when(text: str, today: dt.date) -> DateWindow | None:
    """The time window a question asks about, or None when it names none."""
    t = _in_english(re.sub(r"\s+", " ", text.lower()).strip())
    week_start = today - dt.timedelta(days=today.weekday())

    if re.search(r"\btoday\b", t):
        return DateWindow(today, today, "today", key="today")
    if re.search(r"\btomorrow\b", t):
        tomorrow = today + dt.timedelta(days=1)
        return DateWindow(tomorrow, tomorrow, "tomorrow", key="tomorrow")
    if re.search(r"\bthis weekend\b", t):
        saturday = week_start + dt.timedelta(days=5)
        sunday = saturday + dt.timedelta(days=1)
        return DateWindow(max(today, saturday), sunday, "this weekend", key="this_weekend")
    if re.search(r"\bthis week\b", t):
        return DateWindow(today, week_start + dt.timedelta(days=6), "this week", key="this_week")
    if re.search(r"\bnext week\b", t):
        start = week_start + dt.timedelta(days=7)
        return DateWindow(start, start + dt.timedelta(days=6), "next week", key="next_week")
    if re.search(r"\blast week\b", t):
        start = week_start - dt.timedelta(days=7)
        end = start + dt.timedelta(days=6)
        return DateWindow(start, end, "last week", past=True, key="last_week")
    if re.search(r"\bthis month\b", t):
        end = _month_window(today.year, today.month)[1]
        return DateWindow(today, end, "this month", key="this_month")
    for phrase, offset in (("next month", 1), ("last month", -1)):
        if phrase in t:
            start, end = _month_window(*_add_months(today, offset))
            return DateWindow(start, end, phrase, past=offset < 0, key=phrase.replace(" ", "_"))
    if re.search(r"\bthis year\b", t):
        return DateWindow(today, dt.date(today.year, 12, 31), "this year", key="this_year")
    if re.search(r"\bnext year\b", t):
        year = today.year + 1
        return DateWindow(dt.date(year, 1, 1), dt.date(year, 12, 31), f"in {year}", key="in_year")
    if re.search(r"\blast year\b", t):
        year = today.year - 1
        first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
        return DateWindow(first, last, f"in {year}", past=True, key="in_year")

    wants_past = bool(_PAST.search(t))
    season = _SEASON_PHRASE.search(t)
    if season:
        return _season(season, today, wants_past)
    for match in _MONTH_PHRASE.finditer(t):
        name = match.group("month")
        if name == "may" and not _MAY_AS_MONTH.search(t):
            continue
        if name == "mai" and not _MAI_AS_MONTH.search(t):
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
            label, key = f"on {start.day} {calendar.month_name[month]} {year}", "on_day"
        else:
            label, key = f"in {calendar.month_name[month]} {year}", "in_month"
        return DateWindow(start, end, label, past=end < today, key=key)

    year_match = re.search(r"\b(20\d\d)\b", t)
    if year_match:
        year = int(year_match.group(1))
        first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
        return DateWindow(first, last, f"in {year}", past=year < today.year, key="in_year")
    if wants_past:
        return DateWindow(None, today - dt.timedelta(days=1), "in the past", past=True, key="past")
    if re.search(r"\b(upcoming|coming up|coming|next|future|soon|planned|scheduled)\b", t):
        return upcoming(today)
    return None
