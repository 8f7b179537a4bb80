"""data/welcome.yml and bot/welcome.py: the greeting and the questions to start with, checked
against domain.yml and the FAQ answers, read live, and offered as buttons by the greeting and
"what can you do?" (bot/rasa_ext/nlg.py) and by `GET /webhooks/web/welcome`."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
import yaml

from bot import i18n, welcome
from bot.welcome import (
    WELCOME_FILE,
    LiveWelcome,
    Suggestion,
    Welcome,
    WelcomeError,
    check,
    parse,
    payload_problems,
    title_key,
    welcome_in,
)

OTHERS = [code for code in i18n.languages() if code != i18n.SOURCE]

GOOD = {
    "text": "Hello!",
    "suggestions": [
        {"title": "What is a placebo?", "payload": '/faq_pick{"faq_key":"faq_trials/placebo"}'},
        {"title": "Whom can I contact?", "payload": "/ask_partner"},
        {"title": "Events?", "payload": "/ask_events"},
        {"title": "I'm a researcher", "payload": "/plan_involvement", "audience": "researchers"},
    ],
}


OWN_BUTTON = {"title": "A", "payload": "/a"}


def good(**changes: object) -> dict:
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    for row in data["suggestions"]:
        row.setdefault("audience", "everyone")
    data.update(changes)
    return data


def write(path: Path, data: object) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_the_welcome_file_passes_its_checks_and_speaks_to_each_audience() -> None:
    shown = check(WELCOME_FILE)
    assert 4 <= len(shown.suggestions) <= 6
    assert {s.audience for s in shown.suggestions} >= {"patients", "researchers"}
    payloads = {s.payload for s in shown.suggestions}
    assert {"/ask_partner", "/ask_events", "/plan_involvement"} <= payloads
    # The page's first words are the greeting the assistant says to "hello".
    domain = yaml.safe_load(Path("domain.yml").read_text(encoding="utf-8"))
    assert shown.text == domain["responses"]["utter_greet"][0]["text"]


def test_a_payload_must_lead_to_an_intent_or_an_faq_answer() -> None:
    shown = Welcome(
        "Hi",
        (
            Suggestion("ok", "/ask_partner", "everyone"),
            Suggestion("no intent", "/book_a_taxi", "everyone"),
            Suggestion("no answer", '/faq_pick{"faq_key":"faq_trials/nope"}', "patients"),
            Suggestion("bad json", '/faq_pick{"faq_key":}', "patients"),
            Suggestion("answer", '/faq_pick{"faq_key":"faq_trials/placebo"}', "patients"),
        ),
    )
    problems = payload_problems(shown)
    assert problems == [
        "'no intent': no intent 'book_a_taxi' in domain.yml",
        "'no answer': no FAQ answer 'faq_trials/nope'",
        "'bad json': the payload's {...} is not JSON",
    ]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (["a list"], "must be a mapping"),
        (good(text=""), "`text` must be the greeting"),
        (good(suggestions=GOOD["suggestions"][:3]), "4 to 6 buttons"),
        (good(suggestions=GOOD["suggestions"] * 2), "4 to 6 buttons"),
    ],
)
def test_a_badly_shaped_file_is_refused_with_the_reason(data: object, reason: str) -> None:
    with pytest.raises(WelcomeError, match=reason):
        parse(data)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"title": ""}, "title must be"),
        ({"title": "x" * 61}, "title must be"),
        ({"payload": "ask_partner"}, "payload must be"),
        ({"audience": "staff"}, "audience must be one of"),
    ],
)
def test_a_bad_suggestion_is_named_by_its_number(change: dict, reason: str) -> None:
    data = good()
    data["suggestions"][1].update(change)
    with pytest.raises(WelcomeError, match=f"suggestion 2: {reason}"):
        parse(data)


def test_two_buttons_with_one_payload_are_refused() -> None:
    data = good()
    data["suggestions"][1]["payload"] = data["suggestions"][2]["payload"]
    with pytest.raises(WelcomeError, match="same payload"):
        parse(data)


def test_an_edit_is_served_and_a_broken_edit_keeps_the_last_good_welcome(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path / "welcome.yml", good())
    live = LiveWelcome(path)
    assert live.current().text == "Hello!"
    write(path, good(text="Welcome back!"))
    assert live.current().text == "Welcome back!"
    broken = good()
    broken["suggestions"][0]["payload"] = "/no_such_intent"
    write(path, broken)
    with caplog.at_level(logging.ERROR):
        assert live.current().text == "Welcome back!"
    assert "no intent 'no_such_intent'" in caplog.text
    assert "the previous welcome stays" in caplog.text


def test_a_file_never_good_gives_no_welcome_and_no_buttons(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = LiveWelcome(write(tmp_path / "welcome.yml", {"text": "Hi"}))
    with pytest.raises(WelcomeError, match="4 to 6 buttons"):
        live.current()
    monkeypatch.setattr(welcome, "_live", live)
    assert welcome.welcome_buttons() == []
    missing = LiveWelcome(tmp_path / "missing.yml")
    with pytest.raises(WelcomeError, match="cannot be read"):
        missing.current()


def test_bot_answers_check_checks_the_welcome(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert welcome.report() == 0
    assert "welcome suggestions in welcome.yml lead somewhere" in capsys.readouterr().out
    bad = good()
    bad["suggestions"][0]["payload"] = '/faq_pick{"faq_key":"faq_trials/gone"}'
    assert welcome.report(write(tmp_path / "welcome.yml", bad)) == 1
    assert "no FAQ answer 'faq_trials/gone'" in capsys.readouterr().err


def test_the_greeting_and_capabilities_offer_the_welcome_buttons(tmp_path: Path) -> None:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig

    from bot.rasa_ext.nlg import LiveAnswerGenerator

    domain = Domain.from_dict(
        {
            "responses": {
                "utter_greet": [{"text": "Hello!"}],
                "utter_capabilities": [{"text": "I can help."}],
                "utter_goodbye": [{"text": "Bye."}],
                "utter_ask_more": [
                    {"text": "Which?", "buttons": [{"title": "A", "payload": "/a"}]}
                ],
            }
        }
    )
    generator = LiveAnswerGenerator(EndpointConfig(answers=str(tmp_path)), domain)
    tracker = DialogueStateTracker("welcome-test", domain.slots)

    def say(action: str) -> dict:
        return asyncio.run(generator.generate(action, tracker, "telegram"))

    expected = welcome.welcome().buttons()
    assert len(expected) >= 4
    greeting = welcome.welcome().text  # the file's words, not the domain's
    for action, text in (("utter_greet", greeting), ("utter_capabilities", "I can help.")):
        said = say(action)
        assert (said["text"], said["buttons"]) == (text, expected)
    assert not say("utter_goodbye").get("buttons")
    # A response with its own buttons keeps them.
    assert say("utter_ask_more")["buttons"] == [OWN_BUTTON]

    # In French, then German (chosen as the web selector and /language send it): the words
    # and the titles in the language, the payloads the English ones, in the same order.
    from rasa.shared.core.events import UserUttered

    payloads = [button["payload"] for button in expected]
    for code, first_title in (("fr", FRENCH_FIRST_TITLE), ("de", GERMAN_FIRST_TITLE)):
        tracker.update(UserUttered("/greet", metadata={"language": code}))
        titles = translated_titles(code)
        for action in ("utter_greet", "utter_capabilities"):
            said = say(action)
            assert said["text"] == i18n.response(action, code)["text"]
            assert [b["title"] for b in said["buttons"]] == titles
            assert [b["payload"] for b in said["buttons"]] == payloads
        assert said["buttons"][0]["title"] == first_title
        assert say("utter_ask_more")["buttons"] == [OWN_BUTTON]


# The file's first button, "What is a clinical trial?", as faq_titles.yml says it.
FRENCH_FIRST_TITLE = "Qu'est-ce qu'un essai clinique ?"
GERMAN_FIRST_TITLE = "Was ist eine klinische Studie?"


def translated_titles(code: str) -> list[str]:
    """The welcome buttons' titles in `code`, read from data/i18n/<code>/ directly."""
    messages = i18n.catalogue(code).messages
    return [messages[title_key(s.payload)] for s in welcome.welcome().suggestions]


@pytest.mark.parametrize("code", OTHERS)
def test_every_welcome_button_has_its_title_in_every_language(code: str) -> None:
    """Strict, as tests/test_i18n.py is: the assistant would say a missing title in English."""
    english = welcome.welcome()
    shown = welcome_in(code)
    messages = i18n.catalogue(code).messages
    missing = [s.title for s in english.suggestions if title_key(s.payload) not in messages]
    assert missing == [], f"{code}: welcome buttons without a title: {missing}"
    assert [s.payload for s in shown.suggestions] == [s.payload for s in english.suggestions]
    assert [s.audience for s in shown.suggestions] == [s.audience for s in english.suggestions]
    for translated, source in zip(shown.suggestions, english.suggestions, strict=True):
        assert translated.title != source.title, f"{code}: {source.title!r} left in English"
        assert len(translated.title) <= welcome.MAX_TITLE_CHARS, translated.title
    assert shown.text == i18n.response("utter_greet", code)["text"] != english.text


def test_english_and_an_unknown_language_are_the_file_as_staff_wrote_it() -> None:
    for language in ("en", "en-GB", None, "", "nl", "xx-YY", "auto"):
        assert welcome_in(language) == welcome.welcome(), language
    assert welcome_in("fr-CH") == welcome_in("fr")


def test_a_missing_title_is_said_in_the_files_english_and_logged_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    data = good()
    # An intent without an `intent_title.goodbye` message in any language.
    data["suggestions"][2].update(title="Bye for now", payload="/goodbye")
    monkeypatch.setattr(welcome, "_live", LiveWelcome(write(tmp_path / "welcome.yml", data)))
    monkeypatch.setattr(i18n, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="bot.welcome"):
        titles = [s.title for s in welcome_in("fr").suggestions]
        welcome_in("fr")
    assert titles[2] == "Bye for now"
    assert titles[0] == i18n.text("faq_title.faq_trials/placebo", "fr") != "What is a placebo?"
    assert caplog.text.count("intent_title.goodbye") == 1
    assert [b["payload"] for b in welcome.welcome_buttons("fr")] == [
        row["payload"] for row in data["suggestions"]
    ]


def test_the_web_chat_serves_the_welcome_in_the_pages_or_the_browsers_language() -> None:
    from starlette.testclient import TestClient

    from tests.test_rest_channel import web_chat_app

    english = welcome.welcome().as_json()
    payloads = [button["payload"] for button in english["buttons"]]

    def asked(query: str = "", **headers: str) -> tuple[str, dict]:
        reply = client.get("/webhooks/web/welcome" + query, headers=headers)
        assert reply.status_code == 200, reply.text
        assert reply.headers["vary"] == "Accept-Language"
        shown = reply.json()
        assert [button["payload"] for button in shown["buttons"]] == payloads
        return reply.headers["content-language"], shown

    with TestClient(web_chat_app()) as client:
        # The page's choice ("Answers in"), even over the browser's languages.
        for query, headers in (("?language=de", {}), ("?language=de", {"Accept-Language": "fr"})):
            language, shown = asked(query, **headers)
            assert language == "de"
            assert [b["title"] for b in shown["buttons"]] == translated_titles("de")
            assert shown["buttons"][0]["title"] == GERMAN_FIRST_TITLE
            assert shown["text"] == i18n.response("utter_greet", "de")["text"]
        # Automatic: the browser's languages.
        for query in ("", "?language=auto"):
            language, shown = asked(query, **{"Accept-Language": "it-CH, it;q=0.9, en;q=0.8"})
            assert language == "it"
            assert [b["title"] for b in shown["buttons"]] == translated_titles("it")
            assert shown["text"] == i18n.response("utter_greet", "it")["text"]
        # English, and a language the assistant does not speak: the file as staff wrote it.
        for query, headers in (
            ("", {}),
            ("?language=en", {"Accept-Language": "de"}),
            ("?language=nl", {}),
            ("?language=%00%3Cscript%3E", {"Accept-Language": "xx, ;q=abc"}),
            ("?language=" + "x" * 5000, {"Accept-Language": "nl, " * 1000}),
        ):
            assert asked(query, **headers) == ("en", english), query


def test_the_web_chat_serves_the_welcome(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from tests.test_rest_channel import web_chat_app

    with TestClient(web_chat_app()) as client:
        reply = client.get("/webhooks/web/welcome")
        assert reply.status_code == 200
        assert reply.json() == welcome.welcome().as_json()
        assert reply.headers["cache-control"] == "no-cache"
        assert reply.headers["x-content-type-options"] == "nosniff"
        monkeypatch.setattr(welcome, "_live", LiveWelcome(tmp_path / "missing.yml"))
        unavailable = client.get("/webhooks/web/welcome")
    assert unavailable.status_code == 503
    assert unavailable.json() == {"error": "the welcome is unavailable right now"}
