"""The content rules of bot/knowledge.py, on made-up catalogue entries."""

from __future__ import annotations

from datetime import date

import pytest

from bot.knowledge import Topic, content_problems, domain_is_trusted, reading_grade, syllables

LINK = "Learn more: https://www.ema.europa.eu/en/glossary/placebo"


def topic(**overrides: object) -> Topic:
    fields = {
        "key": "faq_trials/placebo",
        "title": "What is a placebo?",
        "audience": "patients",
        "sources": ("https://www.ema.europa.eu/en/glossary/placebo",),
        "checked": date(2026, 12, 6),
    }
    return Topic(**{**fields, **overrides})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("word", "count"),
    [
        ("the", 1),
        ("trial", 2),
        ("placebo", 3),
        ("involve", 2),
        ("asked", 1),
        ("medicine", 3),
        ("information", 4),
        ("committee", 3),
        ("people", 2),
        ("period", 3),
    ],
)
def test_syllables_follow_spoken_english(word: str, count: int) -> None:
    assert syllables(word) == count


def test_short_everyday_sentences_read_easier_than_long_technical_ones() -> None:
    plain = "A trial tests a new medicine. You can stop at any time. " + LINK
    technical = (
        "Pharmacovigilance encompasses the identification, characterisation and prevention of "
        "adverse pharmacological reactions throughout the authorisation lifecycle of medicinal "
        "products. " + LINK
    )
    assert reading_grade(plain) < 4 < 12 < reading_grade(technical)


def test_the_closing_link_does_not_count_towards_the_grade() -> None:
    plain = "You can stop at any time."
    assert reading_grade(plain) == reading_grade(f"{plain} {LINK}")


@pytest.mark.parametrize(
    ("url", "trusted"),
    [
        ("https://www.ema.europa.eu/en/glossary/placebo", True),
        ("https://eur-lex.europa.eu/eli/reg/2014/536/oj", True),
        ("https://toolbox.eupati.eu/resources/", True),
        ("https://bepartofresearch.nihr.ac.uk/", False),
        ("https://europa.eu.example.com/", False),
        ("https://noteupati.eu/", False),
    ],
)
def test_trusted_domains_include_subdomains_but_not_look_alikes(url: str, trusted: bool) -> None:
    assert domain_is_trusted(url) is trusted


def test_a_sound_answer_has_no_problems() -> None:
    text = "A placebo looks like a medicine but has nothing active in it. " + LINK
    assert content_problems(topic(), text) == []


def test_a_national_link_needs_an_answer_about_that_country() -> None:
    text = "In the Netherlands, travel costs are usually paid back. Learn more: https://english.ccmo.nl/x"
    assert "not on bot.knowledge.TRUSTED_DOMAINS" in content_problems(topic(), text)[0]
    assert content_problems(topic(country="NL"), text) == []


def test_an_answer_without_source_or_check_date_is_refused() -> None:
    text = "A placebo has nothing active in it. " + LINK
    problems = content_problems(topic(sources=(), checked=None), text)
    assert problems == ["it names no source", "it has no `checked` date"]


def test_a_count_that_changes_must_be_dated() -> None:
    text = "ECRIN has 12 member countries. " + LINK
    assert "without `as_of`" in content_problems(topic(audience="everyone"), text)[0]
    assert "as of 2026" in content_problems(topic(audience="everyone", as_of=2026), text)[0]
    dated = "As of 2026, ECRIN has 12 member countries. " + LINK
    assert content_problems(topic(audience="everyone", as_of=2026), dated) == []


def test_patient_answers_above_grade_12_are_refused_but_researcher_answers_are_not() -> None:
    text = (
        "Pharmacovigilance encompasses the identification, characterisation and prevention of "
        "adverse pharmacological reactions throughout the authorisation lifecycle. " + LINK
    )
    assert "reads at grade" in content_problems(topic(), text)[0]
    assert content_problems(topic(audience="researchers"), text) == []


def test_an_uncatalogued_answer_is_refused() -> None:
    assert content_problems(None, "Anything. " + LINK) == ["it has no catalogue entry in data/faq/"]
