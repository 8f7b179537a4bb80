"""Live corrections in the review app: stored by a relabel in the NLU inbox, refused by the
guardrails, listed and undone on /corrections (bot.tracker_db.corrections)."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from bot.review.config import NLU_DIR
from bot.review.nlu import LabelError, NluInbox, known_labels
from bot.tracker_db.corrections import (
    CorrectionNotFound,
    active_corrections,
    add_correction,
    list_corrections,
    undo_correction,
    wording_key,
)
from bot.tracker_db.engine import get_engine
from bot.tracker_db.schema import corrections
from tests.review.conftest import REVIEWER, Staff, logged_in
from tests.review.seeding import BASE_TIME, Chat, Turn, save_chats

SUICIDAL = "I want to kill myself"
# Words no guardrail pattern knows, which the model still read as self-harm.
READ_AS_SAFETY = "everything feels grey and heavy lately"


def _event_id(url: str, text: str) -> int:
    with get_engine(url).connect() as connection:
        rows = connection.execute(
            sa.text("SELECT id, data FROM events WHERE type_name = 'user' ORDER BY id")
        ).all()
    return next(event_id for event_id, data in rows if f'"text": "{text}"' in data)


def _nlu_labels(url: str) -> list[tuple]:
    with get_engine(url).connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                sa.text("SELECT event_id, label, status FROM review_nlu_labels ORDER BY 1")
            )
        ]


def test_a_new_correction_of_the_same_words_replaces_the_one_in_effect(seeded: str) -> None:
    engine = get_engine(seeded)
    first = add_correction(engine, "What is a placebo?", "faq_trials/placebo", "ada")
    assert first.active and first.normalised == "what is a placebo" and first.created_by == "ada"
    second = add_correction(
        engine, "what is a PLACEBO", "faq_trials/placebo_cancer", "rob", "faq_trials/placebo", 42
    )
    assert active_corrections(engine) == {"what is a placebo": "faq_trials/placebo_cancer"}
    assert [c.id for c in list_corrections(engine)] == [second.id]
    history = list_corrections(engine, include_undone=True)
    assert [c.id for c in history] == [second.id, first.id]  # the newest first
    replaced = history[1]
    assert replaced.undone_by == "rob" and replaced.undone_at >= replaced.created_at
    assert (second.predicted, second.event_id, second.text) == (
        "faq_trials/placebo",
        42,
        "what is a PLACEBO",
    )


def test_the_database_itself_keeps_one_correction_in_effect_per_wording(seeded: str) -> None:
    """Two staff members relabelling the same words at the same moment cannot leave two
    corrections in effect: the unique index on active wordings refuses the second row."""
    engine = get_engine(seeded)
    made = add_correction(engine, "What is a placebo?", "faq_trials/placebo", "ada")
    row = {
        "normalised": made.normalised,
        "normalised_key": wording_key(made.normalised),
        "text": "what is a placebo",
        "label": "greet",
        "created_at": time.time(),
    }
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(corrections.insert().values(**row))
    with engine.begin() as connection:  # undone rows of the same words are allowed
        connection.execute(corrections.insert().values(**row, undone_at=time.time()))
    assert active_corrections(engine) == {"what is a placebo": "faq_trials/placebo"}


def test_undo_stops_a_correction_and_keeps_who_and_when(seeded: str) -> None:
    engine = get_engine(seeded)
    made = add_correction(engine, "What is a placebo?", "faq_trials/placebo", "ada")
    undo_correction(engine, made.id, "rob")
    assert active_corrections(engine) == {}
    [undone] = list_corrections(engine, include_undone=True)
    assert undone.undone_by == "rob" and undone.undone_at is not None and not undone.active
    with pytest.raises(CorrectionNotFound):
        undo_correction(engine, made.id, "rob")
    with pytest.raises(CorrectionNotFound):
        undo_correction(engine, 10**9, "rob")


def test_a_relabel_in_the_nlu_inbox_is_a_correction_and_a_new_verdict_withdraws_it(
    seeded: str,
) -> None:
    engine = get_engine(seeded)
    inbox, labels = NluInbox(engine, 0.7), known_labels(NLU_DIR)
    low = _event_id(seeded, "do trials pay for my bus ticket")

    made = inbox.label(low, "relabel", "ada", labels, "faq_trials/payment_expenses")

    assert made is not None and made.event_id == low and made.predicted == "faq_trials/costs"
    assert active_corrections(engine) == {
        "do trials pay for my bus ticket": "faq_trials/payment_expenses"
    }
    inbox.label(low, "relabel", "rob", labels, "ask_events")  # changed their mind
    assert active_corrections(engine) == {"do trials pay for my bus ticket": "ask_events"}
    for action in ("correct", "dismiss", "reopen"):
        inbox.label(low, "relabel", "ada", labels, "faq_trials/payment_expenses")
        assert inbox.label(low, action, "rob", labels) is None
        assert active_corrections(engine) == {}, action
    assert len(list_corrections(engine, include_undone=True)) == 5


@pytest.mark.parametrize(
    ("text", "predicted", "reason"),
    [
        (SUICIDAL, "faq_trials", "guardrails answer this message as self_harm"),
        (READ_AS_SAFETY, "self_harm", "read this message as self_harm"),
    ],
)
def test_a_relabel_the_guardrails_refuse_saves_nothing(
    seeded: str, text: str, predicted: str, reason: str
) -> None:
    save_chats(
        seeded,
        [Chat("safety-chat", [Turn(text, predicted, 0.5)], start=BASE_TIME + 9 * 86_400)],
    )
    engine = get_engine(seeded)
    inbox, labels = NluInbox(engine, 0.7), known_labels(NLU_DIR)
    event_id = _event_id(seeded, text)
    inbox.label(event_id, "dismiss", "ada", labels)
    before = _nlu_labels(seeded)

    with pytest.raises(LabelError, match=reason):
        inbox.label(event_id, "relabel", "rob", labels, "faq_trials/side_effects")

    assert _nlu_labels(seeded) == before  # the earlier verdict stands
    assert list_corrections(engine, include_undone=True) == []


def test_staff_list_and_undo_corrections_on_the_corrections_page(
    admin: Staff, seeded_sqlite: str
) -> None:
    low = _event_id(seeded_sqlite, "do trials pay for my bus ticket")
    reply = admin.post(
        "/nlu/label",
        {"event_id": str(low), "action": "relabel", "label": "faq_trials/payment_expenses"},
    )
    flashed = admin.client.get(reply.headers["location"]).text
    assert "now answers these words with faq_trials/payment_expenses" in flashed
    assert 'href="/corrections"' in flashed  # in the navigation and the inbox's intro

    reviewer = logged_in(seeded_sqlite, REVIEWER)
    page = reviewer.client.get("/corrections").text
    assert "1 correction in effect." in page
    assert "do trials pay for my bus ticket" in page and "faq_trials/payment_expenses" in page
    assert "by ada" in page and 'action="/corrections/undo"' in page
    [correction] = list_corrections(get_engine(seeded_sqlite))

    undone = reviewer.post("/corrections/undo", {"id": str(correction.id)})

    assert undone.headers["location"] == "/corrections"
    after = reviewer.client.get("/corrections").text
    assert "Undone: within seconds" in after and "0 corrections in effect." in after
    assert 'class="retired"' in after and "undone</span>" in after and "by rob" in after
    assert 'action="/corrections/undo"' not in after
    again = reviewer.post("/corrections/undo", {"id": str(correction.id)})
    assert "is not in effect" in reviewer.client.get(again.headers["location"]).text
    assert reviewer.post("/corrections/undo", {"id": "x"}).status_code == 400


def test_a_refused_relabel_is_an_error_on_the_nlu_page(admin: Staff, seeded_sqlite: str) -> None:
    save_chats(
        seeded_sqlite,
        [Chat("safety-chat", [Turn(SUICIDAL, "faq_trials", 0.5)], start=BASE_TIME + 9 * 86_400)],
    )
    event_id = _event_id(seeded_sqlite, SUICIDAL)
    reply = admin.post(
        "/nlu/label", {"event_id": str(event_id), "action": "relabel", "label": "greet"}
    )
    page = admin.client.get(reply.headers["location"]).text
    assert 'class="flash flash--error"' in page and "answer this message as self_harm" in page
    assert "No corrections yet" in admin.client.get("/corrections").text


def test_erasing_a_conversation_removes_the_corrections_made_from_it(seeded: str) -> None:
    from bot.tracker_db.erasure import erase_conversation

    engine = get_engine(seeded)
    event_id = _event_id(seeded, "do trials pay for my bus ticket")
    with engine.connect() as connection:
        sender = connection.execute(
            sa.text("SELECT sender_id FROM events WHERE id = :id"), {"id": event_id}
        ).scalar_one()
    NluInbox(engine, 0.7).label(
        event_id, "relabel", "ada", known_labels(NLU_DIR), "faq_trials/payment_expenses"
    )
    kept = add_correction(engine, "what is a placebo", "faq_trials/placebo", "ada")
    assert len(active_corrections(engine)) == 2

    erase_conversation(sender, seeded)

    assert [c.id for c in list_corrections(engine, include_undone=True)] == [kept.id]
