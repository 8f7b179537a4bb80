"""action_self_harm in a conversation, on rasa-sdk's own Tracker and CollectingDispatcher,
against a real seeded database (and an unreachable one, for the failure path)."""

from __future__ import annotations

import logging

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.safety import ActionSelfHarm
from bot import db
from bot.answers import ALLOWED_PHONES, phone_numbers
from bot.seed import seed_crisis_lines
from tests.dialogue_events import action, bot, tracker_after, user

PARTNER_QUESTION = [
    user("who is the ECRIN partner in Spain?", "ask_partner", entities=[]),
    action("partner_form"),
    action("action_find_partner"),
    bot("ECRIN's national partner in Spain is SCReN. Learn more: https://www.scren.es"),
]


@pytest.fixture
def crisis_db(database_url: str) -> str:
    """The seeded test database (partners, events) with the crisis lines too."""
    with db.session_scope(database_url) as session:
        seed_crisis_lines(session)
    return database_url


def run(events, **kwargs):
    dispatcher = CollectingDispatcher()
    returned = ActionSelfHarm().run(dispatcher, tracker_after(events, **kwargs), {})
    return dispatcher.messages, returned


def test_the_country_of_the_conversation_gets_its_crisis_line(crisis_db: str) -> None:
    events = [*PARTNER_QUESTION, user("honestly I can't go on anymore", "self_harm")]
    messages, returned = run(events, slots={"country": "Spain"})
    assert returned == []
    assert len(messages) == 1
    text = messages[0]["text"]
    assert text.startswith("I'm really sorry you're feeling this way")
    assert "call 112" in text
    assert "In Spain, you can talk to someone at Línea 024" in text
    assert phone_numbers(text) <= ALLOWED_PHONES


def test_a_country_named_in_the_message_wins_over_an_older_answer(crisis_db: str) -> None:
    events = [*PARTNER_QUESTION, user("I moved to Ireland and I want to end my life", "self_harm")]
    text = run(events, slots={"country": "Spain"})[0][0]["text"]
    assert "In Ireland, you can talk to someone at Samaritans Ireland on 116 123" in text
    assert "Pieta on 1800 247 247" in text
    assert "Spain" not in text


def test_inside_a_form_the_reply_is_the_same_and_asks_nothing(crisis_db: str) -> None:
    events = [
        user("whom do I contact in my country", "ask_partner"),
        action("partner_form"),
        bot("Which country are you in, or asking about?", "utter_ask_country"),
        user("I want to end my life", "self_harm"),
    ]
    text = run(events, active_loop="partner_form")[0][0]["text"]
    assert "112" in text and "116 123" in text and "https://findahelpline.com" in text
    assert "?" not in text


def test_with_the_database_down_the_action_still_answers_and_logs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
    with caplog.at_level(logging.ERROR):
        messages, returned = run([user("i want to die", "self_harm")], slots={"country": "France"})
    assert returned == []
    text = messages[0]["text"]
    assert "call 112" in text and "https://findahelpline.com" in text
    assert "Crisis line look-up failed for FR" in caplog.text
