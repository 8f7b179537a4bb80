"""The conversation player's checks: a turn fails on a missing group or a rejected word."""

from __future__ import annotations

from bot import playback

CONVERSATION = playback.Conversation(
    id="c",
    pattern="digression",
    turns=(
        playback.Turn("whom do I contact?"),
        playback.Turn("what is a placebo?", expect="dummy|inactive ; re:countr(y|ies)"),
        playback.Turn("Ireland", expect="ncto", reject="recognise"),
    ),
)


def assistant_saying(*replies: str) -> playback.Send:
    said = iter(replies)

    def send(sender: str, text: str) -> list[dict]:
        return [{"text": next(said), "buttons": [{"title": "Talk to a person"}]}]

    return send


def test_a_conversation_passes_when_every_turn_does() -> None:
    send = assistant_saying("Which country?", "An inactive pill. Which country?", "NCTO.")
    result = playback.play(send, CONVERSATION)
    assert result.passed and result.replies[2] == "ncto. talk to a person"


def test_a_missing_group_fails_the_turn_and_says_which() -> None:
    result = playback.play(assistant_saying("?", "An inactive pill.", "NCTO"), CONVERSATION)
    assert not result.passed
    assert result.failure.startswith("turn 2 'what is a placebo?': missing 're:countr(y|ies)'")


def test_a_rejected_word_fails_the_turn() -> None:
    send = assistant_saying("?", "inactive; country", "NCTO? I don't recognise that")
    result = playback.play(send, CONVERSATION)
    assert "said 'recognise'" in result.failure


def test_summary_counts_per_pattern() -> None:
    ok = playback.Result(CONVERSATION)
    failed = playback.Result(CONVERSATION, failure="turn 1: missing 'x'")
    text = playback.summary([ok, failed])
    assert text.splitlines()[0] == "1/2 conversations pass (0.500)"
    assert "digression 1/2" in text and "FAIL c: turn 1" in text


def test_the_project_conversations_load() -> None:
    conversations = playback.project_conversations()
    assert len({c.id for c in conversations}) == len(conversations)
    assert conversations and all(c.turns for c in conversations)
