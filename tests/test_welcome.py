"""data/welcome.yml and bot/welcome.py: the greeting and the questions to start with, checked
against domain.yml and the FAQ answers, read live, and offered as buttons by the greeting and
"what can you do?" (bot/rasa_ext/nlg.py) and by `GET /webhooks/web/welcome`."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
import yaml

from bot import welcome
from bot.welcome import (
    WELCOME_FILE,
    LiveWelcome,
    Suggestion,
    Welcome,
    WelcomeError,
    check,
    parse,
    payload_problems,
)

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
