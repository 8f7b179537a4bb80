"""Build the project's own spaCy pipeline, used by Rasa's SpacyNLP component.

Nothing is downloaded: the pipeline is spaCy's blank English tokenizer and an EntityRuler that
knows every country, city and partner organisation the assistant can answer about. (A lookup
lemmatizer was dropped: the classifiers do better on whitespace tokens, docs/nlu-pipeline.md,
so its tables only cost the Rasa server 15 MB.) Rebuild it
(`bot nlp build`) when the seed data changes; `make train` does so when it is out of date.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import spacy
from sqlalchemy.exc import SQLAlchemyError

from bot.countries import (
    AMBIGUOUS_CODES,
    PLACE_CUES,
    WORD_FOLLOWERS,
    Gazetteer,
    fold,
    gazetteer,
    strip_accents,
)
from bot.settings import PROJECT_ROOT

PIPELINE_DIR = PROJECT_ROOT / "models" / "spacy" / "en_ecrin"

COUNTRY, CITY, ORGANISATION = "country", "city", "organisation"
# Spans where a place name is an everyday word ("split the dose"). Longer than the place
# pattern, they win the EntityRuler's overlap resolution, and Rasa's SpacyEntityExtractor
# drops them: its `dimensions` are the three labels above.
NOT_A_PLACE = "not_a_place"


def _token_pattern(nlp: spacy.language.Language, phrase: str) -> list[dict[str, str]]:
    return [{"LOWER": token.lower_} for token in nlp.make_doc(phrase)]


def _variants(phrase: str) -> tuple[str, ...]:
    """The spellings people type: as written, without accents ("Kosice", "Κυπρος", whose
    final sigma `fold` would change), and folded ("cluj napoca")."""
    return (phrase, strip_accents(phrase), fold(phrase))


def _phrase_patterns(nlp, label: str, phrases: Iterable[str], iso: str) -> list[dict]:
    patterns, seen = [], set()
    for phrase in phrases:
        for variant in _variants(phrase):
            pattern = _token_pattern(nlp, variant)
            key = (label, tuple(p["LOWER"] for p in pattern))
            if pattern and key not in seen:
                seen.add(key)
                patterns.append({"label": label, "pattern": pattern, "id": iso})
    return patterns


def entity_patterns(
    nlp: spacy.language.Language,
    places: Gazetteer,
    organisations: Iterable[tuple[str, str]] = (),
    partner_cities: Iterable[tuple[str, str]] = (),
) -> list[dict]:
    """EntityRuler patterns for countries, cities and organisations (name, ISO code)."""
    patterns: list[dict] = []
    for country in places.countries.values():
        patterns += _phrase_patterns(nlp, COUNTRY, country.names(), country.iso)
        if country.iso not in AMBIGUOUS_CODES:
            patterns.append(
                {"label": COUNTRY, "pattern": [{"ORTH": country.iso}], "id": country.iso}
            )
    for city, iso in [*places.city_names(), *partner_cities]:
        patterns += _phrase_patterns(nlp, CITY, [city], iso)
    for name, iso in organisations:
        patterns += _phrase_patterns(nlp, ORGANISATION, [name], iso)
    for country in places.countries.values():
        for word in country.everyday_words():
            patterns += _common_word_patterns(nlp, word)
    return patterns


def _common_word_patterns(nlp: spacy.language.Language, word: str) -> list[dict]:
    """NOT_A_PLACE patterns for a place name that is also an everyday word: the rule of
    `Gazetteer.mentions` (bot/countries.py, PLACE_CUES), so both read "split" alike.

    It is a word when the next word makes it a verb or noun ("split the", "split into"), or
    when it is written in lower case after a word that does not announce a place ("are
    split"); "in split", "and split?", "— split" and "the Split hospital" stay places.
    """
    patterns, seen = [], set()
    for variant in _variants(word):
        tokens = _token_pattern(nlp, variant)
        key = tuple(t["LOWER"] for t in tokens)
        if not tokens or key in seen:
            continue
        seen.add(key)
        followed = [*tokens, {"LOWER": {"IN": sorted(WORD_FOLLOWERS)}}]
        preceded = [
            {"LOWER": {"NOT_IN": sorted(PLACE_CUES)}, "IS_PUNCT": False, "IS_SPACE": False},
            {**tokens[0], "IS_LOWER": True},
            *tokens[1:],
        ]
        patterns += [
            {"label": NOT_A_PLACE, "pattern": followed},
            {"label": NOT_A_PLACE, "pattern": preceded},
        ]
    return patterns


def _database_entries() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(organisation names, partner cities) from the database, empty if it is unreachable."""
    from bot.db import session_scope
    from bot.partners import list_partners

    try:
        with session_scope() as session:
            partners = list_partners(session)
            organisations = [
                (name, p.country) for p in partners for name in (p.acronym, p.name) if name
            ]
            cities = [(p.city, p.country) for p in partners if p.city]
    except SQLAlchemyError:
        return [], []
    return organisations, cities


def build_pipeline(
    organisations: Iterable[tuple[str, str]] = (),
    partner_cities: Iterable[tuple[str, str]] = (),
) -> spacy.language.Language:
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": None})
    nlp.initialize()
    ruler.add_patterns(entity_patterns(nlp, gazetteer(), organisations, partner_cities))
    nlp.meta["name"] = "en_ecrin"
    nlp.meta["description"] = "Blank English + ECRIN place/partner ruler"
    return nlp


def build(output: Path = PIPELINE_DIR, use_database: bool = True) -> Path:
    organisations, cities = _database_entries() if use_database else ([], [])
    nlp = build_pipeline(organisations, cities)
    output.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(output)
    return output
