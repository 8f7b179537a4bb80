"""Whole conversations against the running assistant: digressions, cancelling, corrections,
not knowing, chitchat, hand-offs and safety inside both forms, and follow-ups, repeats and
feedback outside them (tests/conversations/*.yml, played by bot/playback.py).

Rasa's test stories cannot catch a form that swallows an interruption (a story writes the
interruption as its own turn, whatever the live form does), so these play real messages.
"""

from __future__ import annotations

import pytest

from bot import playback
from tests.conftest import Assistant

pytestmark = pytest.mark.e2e

CONVERSATIONS = playback.project_conversations()


def test_there_are_enough_conversations_for_every_situation() -> None:
    patterns = {c.pattern for c in CONVERSATIONS}
    assert len(CONVERSATIONS) >= 60
    assert {
        "digression",
        "cancel",
        "correction",
        "skip",
        "chitchat-in-form",
        "handoff-in-form",
        "out-of-scope",
        "cannot-handle",
        "safety-in-form",
        "repeat",
        "more",
        "follow-up",
        "memory",
        "feedback",
        "form-answer",
        "language",
    } <= patterns


@pytest.mark.parametrize("conversation", CONVERSATIONS, ids=lambda c: c.id)
def test_conversation(assistant: Assistant, conversation: playback.Conversation) -> None:
    result = playback.play(lambda sender, text: assistant.ask(text, sender), conversation)
    assert result.passed, result.failure
