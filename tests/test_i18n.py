"""Every text the assistant says exists in every language of data/languages.yml, with the
same placeholders, buttons and links as the English (bot/i18n.py, data/i18n/<code>/).

These tests are strict on purpose: a response, FAQ answer or message left untranslated
fails here by name, language and file, even though the assistant would say it in English.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from bot import i18n
from bot.answers import answer_files, answer_problems, read_answers
from bot.countries import load_countries
from bot.settings import PROJECT_ROOT
from bot.suggestions import INTENT_TITLES, SOMETHING_ELSE

OTHERS = [code for code in i18n.languages() if code != i18n.SOURCE]
URL = re.compile(r"https?://[^\s)\"»”]+")


def english_responses() -> dict[str, dict]:
    """Every response the assistant can say in English, by name: domain.yml's and the FAQ
    answers, as {text, buttons: [titles]} of their first variant."""
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    found = {}
    for name, variants in {**domain["responses"], **read_answers(answer_files())}.items():
        first = variants[0]
        titles = [button["title"] for button in first.get("buttons") or []]
        found[name] = {"text": first["text"], "buttons": titles}
    return found


ENGLISH = english_responses()
MESSAGES = i18n.catalogue(i18n.SOURCE).messages


def placeholders(text: str) -> set[str]:
    """Rasa's slot values ("{country}") and our named values."""
    return set(re.findall(r"\{(\w+)\}", text))


def translated(code: str, name: str) -> dict:
    entry = i18n.catalogue(code).responses[name]
    return entry if isinstance(entry, dict) else {"text": entry, "buttons": []}


def test_the_languages_table_names_the_source_and_a_phrase_for_each() -> None:
    table = i18n.read_languages()
    assert table.default == i18n.SOURCE == "en"
    assert list(table.languages) == ["en", "fr", "de", "es", "it"]
    for language in table.languages.values():
        assert language.name and language.learn_more.endswith(":")
        assert (PROJECT_ROOT / "data" / "i18n" / language.code).is_dir(), language.code


@pytest.mark.parametrize("code", list(i18n.languages()))
def test_every_language_loads_without_a_key_defined_twice(code: str) -> None:
    found = i18n.read_catalogue(PROJECT_ROOT / "data" / "i18n" / code)
    assert found.messages, code


def test_a_key_defined_in_two_files_is_refused_naming_both(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text("messages:\n  x.y: one\n", encoding="utf-8")
    (tmp_path / "b.yml").write_text("messages:\n  x.y: two\n", encoding="utf-8")
    with pytest.raises(i18n.I18nError, match=r"b\.yml.*x\.y.*a\.yml"):
        i18n.read_catalogue(tmp_path)


def test_a_missing_text_falls_back_to_english_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    i18n.reload()
    english = i18n.text("events.show_more", "en")
    assert english == "Show more events"
    with caplog.at_level("WARNING"):
        assert i18n.text("events.show_more", "xx") == english  # unknown language: English
        assert i18n.response("utter_no_such_response", "fr") is None
        assert i18n.response("utter_no_such_response", "fr") is None
    assert caplog.text.count("utter_no_such_response") == 1
    with pytest.raises(KeyError):
        i18n.text("no.such.message", "fr")


@pytest.mark.parametrize("code", OTHERS)
def test_every_response_and_faq_answer_is_translated(code: str) -> None:
    responses = i18n.catalogue(code).responses
    missing = sorted(set(ENGLISH) - set(responses))
    assert missing == [], f"{code}: {len(missing)} responses not translated: {missing}"
    unknown = sorted(set(responses) - set(ENGLISH))
    assert unknown == [], f"{code}: translations of responses that do not exist: {unknown}"


@pytest.mark.parametrize("code", OTHERS)
def test_translated_responses_keep_placeholders_and_buttons(code: str) -> None:
    problems = []
    for name in sorted(set(ENGLISH) & set(i18n.catalogue(code).responses)):
        english, translation = ENGLISH[name], translated(code, name)
        if not str(translation.get("text") or "").strip():
            problems.append(f"{name}: no text")
            continue
        if placeholders(translation["text"]) != placeholders(english["text"]):
            problems.append(f"{name}: placeholders {placeholders(translation['text'])}")
        if len(translation.get("buttons") or []) != len(english["buttons"]):
            problems.append(f"{name}: {len(translation.get('buttons') or [])} button titles")
    assert problems == [], f"{code}:\n" + "\n".join(problems)


@pytest.mark.parametrize("code", OTHERS)
def test_translated_faq_answers_pass_the_answer_checks(code: str) -> None:
    problems = []
    for name in sorted(n for n in ENGLISH if n.startswith("utter_faq_")):
        if name not in i18n.catalogue(code).responses:
            continue  # test_every_response_and_faq_answer_is_translated names it
        text = translated(code, name)["text"]
        found = answer_problems(text, code)
        if found:
            problems.append(f"{name}: {'; '.join(found)}")
    assert problems == [], f"{code}:\n" + "\n".join(problems)


def _hosts(text: str) -> set[str]:
    return {(urlsplit(url).hostname or "").removeprefix("www.") for url in URL.findall(text)}


@pytest.mark.parametrize("code", OTHERS)
def test_translations_link_to_the_same_sites_as_the_english(code: str) -> None:
    """The same links, or that site's own page in the language: never another site."""
    problems = []
    for name in sorted(set(ENGLISH) & set(i18n.catalogue(code).responses)):
        english, text = ENGLISH[name]["text"], translated(code, name)["text"]
        if _hosts(text) != _hosts(english):
            problems.append(f"{name}: {sorted(_hosts(text))} vs {sorted(_hosts(english))}")
        if name.startswith("utter_faq_"):
            source, link = URL.findall(english)[-1], URL.findall(text)[-1:]
            if not link or urlsplit(link[0]).hostname != urlsplit(source).hostname:
                problems.append(f"{name}: source link {link} instead of {source}")
    assert problems == [], f"{code}:\n" + "\n".join(problems)


@pytest.mark.parametrize("code", OTHERS)
def test_every_message_is_translated_with_the_same_values(code: str) -> None:
    messages = i18n.catalogue(code).messages
    missing = sorted(set(MESSAGES) - set(messages))
    assert missing == [], f"{code}: {len(missing)} messages not translated: {missing}"
    wrong = [
        f"{key}: {sorted(i18n.placeholders(str(messages[key])))}"
        for key in sorted(MESSAGES)
        if key in messages
        and i18n.placeholders(str(messages[key])) != i18n.placeholders(str(MESSAGES[key]))
    ]
    assert wrong == [], f"{code}: values differ from the English:\n" + "\n".join(wrong)
    unknown = sorted(set(messages) - set(MESSAGES))
    assert unknown == [], f"{code}: messages the English does not have: {unknown}"


@pytest.mark.parametrize("code", OTHERS)
def test_every_country_has_its_names_in_the_language(code: str) -> None:
    path = PROJECT_ROOT / "data" / "i18n" / code / "countries.yml"
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))["countries"]
    missing = sorted(set(load_countries()) - {str(iso) for iso in rows})
    assert missing == [], f"{code}: no names for {missing}"
    empty = sorted(str(iso) for iso, row in rows.items() if not (row or {}).get("names"))
    assert empty == [], f"{code}: countries without a name: {empty}"


def test_the_english_messages_are_what_the_code_says() -> None:
    """Spot checks that the English templates are the sentences the code said before
    languages existed (the English answers must not change by a byte)."""
    assert i18n.text("events.found", "en", query="webinars coming up") == (
        "Here is what I found: webinars coming up:"
    )
    assert i18n.text("partners.no_partner", "en", country="Malta") == (
        "ECRIN has no national partner in Malta yet. The ECRIN coordination office in Paris "
        "can still advise you."
    )
    assert i18n.join_and(["Italy", "Spain", "France"], "en") == "Italy, Spain and France"
    assert i18n.text("events.zone_city", "en", zone="CEST", city="Berlin") == "CEST (Berlin time)"
    for intent, title in INTENT_TITLES.items():
        assert i18n.text(f"intent_title.{intent}", "en") == title
    assert i18n.text("button.something_else", "en") == SOMETHING_ELSE["title"]
    assert i18n.text("button.handoff", "en") == "Talk to a person"
