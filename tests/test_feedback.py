"""The "Was this helpful?" rule (bot.feedback), the web transcript, and the web chat's
copy of the rule. The channels' own behaviour is tested in test_telegram.py and
test_browser.py."""

from __future__ import annotations

import re

import pytest
from rasa.shared.core.events import BotUttered, UserUttered

from bot.answers import answer_files, read_answers
from bot.channels.web import STATIC_DIR, transcript
from bot.feedback import FEEDBACK_EMOJI, NEGATIVE, POSITIVE, SOURCE_LINK, is_answer


def test_every_faq_answer_is_an_answer() -> None:
    texts = [v["text"] for variants in read_answers(answer_files()).values() for v in variants]
    assert texts and all(is_answer(text) for text in texts)


@pytest.mark.parametrize(
    "text",
    [
        "A placebo has no active ingredient. Learn more: https://ecrin.org/placebo",
        "In France, the ECRIN partner is F-CRIN. Learn more: https://www.fcrin.org",
        "Upcoming events:\n- 20 May: International Clinical Trials Day Learn more: http://x.org",
    ],
)
def test_a_message_citing_its_source_is_an_answer(text: str) -> None:
    assert is_answer(text)


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "Hello! I'm the ECRIN assistant. What would you like to know?",
        "Which country are you in, or asking about?",
        "Thank you, I'm glad it helped! Is there anything else you'd like to know?",
        # A link, but not a cited source: a hint, not an answer to rate.
        "Sorry, I can't look that up right now. Please visit https://ecrin.org for contacts.",
        "Learn more: about ECRIN by asking me.",
    ],
)
def test_questions_greetings_and_acknowledgements_are_not_answers(text: str | None) -> None:
    assert not is_answer(text)


def test_the_web_chat_mirrors_the_rule_and_the_payloads() -> None:
    script = (STATIC_DIR / "chat.js").read_text(encoding="utf-8")
    js_pattern = re.search(r"var SOURCE_LINK = /(.+)/;", script)
    assert js_pattern and js_pattern.group(1).replace("\\/", "/") == SOURCE_LINK.pattern
    for payload, emoji in FEEDBACK_EMOJI.items():
        assert f'payload: "{payload}", emoji: "{emoji}"' in script


def test_the_transcript_shows_ratings_as_their_emoji_and_marks_them() -> None:
    answer = "A placebo has no active ingredient. Learn more: https://ecrin.org/placebo"
    events = [
        UserUttered("What is a placebo?"),
        BotUttered(answer),
        UserUttered(NEGATIVE, metadata={"display": "👎"}),
        BotUttered("Sorry it didn't help."),
        UserUttered(POSITIVE),  # without a display (a REST client): still the emoji
        UserUttered("👍"),  # typed, not a rating
    ]
    assert transcript(events) == [
        {"from": "user", "text": "What is a placebo?"},
        {"from": "bot", "text": answer, "buttons": []},
        {"from": "user", "text": "👎", "feedback": NEGATIVE},
        {"from": "bot", "text": "Sorry it didn't help.", "buttons": []},
        {"from": "user", "text": "👍", "feedback": POSITIVE},
        {"from": "user", "text": "👍"},
    ]
