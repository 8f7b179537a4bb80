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
from bot.countries import add_translations, gazetteer, load_countries
from bot.knowledge import catalogue as faq_catalogue
from bot.settings import PROJECT_ROOT
from bot.suggestions import FAQ_TITLE, INTENT_TITLES, SOMETHING_ELSE, faq_title

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
        same = i18n.compared_values  # {country} or {in_country}: both are always given
        if same(placeholders(translation["text"])) != same(placeholders(english["text"])):
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

    def values(template: object) -> set[str]:
        # {country} or {in_country}: the code always gives both (bot.countries.Country.values).
        return i18n.compared_values(i18n.placeholders(str(template)))

    wrong = [
        f"{key}: {sorted(i18n.placeholders(str(messages[key])))}"
        for key in sorted(MESSAGES)
        if key in messages and values(messages[key]) != values(MESSAGES[key])
    ]
    assert wrong == [], f"{code}: values differ from the English:\n" + "\n".join(wrong)
    # FAQ topic titles translate data/faq/ (the English has them there, not as messages):
    # test_every_faq_topic_has_its_title_in_the_language checks them against it.
    unknown = sorted(k for k in set(messages) - set(MESSAGES) if not k.startswith(FAQ_TITLE))
    assert unknown == [], f"{code}: messages the English does not have: {unknown}"


# --- FAQ topic titles ("did you mean …?" buttons) ----------------------------------------------


def faq_titles_in(code: str) -> dict[str, str]:
    """A language's `faq_title.<key>` messages, by FAQ key."""
    messages = i18n.catalogue(code).messages
    return {k.removeprefix(FAQ_TITLE): v for k, v in messages.items() if k.startswith(FAQ_TITLE)}


def test_the_english_has_no_faq_title_messages_its_titles_are_the_catalogues() -> None:
    assert not [key for key in MESSAGES if key.startswith(FAQ_TITLE)]


@pytest.mark.parametrize("code", OTHERS)
def test_every_faq_topic_has_its_title_in_the_language(code: str) -> None:
    titles, topics = faq_titles_in(code), faq_catalogue()
    missing = sorted(set(topics) - set(titles))
    assert missing == [], f"{code}: {len(missing)} FAQ topics without a title: {missing}"
    unknown = sorted(set(titles) - set(topics))
    assert unknown == [], f"{code}: titles of FAQ topics data/faq/ does not have: {unknown}"
    wrong = sorted(
        key
        for key, title in titles.items()
        if not isinstance(title, str)
        or not title.strip().endswith("?")  # a question to tap, as the English is
        or title == topics[key].title  # left in English
        or i18n.placeholders(title)  # nothing fills them in
    )
    assert wrong == [], f"{code}: not a translated question: {wrong}"


def test_french_titles_have_a_space_before_question_marks_and_colons() -> None:
    wrong = [title for title in faq_titles_in("fr").values() if re.search(r"\S[?:]", title)]
    assert wrong == []


def test_a_faq_title_is_said_in_the_language_and_english_from_the_catalogue(
    caplog: pytest.LogCaptureFixture,
) -> None:
    english = faq_catalogue()["faq_trials/placebo"].title
    with caplog.at_level("WARNING"):
        assert faq_title("faq_trials/placebo", "en") == english
        assert faq_title("faq_trials/placebo", None) == english  # the default language
        assert faq_title("faq_trials/placebo", "xx") == english
        assert faq_title("faq_trials/placebo", "fr") == "Qu'est-ce qu'un placebo ?"
        assert faq_title("faq_trials/placebo", "de-AT") == "Was ist ein Placebo?"
    assert caplog.text == ""  # English is the source, not a missing translation
    assert faq_title("faq_trials/no_such_topic", "en") is None
    assert faq_title("faq_trials/no_such_topic", "fr") is None


def test_a_missing_faq_title_is_said_in_english_and_logged_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    read = i18n.catalogue
    monkeypatch.setattr(
        i18n, "catalogue", lambda code: i18n.Catalogue() if code == "fr" else read(code)
    )
    monkeypatch.setattr(i18n, "_warned", set())
    english = faq_catalogue()["faq_trials/placebo"].title
    with caplog.at_level("WARNING"):
        assert faq_title("faq_trials/placebo", "fr") == english
        assert faq_title("faq_trials/placebo", "fr") == english
    assert caplog.text.count("faq_title.faq_trials/placebo") == 1


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
    malta = load_countries()["MT"]
    assert i18n.text("partners.no_partner", "en", **malta.values("en")) == (
        "ECRIN has no national partner in Malta yet. The ECRIN coordination office in Paris "
        "can still advise you."
    )
    assert i18n.join_and(["Italy", "Spain", "France"], "en") == "Italy, Spain and France"
    assert i18n.text("events.zone_city", "en", zone="CEST", city="Berlin") == "CEST (Berlin time)"
    for intent, title in INTENT_TITLES.items():
        assert i18n.text(f"intent_title.{intent}", "en") == title
    assert i18n.text("button.something_else", "en") == SOMETHING_ELSE["title"]
    assert i18n.text("button.handoff", "en") == "Talk to a person"


# --- A country after "in" ----------------------------------------------------------------------

# A preposition right before the bare name: "in {country}" reads "in Schweiz", "en Portugal".
PREPOSITION_BEFORE_COUNTRY = re.compile(
    r"\b(?:in|en|au|aux|à|a|im|nach|auf|para|per|pour|nel|nella|nei|negli)\s+\{country\}",
    re.IGNORECASE,
)


@pytest.mark.parametrize("code", OTHERS)
def test_every_country_says_how_it_reads_after_in(code: str) -> None:
    path = PROJECT_ROOT / "data" / "i18n" / code / "countries.yml"
    rows = yaml.safe_load(path.read_text(encoding="utf-8"))["countries"]
    missing = sorted(str(iso) for iso, row in rows.items() if not (row or {}).get("in"))
    assert missing == [], f"{code}: no `in:` for {missing}"


@pytest.mark.parametrize("code", OTHERS)
def test_no_translation_puts_a_preposition_before_a_bare_country(code: str) -> None:
    found = i18n.catalogue(code)
    texts = {**found.messages, **{n: translated(code, n)["text"] for n in found.responses}}
    wrong = sorted(key for key, text in texts.items() if PREPOSITION_BEFORE_COUNTRY.search(text))
    assert wrong == [], f"{code}: write {{in_country}} instead in {wrong}"


@pytest.mark.parametrize(
    ("iso", "language", "said"),
    [
        ("NL", "en", "in the Netherlands"),
        ("FR", "en", "in France"),
        ("FR", "fr", "en France"),
        ("PT", "fr", "au Portugal"),
        ("NL", "fr", "aux Pays-Bas"),
        ("CY", "fr", "à Chypre"),
        ("MT", "fr", "à Malte"),
        ("DK", "fr", "au Danemark"),
        ("IL", "fr", "en Israël"),
        ("US", "fr", "aux États-Unis"),
        ("DE", "de", "in Deutschland"),
        ("CH", "de", "in der Schweiz"),
        ("NL", "de", "in den Niederlanden"),
        ("TR", "de", "in der Türkei"),
        ("SK", "de", "in der Slowakei"),
        ("GB", "de", "im Vereinigten Königreich"),
        ("US", "de", "in den USA"),
        ("IT", "it", "in Italia"),
        ("DE", "it", "in Germania"),
        ("NL", "it", "nei Paesi Bassi"),
        ("US", "it", "negli Stati Uniti"),
        ("GB", "it", "nel Regno Unito"),
        ("CZ", "it", "nella Repubblica Ceca"),
        ("CY", "it", "a Cipro"),
        ("ES", "es", "en España"),
        ("NL", "es", "en los Países Bajos"),
        ("GB", "es", "en el Reino Unido"),
        ("US", "es", "en Estados Unidos"),
    ],
)
def test_a_country_after_in_reads_as_the_language_says_it(
    iso: str, language: str, said: str
) -> None:
    country = gazetteer().countries[iso]
    assert country.in_phrase(language) == said
    assert country.values(language) == {"country": country.name_in(language), "in_country": said}


def test_a_row_without_in_is_said_with_the_languages_preposition(tmp_path: Path) -> None:
    (tmp_path / "fr").mkdir()
    (tmp_path / "fr" / "countries.yml").write_text(
        "countries:\n  PT: {names: [Portugal]}\n  NL: {names: [Pays-Bas], in: aux Pays-Bas}\n",
        encoding="utf-8",
    )
    countries = add_translations(load_countries(), tmp_path, {"fr": "en"})
    assert countries["PT"].in_phrase("fr") == "en Portugal"  # the default, then the name
    assert countries["NL"].in_phrase("fr") == "aux Pays-Bas"
    assert i18n.languages()["fr"].country_preposition == "en"


@pytest.mark.parametrize(
    ("row", "error"),
    [
        ("{names: [Portugal], in: aux Pays-Bas}", r"in must be a preposition and one of"),
        ("{names: [Portugal], in: Portugal}", r"in must be a preposition and one of"),
        ("{names: [Portugal], In: au Portugal}", r"unknown keys \['In'\]"),
    ],
)
def test_a_wrong_in_phrase_is_refused(tmp_path: Path, row: str, error: str) -> None:
    (tmp_path / "fr").mkdir()
    (tmp_path / "fr" / "countries.yml").write_text(f"countries:\n  PT: {row}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=error):
        add_translations(load_countries(), tmp_path, {"fr": "en"})


@pytest.mark.parametrize(
    ("key", "iso", "language", "said"),
    [
        ("partners.no_partner", "NL", "en", "no national partner in the Netherlands yet."),
        ("partners.no_partner", "NL", "it", "un partner nazionale nei Paesi Bassi."),
        ("platform.none", "GB", "de", "Ich habe im Vereinigten Königreich keine Nationale"),
        ("platform.none", "NL", "fr", "EUPATI enregistrée aux Pays-Bas."),
        ("platform.none", "US", "en", "listed for the United States."),
        ("platform.ecrin_partner", "GB", "es", "Para la investigación clínica en el Reino Unido,"),
        ("events.in_country", "CH", "de", "in der Schweiz"),
    ],
)
def test_messages_about_a_country_read_right_in_each_language(
    key: str, iso: str, language: str, said: str
) -> None:
    values = gazetteer().countries[iso].values(language)
    assert said in i18n.text(key, language, **values, partner="P")
