import pytest

from bot.countries import fold, gazetteer


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("France", "FR"),
        ("german", "DE"),
        ("Deutschland", "DE"),
        ("DE", "DE"),
        ("it", "IT"),  # the whole answer may be a code…
        ("Dublin", "IE"),
        ("Košice", "SK"),
        ("kosice", "SK"),
        ("España", "ES"),
        ("the Netherlands", "NL"),
        ("Czechia", "CZ"),
    ],
)
def test_resolves_every_way_of_naming_a_country(text: str, iso: str) -> None:
    country = gazetteer().resolve(text)
    assert country is not None and country.iso == iso


@pytest.mark.parametrize(
    ("sentence", "iso"),
    [
        ("Who is the ECRIN partner in France?", "FR"),
        ("I'm in Dublin, who can help me?", "IE"),
        ("contact for the czech republic pls", "CZ"),
        ("I live in Northern Ireland", "GB"),  # longest phrase wins over "Ireland"
        ("partner in CZ?", "CZ"),
    ],
)
def test_finds_a_country_inside_a_sentence(sentence: str, iso: str) -> None:
    country = gazetteer().find_in(sentence)
    assert country is not None and country.iso == iso


@pytest.mark.parametrize("sentence", ["is it free?", "no thanks", "Narnia", "", "   "])
def test_common_words_and_unknown_places_are_not_countries(sentence: str) -> None:
    # "it" and "no" are English words before they are Italy and Norway.
    assert gazetteer().find_in(sentence) is None


def test_fold_strips_accents_case_and_punctuation() -> None:
    assert fold("  Košice, SLOVAKIA! ") == "kosice slovakia"
