"""A reviewer's correction reaches the running assistant at once, before any training, and an
undo takes it back (the trained model, the real Rasa and action servers)."""

from __future__ import annotations

import time
from collections.abc import Callable

import sqlalchemy as sa

from bot.review.config import NLU_DIR
from bot.review.nlu import LabelError, NluInbox, known_labels
from bot.tracker_db.corrections import undo_correction
from bot.tracker_db.engine import get_engine
from bot.tracker_db.schema import events
from tests.conftest import Assistant

PLACEBO = "A placebo is a dummy treatment"
# Words the model cannot place: it falls back today.
NONSENSE = "zzqx blorf wibble"


def stored_user_event(assistant: Assistant, sender: str, text: str) -> int:
    with get_engine(assistant.tracker_store_url).connect() as connection:
        rows = connection.execute(
            sa.select(events.c.id, events.c.data).where(
                events.c.sender_id == sender, events.c.type_name == "user"
            )
        ).all()
    return next(row.id for row in rows if f'"text": "{text}"' in row.data)


def eventually(check: Callable[[], bool], seconds: float = 15.0) -> bool:
    """True as soon as `check` is; corrections reach each Rasa process within seconds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return check()


def test_a_relabelled_message_is_answered_right_next_time_and_undo_takes_it_back(
    assistant: Assistant,
) -> None:
    assert PLACEBO not in assistant.reply_text(NONSENSE, sender="e2e-corr-a")
    inbox = NluInbox(get_engine(assistant.tracker_store_url))
    event_id = stored_user_event(assistant, "e2e-corr-a", NONSENSE)
    correction = inbox.label(
        event_id, "relabel", "ada", known_labels(NLU_DIR), "faq_trials/placebo"
    )
    assert correction is not None

    # Same words, other case, spaces and punctuation, from someone else.
    def corrected() -> bool:
        return PLACEBO in assistant.reply_text("ZZQX  blorf, wibble!", sender="e2e-corr-b")

    assert eventually(corrected)
    assert PLACEBO not in assistant.reply_text("zzqx blorf wobble", sender="e2e-corr-c")

    undo_correction(get_engine(assistant.tracker_store_url), correction.id, "ada")
    assert eventually(lambda: not corrected())


def test_a_safety_message_cannot_be_corrected_and_keeps_its_safety_answer(
    assistant: Assistant,
) -> None:
    first = assistant.reply_text("I want to kill myself", sender="e2e-corr-safety")
    event_id = stored_user_event(assistant, "e2e-corr-safety", "I want to kill myself")
    inbox = NluInbox(get_engine(assistant.tracker_store_url))
    try:
        inbox.label(event_id, "relabel", "ada", known_labels(NLU_DIR), "faq_trials/placebo")
    except LabelError as refused:
        assert "safety" in str(refused).lower() or "emergency" in str(refused).lower()
    else:
        raise AssertionError("a correction of a self-harm message was accepted")
    again = assistant.reply_text("I want to kill myself", sender="e2e-corr-safety-2")
    assert PLACEBO not in again and again.split("\n")[0] == first.split("\n")[0]
