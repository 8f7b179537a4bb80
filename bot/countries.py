"""Resolve the many ways people name a place ("German", "Deutschland", "DE", "Dublin",
"en Italie", "in Italien") to one country.

Reference data lives in `data/db/countries.yml`; the names and adjectives of each country in
every other language the assistant speaks (`data/i18n/<code>/countries.yml`) are added on
top, and so can partner cities from the database, so a city that only a partner row knows
still resolves. Those files also say how each language puts a country after "in" ("aux
Pays-Bas", "in der Schweiz", "nel Regno Unito"), which the answers need (`Country.values`).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot import i18n
from bot.settings import PROJECT_ROOT

COUNTRIES_FILE = PROJECT_ROOT / "data" / "db" / "countries.yml"
I18N_DIR = PROJECT_ROOT / "data" / "i18n"

logger = logging.getLogger(__name__)

# Two-letter codes that are also everyday English words: in free text "it" or "no" is not
# Italy or Norway. They still resolve when they are the whole answer in capitals ("IT");
# "no" alone is a refusal, not Norway.
AMBIGUOUS_CODES = frozenset({"AT", "BE", "IN", "IS", "IT", "ME", "NO", "US", "AL", "MD", "CA"})

# A place name that is also an everyday word (a row's `common:` list, e.g. "split" in "split
# into groups") counts inside a sentence only where a place would: after one of these words
# or at the start of a clause ("I'm in split", "and split?", "not Greece — split"), or when
# written with a capital after any other word ("the Split hospital").
PLACE_CUES = frozenset(
    {
        "in", "from", "to", "near", "about", "around", "at", "and", "or", "nor", "not",
        "of", "for", "than", "outside", "via",
        # The same cues in French, German, Spanish and Italian ("en", "nach", "desde", "da").
        "en", "au", "aux", "de", "du", "des", "à", "et", "ou", "pas", "vers", "pour",
        "nach", "aus", "im", "von", "und", "oder", "nicht", "für",
        "desde", "del", "y", "o", "para", "por",
        "a", "da", "di", "e", "per", "non", "dalla", "dal", "della", "nel", "nella",
    }
)  # fmt: skip
# Translated names that are also everyday English words ("Island", German for Iceland): they
# are `common` names, counted inside a sentence only where a place would be.
TRANSLATED_COMMON = frozenset({"island", "dane", "dan", "chili"})
# …and never when the next word makes it a verb or a noun ("split the dose", "split up").
WORD_FOLLOWERS = frozenset(
    {
        "the", "a", "an", "it", "them", "this", "that", "these", "those", "my", "your",
        "his", "her", "our", "their", "into", "up", "between", "among", "across", "evenly",
        "equally", "off", "over",
    }
)  # fmt: skip

# Letters that do not decompose into a base letter and an accent, as people type them on an
# English keyboard: "Tromsø" -> "Tromso", "Łódź" -> "Lodz", Turkish dotless i -> "i".
_PLAIN_LETTERS = str.maketrans(
    {
        "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "\u0131": "i", "đ": "d", "Đ": "D", "ð": "d",
        "Ð": "D", "þ": "th", "Þ": "Th", "æ": "ae", "Æ": "Ae", "œ": "oe", "Œ": "Oe",
        "ß": "ss",
    }
)  # fmt: skip

# "not Greece", "no Greece", "isn't Greece", "rather than Greece", "not in Greece": the words
# directly before a mention that take it back (see `Gazetteer.find_meant`).
_NEGATION_BEFORE = re.compile(
    r"(?:\b(?:not|no|never|instead\s+of|rather\s+than|pas|nicht|kein|keine|non|nein)"
    r"|n['\u2019]t|\b(?:is|are|was|were|do|does|did)nt)"
    r"\s+(?:(?:in|from|for|about|at|to|the|en|au|aux|nach|aus|a|da|di|el|la|le)\s+)*$",
    re.IGNORECASE,
)

_WORD = re.compile(r"\w+")
_ISO_CODE = re.compile(r"^[A-Z]{2}$")
_ROW_KEYS = frozenset({"iso", "name", "aliases", "adjectives", "native", "cities", "the", "common"})
_TRANSLATION_KEYS = frozenset({"names", "adjectives", "in"})


def strip_accents(text: str) -> str:
    """Drop accents but keep case: "Κύπρος" -> "Κυπρος", "Tromsø" -> "Tromso".

    People type place names without their accents; spaCy patterns need this case-keeping
    form too, since its lower-casing keeps the Greek final sigma that `casefold` does not.
    """
    decomposed = unicodedata.normalize("NFKD", text.translate(_PLAIN_LETTERS))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold(text: str) -> str:
    """Lower-case, strip accents and punctuation: "Košice!" -> "kosice"."""
    return re.sub(r"[^\w]+", " ", strip_accents(text.casefold())).strip()


@dataclass(frozen=True)
class Translation:
    """A country's words in one language other than English (data/i18n/<code>/countries.yml)."""

    language: str
    # The name for that language's sentences first, then the other ways people write it.
    names: tuple[str, ...]
    adjectives: tuple[str, ...]
    # The country after "in", preposition and article included ("aux Pays-Bas", "im
    # Vereinigten Königreich"): a template cannot add them, they depend on the country.
    in_phrase: str


@dataclass(frozen=True)
class Country:
    iso: str
    name: str
    aliases: tuple[str, ...] = ()
    adjectives: tuple[str, ...] = ()
    native: tuple[str, ...] = ()
    cities: tuple[str, ...] = ()
    # Names of this country that read with "the": "in the Netherlands", "in the UK".
    the: tuple[str, ...] = ()
    # Names of this country or its cities that are also everyday words ("Split").
    common: tuple[str, ...] = ()
    # Its words in the other languages the assistant speaks (data/i18n/<code>/countries.yml).
    # Not compared: a country is the same country whichever languages were loaded.
    translations: tuple[Translation, ...] = field(default=(), compare=False)

    def names(self) -> tuple[str, ...]:
        """Every way of naming the country itself (not its cities), in every language."""
        translated = [n for t in self.translations for n in t.names + t.adjectives]
        return (self.name, *self.aliases, *self.adjectives, *self.native, *translated)

    def everyday_words(self) -> tuple[str, ...]:
        """`common`, and the translated names that are everyday English words ("Island")."""
        translated = [
            n
            for t in self.translations
            for n in t.names + t.adjectives
            if fold(n) in TRANSLATED_COMMON
        ]
        return (*self.common, *translated)

    def _translation(self, language: str | None) -> Translation | None:
        return next((t for t in self.translations if t.language == language and t.names), None)

    def name_in(self, language: str | None) -> str:
        """The country's name for a sentence in `language` ("Allemagne", "Italien"); the
        English, article included ("the Netherlands"), for English or a missing translation."""
        translation = self._translation(language)
        return translation.names[0] if translation else self.display

    def in_phrase(self, language: str | None) -> str:
        """The country after "in" in `language`, preposition and article included: "in der
        Schweiz", "au Portugal", "nei Paesi Bassi"; "in the Netherlands" in English (and, like
        `name_in`, for a language without a translation)."""
        translation = self._translation(language)
        return translation.in_phrase if translation else f"in {self.display}"

    def values(self, language: str | None) -> dict[str, str]:
        """The country for a text in `language` (`bot.i18n.text`): bare, `{country}`, and after
        "in", `{in_country}`. Both always, so each translation uses whichever it needs."""
        return {"country": self.name_in(language), "in_country": self.in_phrase(language)}

    def with_article(self, name: str | None = None) -> str:
        """`name` (the English name by default) as it reads after "in": "in the Netherlands",
        "in the Republic of Ireland" but "in Ireland"."""
        name = name or self.name
        if fold(name).startswith("the "):
            return "the " + name[4:]
        wanted = {fold(n) for n in self.the}
        return f"the {name}" if fold(name) in wanted else name

    @property
    def display(self) -> str:
        """The English name ready for a sentence: "the Netherlands", "France"."""
        return self.with_article()


@dataclass(frozen=True)
class Mention:
    """One place named in a sentence, with where it is and whether it was taken back."""

    country: Country
    text: str
    start: int
    end: int
    negated: bool


@dataclass
class Gazetteer:
    """Looks places up by any of their names, accents and case ignored."""

    countries: dict[str, Country]
    _by_name: dict[str, str] = field(default_factory=dict)
    _city_country: dict[str, str] = field(default_factory=dict)
    _common: set[str] = field(default_factory=set)
    _longest: int = 1

    def __post_init__(self) -> None:
        for country in self.countries.values():
            for name in country.names():
                self._by_name[fold(name)] = country.iso
            for city in country.cities:
                self.add_city(city, country.iso)
            self._common.update(fold(word) for word in country.everyday_words())
        self._longest = max(len(key.split()) for key in [*self._by_name, *self._city_country])

    def add_city(self, city: str, iso: str) -> None:
        key = fold(city)
        self._city_country.setdefault(key, iso)
        self._longest = max(self._longest, len(key.split()))

    def _lookup(self, key: str) -> str | None:
        return self._by_name.get(key) or self._city_country.get(key)

    def resolve(self, text: str | None) -> Country | None:
        """The country `text` names exactly: a name, adjective, native name, code or city.

        Codes that are also English words need capitals: "IT" is Italy, "no" is a refusal.
        """
        if not text or not text.strip():
            return None
        key = fold(text)
        # "the Netherlands", but "The Hague" is a name of its own.
        iso = self._lookup(key) or self._lookup(re.sub(r"^the ", "", key))
        if iso is None and len(key) == 2:
            code = key.upper()
            if code in AMBIGUOUS_CODES and re.sub(r"\W", "", text) != code:
                return None
            iso = code if code in self.countries else None
        return self.countries.get(iso) if iso else None

    def mentions(self, text: str | None) -> list[Mention]:
        """Every place named in `text`, in order, longest name first at each position
        ("Northern Ireland" is one mention, not Ireland)."""
        if not text:
            return []
        text = unicodedata.normalize("NFC", text)
        words = list(_WORD.finditer(text))
        folded = [fold(word.group()) for word in words]
        found: list[Mention] = []
        index = 0
        while index < len(words):
            size, iso = self._match_at(text, words, folded, index)
            if iso is None:
                index += 1
                continue
            start, end = words[index].start(), words[index + size - 1].end()
            negated = bool(_NEGATION_BEFORE.search(text[:start]))
            found.append(Mention(self.countries[iso], text[start:end], start, end, negated))
            index += size
        return found

    def _match_at(
        self, text: str, words: list[re.Match[str]], folded: list[str], index: int
    ) -> tuple[int, str | None]:
        """(number of words, ISO code) of the longest place name starting at word `index`."""
        for size in range(min(self._longest, len(words) - index), 0, -1):
            phrase = " ".join(folded[index : index + size])
            iso = self._lookup(phrase)
            if iso is None:
                continue
            if phrase not in self._common or self._used_as_place(text, words, index, size):
                return size, iso
        token = words[index].group()
        if _ISO_CODE.match(token) and token in self.countries and token not in AMBIGUOUS_CODES:
            return 1, token
        return 0, None

    @staticmethod
    def _used_as_place(text: str, words: list[re.Match[str]], index: int, size: int) -> bool:
        """Whether an everyday word that is also a place name ("split") is used as the place:
        the same rule as the spaCy patterns (`bot.nlp`), see PLACE_CUES."""
        after = index + size
        if (
            after < len(words)
            and not text[words[after - 1].end() : words[after].start()].strip()
            and fold(words[after].group()) in WORD_FOLLOWERS
        ):
            return False
        if index == 0 or text[words[index - 1].end() : words[index].start()].strip():
            return True  # the start of a sentence or clause
        if not words[index].group().islower():
            return True  # "the Split hospital"
        return fold(words[index - 1].group()) in PLACE_CUES

    def find_in(self, text: str | None) -> Country | None:
        """The first country named anywhere in a sentence ("I'm in Dublin" -> Ireland)."""
        exact = self.resolve(text)
        if exact:
            return exact
        found = self.mentions(text)
        return found[0].country if found else None

    def find_meant(self, text: str | None) -> Country | None:
        """The country the user means when a correction names several: the last mention
        that is not directly taken back ("not Greece — Cyprus", "Cyprus, not Greece",
        "I meant Austria not Germany" -> Cyprus, Cyprus, Austria). None if every mention is
        negated ("not Greece"): the user said what they do not mean, not what they do."""
        exact = self.resolve(text)
        if exact:
            return exact
        meant = [mention for mention in self.mentions(text) if not mention.negated]
        return meant[-1].country if meant else None

    def city_names(self) -> Iterable[tuple[str, str]]:
        for country in self.countries.values():
            for city in country.cities:
                yield city, country.iso


def _strings(row: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    """A row's list of names, refusing what YAML turned into something else ("No" -> False)."""
    values = row.get(key, [])
    if not isinstance(values, list):
        raise ValueError(f"{where}: {key} must be a list of names, got {values!r}")
    for value in values:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(
                f"{where}: {key} must hold non-empty names, got {value!r} (quote it in YAML)"
            )
    return tuple(values)


def _country(row: Any, where: str) -> Country:
    """One validated row: a typo in the reference data must fail loudly, not drop a country."""
    if not isinstance(row, dict):
        raise ValueError(f"{where}: expected a mapping, got {row!r}")
    where = f"{where} ({row.get('name', 'no name')})"
    unknown = sorted(set(row) - _ROW_KEYS, key=str)
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}")
    iso = row.get("iso")
    if not isinstance(iso, str) or not _ISO_CODE.match(iso):
        hint = ' (YAML reads an unquoted NO as false: write "NO")' if iso is False else ""
        raise ValueError(f"{where}: iso must be a two-letter upper-case code, got {iso!r}{hint}")
    name = row.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{where}: name must be a non-empty string, got {name!r}")
    country = Country(
        iso=iso,
        name=name,
        aliases=_strings(row, "aliases", where),
        adjectives=_strings(row, "adjectives", where),
        native=_strings(row, "native", where),
        cities=_strings(row, "cities", where),
        the=_strings(row, "the", where),
        common=_strings(row, "common", where),
    )
    own = {fold(n) for n in country.names()}
    for key, names in (("the", country.the), ("common", country.common)):
        strays = [n for n in names if fold(n) not in own | {fold(c) for c in country.cities}]
        if strays:
            raise ValueError(f"{where}: {key} lists {strays}, which are not names of this row")
    return country


def load_countries(path: Path = COUNTRIES_FILE) -> dict[str, Country]:
    """The reference countries by ISO code, every row checked (see `_country`).

    Two rows with one code, or one name for two countries, are refused: either would make
    a look-up silently pick one of them.
    """
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    rows = data.get("countries") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise ValueError(f"{path.name}: expected a `countries:` list")
    countries: dict[str, Country] = {}
    owner: dict[str, str] = {}
    for number, row in enumerate(rows, start=1):
        country = _country(row, f"{path.name}, row {number}")
        if country.iso in countries:
            raise ValueError(
                f"{path.name}, row {number} ({country.name}): iso {country.iso} appears twice"
            )
        countries[country.iso] = country
        for name in (*country.names(), *country.cities):
            other = owner.setdefault(fold(name), country.iso)
            if other != country.iso:
                raise ValueError(
                    f"{path.name}, row {number} ({country.name}): {name!r} also names "
                    f"{countries[other].name}"
                )
    return countries


def _translation_rows(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    rows = data.get("countries") if isinstance(data, dict) else None
    if not isinstance(rows, dict):
        raise ValueError(f"{path}: expected a `countries:` mapping of ISO codes")
    return rows


def _in_phrase(row: dict[str, Any], names: tuple[str, ...], preposition: str, where: str) -> str:
    """The row's `in:` phrase, checked, or the language's preposition and its first name.

    The phrase must end with one of the row's names ("aux Pays-Bas"): one copied from
    another row ("au Portugal" under ES) would send people to the wrong country."""
    phrase = row.get("in")
    if phrase is None and names:
        if not preposition:
            raise ValueError(f"{where}: no `in:`, and no country_preposition for the language")
        return f"{preposition} {names[0]}"
    if phrase is None:
        return ""  # no name either: the country is said in English (`Country.in_phrase`)
    if not isinstance(phrase, str) or not any(
        fold(phrase).endswith(" " + fold(name)) for name in names
    ):
        raise ValueError(
            f"{where}: in must be a preposition and one of {list(names)}, got {phrase!r}"
        )
    return phrase


def _prepositions() -> dict[str, str]:
    return {code: language.country_preposition for code, language in i18n.languages().items()}


def add_translations(
    countries: dict[str, Country],
    folder: Path = I18N_DIR,
    prepositions: Mapping[str, str] | None = None,
) -> dict[str, Country]:
    """`countries` with the names, adjectives and "in" phrases of every
    `<folder>/<code>/countries.yml`; a row without `in:` is said with the language's
    `prepositions` (data/languages.yml `country_preposition` by default) and its first name.

    An unknown code or key is an error (a typo would silently drop a country); a name that
    already names another country is left out and logged, since a look-up must not pick one
    of two ("Georgia" the state, or a city of one country that is another's name)."""
    prepositions = _prepositions() if prepositions is None else prepositions
    owner = {fold(name): c.iso for c in countries.values() for name in (*c.names(), *c.cities)}
    merged = dict(countries)
    for path in sorted(folder.glob("*/countries.yml")) if folder.is_dir() else []:
        language = path.parent.name
        for iso, row in _translation_rows(path).items():
            iso = str(iso)
            if iso not in merged:
                raise ValueError(f"{path}: {iso} is not a country of {COUNTRIES_FILE.name}")
            if not isinstance(row, dict):
                raise ValueError(f"{path}: {iso} must map to names and adjectives")
            unknown = sorted(set(row) - _TRANSLATION_KEYS, key=str)
            if unknown:
                raise ValueError(f"{path}, {iso}: unknown keys {unknown}")
            in_phrase = _in_phrase(
                row,
                _strings(row, "names", f"{path}, {iso}"),
                prepositions.get(language, ""),
                f"{path}, {iso}",
            )
            kept: dict[str, list[str]] = {"names": [], "adjectives": []}
            for key, found in kept.items():
                for name in _strings(row, key, f"{path}, {iso}"):
                    other = owner.setdefault(fold(name), iso)
                    if other != iso:
                        logger.warning(
                            "%s: %r names %s already; left out for %s", path, name, other, iso
                        )
                        continue
                    found.append(name)
            translation = Translation(
                language, tuple(kept["names"]), tuple(kept["adjectives"]), in_phrase
            )
            country = merged[iso]
            merged[iso] = replace(country, translations=(*country.translations, translation))
    return merged


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """The gazetteer of the reference data in every language, built once per process."""
    return Gazetteer(add_translations(load_countries()))
