"""The involvement guidance data (data/involvement/guidance.yml): shape, sources, plain language.

Every step of a researcher's involvement plan comes from this file, so each one must name a
source that exists, every source must be dated and on a trusted domain, and the steps patient
partners read themselves must stay plain.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
import yaml

from bot.answers import EMAIL, phone_numbers
from bot.knowledge import domain_is_trusted, reading_grade
from bot.settings import PROJECT_ROOT

GUIDANCE_FILE = PROJECT_ROOT / "data" / "involvement" / "guidance.yml"

SECTIONS = {
    "stages": ({"priorities", "design", "conduct", "dissemination"}, (3, 6)),
    "kinds": ({"trial", "observational", "device", "other"}, (1, 3)),
    "populations": ({"adults", "children", "rare_disease", "underserved"}, (2, 4)),
    "help": ({"partners", "payment", "training", "ethics_funding", "reporting"}, (2, 4)),
}
# "Adults" and "other" are the general case: one general step is enough.
SINGLE_STEP_ALLOWED = {("populations", "adults"), ("kinds", "other")}
STEP_KEYS = {"text", "sources", "plain"}
MAX_WORDS = 45
MAX_SENTENCES = 2
MAX_PLAIN_GRADE = 10.0
TRAILING_URL = re.compile(r"\s*\((https?://\S+)\)\s*$")
ANY_URL = re.compile(r"https?://\S+")
# A sentence ends at . ! or ? followed by a space (abbreviations like "e.g." would split).
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@pytest.fixture(scope="module")
def guidance() -> dict[str, Any]:
    document = yaml.safe_load(GUIDANCE_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict), f"{GUIDANCE_FILE} must be a mapping"
    return document


def _steps(guidance: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every step with where it sits ("stages/design #2")."""
    found = []
    for section in SECTIONS:
        for key, item in guidance[section].items():
            for number, step in enumerate(item["steps"], start=1):
                found.append((f"{section}/{key} #{number}", step))
    return found


def _body(text: str) -> str:
    """The step text without its closing "(URL)"."""
    return TRAILING_URL.sub("", text).strip()


def test_top_level_keys_are_exactly_the_sections(guidance: dict[str, Any]) -> None:
    assert set(guidance) == {"sources", *SECTIONS}


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_section_keys_and_step_counts(guidance: dict[str, Any], section: str) -> None:
    keys, (low, high) = SECTIONS[section]
    assert set(guidance[section]) == keys
    for key, item in guidance[section].items():
        assert set(item) == {"title", "steps"}, f"{section}/{key}"
        assert isinstance(item["title"], str) and item["title"].strip(), f"{section}/{key}"
        minimum = 1 if (section, key) in SINGLE_STEP_ALLOWED else low
        assert (
            minimum <= len(item["steps"]) <= high
        ), f"{section}/{key} has {len(item['steps'])} steps ({minimum} to {high})"


def test_every_step_is_well_formed(guidance: dict[str, Any]) -> None:
    for where, step in _steps(guidance):
        assert isinstance(step, dict) and set(step) <= STEP_KEYS, where
        assert isinstance(step.get("text"), str) and step["text"].strip(), where
        assert isinstance(step.get("sources"), list) and step["sources"], where
        assert step.get("plain", False) in (True, False), where


def test_steps_are_short(guidance: dict[str, Any]) -> None:
    for where, step in _steps(guidance):
        body = _body(step["text"])
        assert not ANY_URL.search(body), f"{where}: a URL may only close the step, in ()"
        words = len(body.split())
        assert words <= MAX_WORDS, f"{where} has {words} words (at most {MAX_WORDS})"
        sentences = [part for part in SENTENCE_END.split(body) if part]
        assert len(sentences) <= MAX_SENTENCES, f"{where} has {len(sentences)} sentences"


def test_every_step_source_exists(guidance: dict[str, Any]) -> None:
    known = set(guidance["sources"])
    for where, step in _steps(guidance):
        missing = set(step["sources"]) - known
        assert not missing, f"{where} cites unknown sources {sorted(missing)}"


def test_every_source_is_used(guidance: dict[str, Any]) -> None:
    used = {source for _, step in _steps(guidance) for source in step["sources"]}
    assert set(guidance["sources"]) == used, sorted(set(guidance["sources"]) - used)


def test_every_source_has_title_url_and_checked_date(guidance: dict[str, Any]) -> None:
    for key, source in guidance["sources"].items():
        assert set(source) == {"title", "url", "checked"}, key
        assert isinstance(source["title"], str) and source["title"].strip(), key
        assert isinstance(source["url"], str) and source["url"].startswith("https://"), key
        assert isinstance(source["checked"], date), f"{key}: checked must be a YYYY-MM-DD date"


def test_every_source_url_is_trusted(guidance: dict[str, Any]) -> None:
    untrusted = {
        key: source["url"]
        for key, source in guidance["sources"].items()
        if not domain_is_trusted(source["url"])
    }
    assert not untrusted, f"not on bot.knowledge.TRUSTED_DOMAINS: {untrusted}"


def test_a_closing_url_is_the_steps_own_source(guidance: dict[str, Any]) -> None:
    for where, step in _steps(guidance):
        closing = TRAILING_URL.search(step["text"])
        if closing:
            own = {guidance["sources"][source]["url"] for source in step["sources"]}
            assert closing.group(1) in own, f"{where}: {closing.group(1)} is not its source"


def test_plain_steps_are_easy_to_read(guidance: dict[str, Any]) -> None:
    plain = [(where, step) for where, step in _steps(guidance) if step.get("plain")]
    assert plain, "patient partners read some steps: mark them plain: true"
    for where, step in plain:
        grade = reading_grade(step["text"])
        assert grade <= MAX_PLAIN_GRADE, f"{where} reads at grade {grade}"


def test_no_email_addresses_or_phone_numbers(guidance: dict[str, Any]) -> None:
    for where, step in _steps(guidance):
        assert not EMAIL.search(step["text"]), f"{where} contains an e-mail address"
        assert not phone_numbers(step["text"]), f"{where} contains a phone number"


def test_results_rule_is_stated_exactly(guidance: dict[str, Any]) -> None:
    """Regulation 536/2014 Art. 37 (facts.md 3.8), wherever results are posted."""
    rule = (
        "the sponsor must submit a summary of results to the EU database within one year of "
        "the end of the trial in all Member States concerned (six months for paediatric "
        "trials), with a summary for lay persons"
    )
    for section, key in (("stages", "dissemination"), ("help", "reporting")):
        texts = [step["text"] for step in guidance[section][key]["steps"]]
        assert any(rule in text for text in texts), f"{section}/{key} must state the rule"


def test_partner_help_names_the_national_contacts_generically(guidance: dict[str, Any]) -> None:
    text = " ".join(step["text"] for step in guidance["help"]["partners"]["steps"])
    assert "EUPATI National Platform in your country" in text
    assert "ECRIN's national partner" in text
    assert "patient organisations" in text
