"""Resolve the many ways people name a place ("German", "Deutschland", "DE", "Dublin")
to one country.

Reference data lives in `data/db/countries.yml`; partner cities from the database can be
added on top, so a city that only a partner row knows still resolves.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from bot.settings import PROJECT_ROOT

COUNTRIES_FILE = PROJECT_ROOT / "data" / "db" / "countries.yml"

# Two-letter codes that are also everyday English words: in free text "it" or "no" is not
# Italy or Norway. They still resolve when they are the whole answer ("IT").
AMBIGUOUS_CODES = frozenset({"AT", "BE", "IN", "IS", "IT", "ME", "NO", "US", "AL", "MD", "CA"})


def fold(text: str) -> str:
    """Lower-case, strip accents and punctuation: "Košice!" -> "kosice"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^\w]+", " ", stripped).strip()


@dataclass(frozen=True)
class Country:
    iso: str
    name: str
    aliases: tuple[str, ...] = ()
    adjectives: tuple[str, ...] = ()
    native: tuple[str, ...] = ()
    cities: tuple[str, ...] = ()

    def names(self) -> tuple[str, ...]:
        """Every way of naming the country itself (not its cities)."""
        return (self.name, *self.aliases, *self.adjectives, *self.native)


@dataclass
class Gazetteer:
    """Looks places up by any of their names, accents and case ignored."""

    countries: dict[str, Country]
    _by_name: dict[str, str] = field(default_factory=dict)
    _city_country: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for country in self.countries.values():
            for name in country.names():
                self._by_name[fold(name)] = country.iso
            for city in country.cities:
                self.add_city(city, country.iso)

    def add_city(self, city: str, iso: str) -> None:
        self._city_country.setdefault(fold(city), iso)

    def resolve(self, text: str | None) -> Country | None:
        """The country `text` names exactly: a name, adjective, native name, code or city."""
        if not text or not text.strip():
            return None
        key = fold(text)
        key = re.sub(r"^the ", "", key)
        iso = self._by_name.get(key) or self._city_country.get(key)
        if iso is None and len(key) == 2:
            iso = key.upper() if key.upper() in self.countries else None
        return self.countries.get(iso) if iso else None

    def find_in(self, text: str | None) -> Country | None:
        """The first country named anywhere in a sentence ("I'm in Dublin" -> Ireland)."""
        if not text:
            return None
        exact = self.resolve(text)
        if exact:
            return exact
        words = fold(text).split()
        # Longest phrases first, so "northern ireland" beats "ireland".
        for size in range(min(4, len(words)), 0, -1):
            for start in range(len(words) - size + 1):
                phrase = " ".join(words[start : start + size])
                iso = self._by_name.get(phrase) or self._city_country.get(phrase)
                if iso:
                    return self.countries[iso]
        for token in re.findall(r"\b[A-Z]{2}\b", text):
            if token in self.countries and token not in AMBIGUOUS_CODES:
                return self.countries[token]
        return None

    def city_names(self) -> Iterable[tuple[str, str]]:
        for country in self.countries.values():
            for city in country.cities:
                yield city, country.iso


def load_countries(path: Path = COUNTRIES_FILE) -> dict[str, Country]:
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))["countries"]
    countries = {}
    for row in rows:
        countries[row["iso"]] = Country(
            iso=row["iso"],
            name=row["name"],
            aliases=tuple(row.get("aliases", ())),
            adjectives=tuple(row.get("adjectives", ())),
            native=tuple(row.get("native", ())),
            cities=tuple(row.get("cities", ())),
        )
    return countries


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """The gazetteer of the reference data, built once per process."""
    return Gazetteer(load_countries())
