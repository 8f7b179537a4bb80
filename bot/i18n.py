"""The assistant's words in each language it answers in: the languages (data/languages.yml),
the translated responses and the messages the code composes (data/i18n/<code>/*.yml).

Every file of a language's folder is read and merged: `replies:` (response name → text, or
`{text, buttons: [title, …]}`) and `messages:` (id → template with `{named}` values). A key
defined twice in one language is an error that names both files, so two translators (or the
safety file and the general one) cannot silently override each other. English is the source:
a text missing in another language is said in English, and logged once per language and key,
so a half-finished translation degrades to English instead of failing the conversation.
"""

from __future__ import annotations

import logging
import string
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

LANGUAGES_FILE = PROJECT_ROOT / "data" / "languages.yml"
I18N_DIR = PROJECT_ROOT / "data" / "i18n"
SOURCE = "en"


class I18nError(ValueError):
    """The language files are inconsistent (a key defined twice, a malformed entry)."""


@dataclass(frozen=True)
class Language:
    code: str
    name: str
    learn_more: str
    # The word before a country's name in "in <country>" ("en", "in"), for a country whose
    # data/i18n/<code>/countries.yml row gives no `in:` phrase of its own (bot/countries.py);
    # "" for English, whose "in the Netherlands" comes from data/db/countries.yml.
    country_preposition: str


@dataclass(frozen=True)
class LanguageTable:
    default: str
    languages: dict[str, Language]


def read_languages(path: Path = LANGUAGES_FILE) -> LanguageTable:
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    rows: dict[str, Language] = {}
    for row in document.get("languages") or []:
        code = str(row["code"])
        # Required of a translation: an English "in" put before a French name reads wrong.
        preposition = row.get("country_preposition", "" if code == SOURCE else None)
        if not isinstance(preposition, str) or (code != SOURCE and not preposition.strip()):
            raise I18nError(f"{path}: {code} has no `country_preposition`")
        rows[code] = Language(code, str(row["name"]), str(row["learn_more"]), preposition)
    default = str(document.get("default") or SOURCE)
    if default not in rows:
        raise I18nError(f"{path}: the default language {default!r} has no row")
    return LanguageTable(default, rows)


@lru_cache(maxsize=1)
def language_table() -> LanguageTable:
    return read_languages()


def languages() -> dict[str, Language]:
    """The languages the assistant answers in, by code, in the file's order."""
    return language_table().languages


def default_language() -> str:
    return language_table().default


def supported(code: str | None) -> str | None:
    """The supported language `code` names ("fr", "FR", "fr-CH", "de_AT" → its code), else None."""
    if not code:
        return None
    base = str(code).strip().replace("_", "-").split("-", 1)[0].lower()
    return base if base in languages() else None


def learn_more(language: str | None) -> str:
    """The words before the source link an answer ends with ("Learn more:", "En savoir plus :")."""
    table = languages()
    return table.get(supported(language) or default_language(), table[SOURCE]).learn_more


def learn_more_phrases() -> tuple[str, ...]:
    """Every language's "Learn more:" phrase (the answer checks and channels recognise each)."""
    return tuple(dict.fromkeys(language.learn_more for language in languages().values()))


# --- Responses and messages ------------------------------------------------------------------


@dataclass
class Catalogue:
    """One language's texts, merged from its files; `origin` says which file gave each key."""

    responses: dict[str, Any] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    origin: dict[str, Path] = field(default_factory=dict)


def read_catalogue(folder: Path) -> Catalogue:
    """Every `*.yml` file in `folder` merged; a key in two files raises I18nError."""
    found = Catalogue()
    for path in sorted(folder.glob("*.yml")) if folder.is_dir() else []:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(document, dict):
            raise I18nError(f"{path}: expected a mapping")
        for section, target in (("replies", found.responses), ("messages", found.messages)):
            entries = document.get(section) or {}
            if not isinstance(entries, dict):
                raise I18nError(f"{path}: `{section}` must map names to texts")
            for key, value in entries.items():
                where = f"{section}:{key}"
                if where in found.origin:
                    raise I18nError(
                        f"{path}: {section} {key!r} is already defined in {found.origin[where]}"
                    )
                found.origin[where] = path
                target[str(key)] = value
    return found


@cache
def catalogue(language: str) -> Catalogue:
    return read_catalogue(I18N_DIR / language)


_warned: set[tuple[str, str]] = set()


def _missing(language: str, key: str) -> None:
    """Log once per language and key that English is said instead."""
    if (language, key) not in _warned:
        _warned.add((language, key))
        logger.warning("No %s text for %s: saying it in English", language, key)


def placeholders(template: str) -> set[str]:
    """The `{named}` values a template expects."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


# The code gives a country to a text twice (bot.countries.Country.values): bare, `{country}`
# ("Suisse", for lists and headings), and as "in <country>", `{in_country}` ("en Suisse", "in
# der Schweiz"), whose preposition and article no template can add. A translation says
# whichever its grammar needs ("listed for Poland" is "enregistrée en Pologne"), so when it
# is compared with the English the two count as one value.
SAME_VALUE = {"in_country": "country"}


def compared_values(names: set[str]) -> set[str]:
    """`names` (a template's values) with the ones that are the same value counted once."""
    return {SAME_VALUE.get(name, name) for name in names}


def translation(key: str, language: str) -> str | None:
    """Message `key` as language `language` writes it, or None (logged once) when it has none,
    for a caller whose English is not a message of data/i18n/en (a catalogue title, a title
    staff wrote in data/welcome.yml)."""
    template = catalogue(language).messages.get(key)
    if template is None and language != SOURCE:
        _missing(language, key)
    return None if template is None else str(template)


def text(key: str, language: str | None = None, /, **values: Any) -> str:
    """Message `key` in `language` (English when it has none), with `values` filled in.
    An unknown key is a programming error: KeyError."""
    code = supported(language) or default_language()
    template = catalogue(code).messages.get(key)
    if template is None:
        if code != SOURCE:
            _missing(code, key)
        template = catalogue(SOURCE).messages[key]
    return str(template).format(**values)


def response(name: str, language: str | None) -> dict[str, Any] | None:
    """The translation of response `name` as `{"text": …, "buttons": [title, …]}`, or None for
    English (domain.yml is the source) and when the language has none (logged once)."""
    code = supported(language)
    if code is None or code == SOURCE:
        return None
    entry = catalogue(code).responses.get(name)
    if entry is None:
        _missing(code, name)
        return None
    if isinstance(entry, str):
        return {"text": entry, "buttons": []}
    return {"text": entry.get("text"), "buttons": list(entry.get("buttons") or [])}


def join_and(items: list[str], language: str | None = None) -> str:
    """ "A, B and C" in the language."""
    if len(items) < 2:
        return "".join(items)
    return text("list.and", language, items=", ".join(items[:-1]), last=items[-1])


def reload() -> None:
    """Forget what was read (tests, and after staff edit the files)."""
    language_table.cache_clear()
    catalogue.cache_clear()
    _warned.clear()
