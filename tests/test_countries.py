"""Country recognition: every name in data/db/countries.yml, alone and in sentences, through
the gazetteer and through the spaCy pipeline Rasa uses."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path

import pytest
import spacy

from bot.countries import AMBIGUOUS_CODES, Country, fold, gazetteer, load_countries
from bot.nlp import CITY, COUNTRY, build_pipeline


@lru_cache(maxsize=1)
def nlp() -> spacy.language.Language:
    """The project's spaCy pipeline without the database (places only), built once."""
    return build_pipeline()


def country(iso: str) -> Country:
    return gazetteer().countries[iso]


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("France", "FR"),
        ("german", "DE"),
        ("Deutschland", "DE"),
        ("DE", "DE"),
        ("de", "DE"),
        ("IT", "IT"),  # the whole answer may be a code…
        ("NO", "NO"),
        ("Dublin", "IE"),
        ("Košice", "SK"),
        ("kosice", "SK"),
        ("España", "ES"),
        ("the Netherlands", "NL"),
        ("The Hague", "NL"),  # "the" is part of this name
        ("Czechia", "CZ"),
        ("Norway", "NO"),
        ("Tromso", "NO"),  # ø has no accent to strip, people type o
        ("Lodz", "PL"),
        ("Kibris", "CY"),
    ],
)
def test_resolves_every_way_of_naming_a_country(text: str, iso: str) -> None:
    found = gazetteer().resolve(text)
    assert found is not None and found.iso == iso


@pytest.mark.parametrize("text", ["it", "no", "No", "in", "me", "us", "be", "at", "ca", "is"])
def test_a_code_that_is_an_english_word_needs_capitals_even_alone(text: str) -> None:
    # "no" is the answer to "Which country?" of someone who does not want to say.
    assert gazetteer().resolve(text) is None


@pytest.mark.parametrize(
    ("sentence", "iso"),
    [
        ("Who is the ECRIN partner in France?", "FR"),
        ("I'm in Dublin, who can help me?", "IE"),
        ("contact for the czech republic pls", "CZ"),
        ("I live in Northern Ireland", "GB"),  # longest phrase wins over "Ireland"
        ("partner in CZ?", "CZ"),
        ("Who is the partner in Norway?", "NO"),
        ("France or Northern Ireland?", "FR"),  # the first one named
        ("Is the Split hospital a partner?", "HR"),  # a capital mid-sentence: the place
    ],
)
def test_finds_a_country_inside_a_sentence(sentence: str, iso: str) -> None:
    found = gazetteer().find_in(sentence)
    assert found is not None and found.iso == iso


ENGLISH_WORDS = [
    "is it free?",
    "no thanks",
    "Narnia",
    "",
    "   ",
    "can you help me?",
    "tell us more",
    "to be honest",
    "look at this",
    "ca 20 patients",
    "IS IT FREE?",
    "NO THANKS",
    "HELP ME",
    "TELL US MORE",
    "WHO IS IN CHARGE?",
    "BE QUICK",
    "AT HOME, CA 5 DAYS",
    # Place names that are everyday words, used as words.
    "how are patients split into groups?",
    "can I split the dose?",
    "Split the tablet in half",
    "is the sample split evenly",
    "are roma patients included?",
    "Cork the vial after use",
]


@pytest.mark.parametrize("sentence", ENGLISH_WORDS)
def test_common_words_and_unknown_places_are_not_countries(sentence: str) -> None:
    # "it" and "no" are English words before they are Italy and Norway.
    assert gazetteer().find_in(sentence) is None


@pytest.mark.parametrize("sentence", ENGLISH_WORDS)
def test_the_spacy_pipeline_finds_no_place_in_common_words(sentence: str) -> None:
    places = [(e.text, e.label_) for e in nlp()(sentence).ents if e.label_ in (COUNTRY, CITY)]
    assert places == []


def test_fold_strips_accents_case_and_punctuation() -> None:
    assert fold("  Košice, SLOVAKIA! ") == "kosice slovakia"
    assert fold("Tromsø, Łódź") == "tromso lodz"


# --- The whole table --------------------------------------------------------------------

TEMPLATES = ["{}", "I'm in {}", "who is the partner in {}?", "what about {}?", "and {}?"]
NEGATED_TEMPLATE = "not {} — {}"  # the correction: another country taken back, then this one

# How a person without the accents on their keyboard writes a name. Deliberately not
# `bot.countries.strip_accents`, so the walk checks it rather than reuses it.
_KEYBOARD = str.maketrans({"ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "\u0131": "i", "æ": "ae"})


def unaccented(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.translate(_KEYBOARD))
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def spellings(name: str) -> list[str]:
    """lower, UPPER and Title case, each with and without accents."""
    found: list[str] = []
    for base in (name, unaccented(name)):
        for spelling in (base, base.lower(), base.upper(), base.title()):
            if spelling not in found:
                found.append(spelling)
    return found


def table() -> Iterator[tuple[Country, str, str]]:
    """(country, name, spaCy label) for every name of every row of countries.yml."""
    for row in load_countries().values():
        for name in row.names():
            yield row, name, COUNTRY
        for city in row.cities:
            yield row, city, CITY


def sentences(row: Country, name: str) -> Iterator[tuple[str, str, str]]:
    """(spelling, sentence, template) for every spelling of `name` in every template, the
    whole sentence in lower or upper case when the spelling is ("WHO IS THE PARTNER IN…")."""
    other = "Cyprus" if row.iso == "GR" else "Greece"
    for spelling in spellings(name):
        case = str.lower if spelling == spelling.lower() else str
        case = str.upper if spelling == spelling.upper() != spelling.lower() else case
        for template in TEMPLATES:
            yield spelling, case(template).format(spelling), template
        sentence = case(NEGATED_TEMPLATE).format(case(other), spelling)
        yield spelling, sentence, NEGATED_TEMPLATE


def _gazetteer_misses(row: Country, name: str, label: str) -> Iterator[str]:
    places = gazetteer()
    for spelling in spellings(name):
        found = places.resolve(spelling)
        if found != row:
            yield f"resolve({spelling!r}) -> {found and found.iso}, expected {row.iso}"
    for _, sentence, template in sentences(row, name):
        if template == NEGATED_TEMPLATE:
            found = places.find_meant(sentence)
            if found != row:
                yield f"find_meant({sentence!r}) -> {found and found.iso}, expected {row.iso}"
        else:
            found = places.find_in(sentence)
            if found != row:
                yield f"find_in({sentence!r}) -> {found and found.iso}, expected {row.iso}"


def _spacy_misses(row: Country, name: str, label: str) -> Iterator[str]:
    for spelling, sentence, _ in sentences(row, name):
        ents = [(e.text, e.label_, e.ent_id_) for e in nlp()(sentence).ents]
        wanted = [e for e in ents if fold(e[0]) == fold(spelling)]
        if not any(e[1] == label and e[2] == row.iso for e in wanted):
            yield f"spaCy {sentence!r}: {ents}, expected {label} {row.iso}"


@pytest.mark.parametrize("check", [_gazetteer_misses, _spacy_misses], ids=["gazetteer", "spacy"])
def test_every_name_in_the_table_is_recognised(
    check: Callable[[Country, str, str], Iterator[str]],
) -> None:
    # One report with every miss, not the first one only.
    misses = [miss for row, name, label in table() for miss in check(row, name, label)]
    assert misses == [], f"{len(misses)} misses:\n" + "\n".join(misses)


def test_every_code_resolves_and_unambiguous_codes_are_found_in_sentences() -> None:
    misses = []
    for row in load_countries().values():
        code = row.iso
        if gazetteer().resolve(code) != row:
            misses.append(f"resolve({code!r})")
        if code in AMBIGUOUS_CODES:
            continue
        sentence = f"who is the partner in {code}?"
        if gazetteer().find_in(sentence) != row:
            misses.append(f"find_in({sentence!r})")
        if not any(e.text == code and e.ent_id_ == code for e in nlp()(sentence).ents):
            misses.append(f"spaCy {sentence!r}")
    assert misses == []


def test_the_table_has_norway() -> None:
    # An unquoted `iso: NO` is YAML's false: Norway was silently unknown.
    countries = load_countries()
    assert all(isinstance(iso, str) for iso in countries)
    assert countries["NO"].name == "Norway"


# --- Corrections: the country meant when a sentence names several -----------------------


@pytest.mark.parametrize(
    ("sentence", "iso"),
    [
        ("not Greece — Cyprus", "CY"),
        ("Cyprus, not Greece", "CY"),
        ("sorry, I meant Austria not Germany", "AT"),
        ("Greece", "GR"),
        ("I meant Italy, sorry", "IT"),
        ("no Greece, Cyprus", "CY"),
        ("it isn't Greece, it's Cyprus", "CY"),
        ("I'm not in Greece, I'm in Cyprus", "CY"),
        ("Cyprus rather than Greece", "CY"),
        ("No, Greece", "GR"),  # "no," answers the question; Greece is not taken back
        ("Germany? no, Austria", "AT"),
        ("France then. Actually, Spain", "ES"),
        ("not the Netherlands but Belgium", "BE"),
        ("Split, not Zagreb", "HR"),
    ],
)
def test_the_country_meant_is_the_last_one_not_taken_back(sentence: str, iso: str) -> None:
    found = gazetteer().find_meant(sentence)
    assert found is not None and found.iso == iso


@pytest.mark.parametrize("sentence", ["not Greece", "isn't Greece", "no thanks", ""])
def test_nothing_is_meant_when_every_country_is_taken_back(sentence: str) -> None:
    assert gazetteer().find_meant(sentence) is None


def test_mentions_lists_every_country_in_order_with_its_negation() -> None:
    mentions = gazetteer().mentions("sorry, I meant Austria not Germany")
    assert [(m.country.iso, m.text, m.negated) for m in mentions] == [
        ("AT", "Austria", False),
        ("DE", "Germany", True),
    ]
    assert "sorry, I meant Austria not Germany"[mentions[0].start : mentions[0].end] == "Austria"


# --- Names in answers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("iso", "name", "reads"),
    [
        ("NL", None, "the Netherlands"),
        ("NL", "The Netherlands", "the Netherlands"),
        ("NL", "Holland", "Holland"),
        ("CZ", None, "the Czech Republic"),
        ("CZ", "Czechia", "Czechia"),
        ("GB", None, "the United Kingdom"),
        ("GB", "UK", "the UK"),
        ("GB", "Scotland", "Scotland"),
        ("US", None, "the United States"),
        ("SK", "Slovak Republic", "the Slovak Republic"),
        ("SK", None, "Slovakia"),
        ("IE", "Republic of Ireland", "the Republic of Ireland"),
        ("IE", None, "Ireland"),
        ("FR", None, "France"),
    ],
)
def test_names_that_need_an_article_read_naturally(iso: str, name: str | None, reads: str) -> None:
    assert country(iso).with_article(name) == reads
    if name is None:
        assert country(iso).display == reads


# --- The reference data is checked when it is read -------------------------------------


def write_table(tmp_path: Path, rows: str) -> Path:
    path = tmp_path / "countries.yml"
    path.write_text("countries:\n" + rows, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("rows", "error"),
    [
        (
            "- {iso: FR, name: France}\n- {iso: NO, name: Norway}\n",
            r"row 2 \(Norway\): iso must be a two-letter upper-case code, got False "
            r".*write \"NO\"",
        ),
        ("- {iso: fr, name: France}\n", r"row 1 \(France\): iso must be .* got 'fr'"),
        ("- {iso: FRA, name: France}\n", r"row 1 \(France\): iso must be .* got 'FRA'"),
        ("- {iso: FR}\n", r"row 1 \(no name\): name must be a non-empty string"),
        ("- {iso: FR, name: France}\n- {iso: FR, name: Francia}\n", r"iso FR appears twice"),
        (
            "- {iso: FR, name: France, cities: [Paris]}\n- {iso: US, name: USA, cities: [paris]}\n",
            r"row 2 \(USA\): 'paris' also names France",
        ),
        ("- {iso: FR, name: France, cities: [Paris, No]}\n", r"cities must hold .* got False"),
        ("- {iso: FR, name: France, alias: [Gaul]}\n", r"unknown keys \['alias'\]"),
        ("- {iso: FR, name: France, the: [Gaul]}\n", r"the lists \['Gaul'\]"),
        ("- {iso: FR, name: France, cities: Paris}\n", r"cities must be a list"),
        ("- FR\n", r"row 1: expected a mapping"),
    ],
)
def test_a_bad_row_is_refused_with_its_row_named(tmp_path: Path, rows: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        load_countries(write_table(tmp_path, rows))


def test_the_reference_table_passes_its_own_checks() -> None:
    countries = load_countries()
    assert len(countries) == 48 and {"NO", "NL", "IE", "GB"} <= set(countries)
