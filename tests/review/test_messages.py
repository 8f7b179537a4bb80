"""`review_messages`: user messages read once out of Rasa's JSON into plain columns."""

from __future__ import annotations

import sqlalchemy as sa

from bot.tracker_db.engine import get_engine
from bot.tracker_db.messages import sync_messages
from bot.tracker_db.schema import messages
from tests.review.conftest import REST_ID, WEB_ID, logged_in
from tests.review.seeding import BASE_TIME, Chat, Turn, save_chats


def _stored(url: str) -> list:
    with get_engine(url).connect() as connection:
        return connection.execute(sa.select(messages).order_by(messages.c.event_id)).all()


def test_each_user_message_is_copied_once_with_its_prediction(seeded: str) -> None:
    engine = get_engine(seeded)
    assert sync_messages(engine) == 7
    assert sync_messages(engine) == 0
    rows = _stored(seeded)
    assert len(rows) == 7
    placebo = next(row for row in rows if row.text == "What is a placebo?")
    assert (placebo.sender_id, placebo.channel, placebo.intent) == (WEB_ID, "web", "faq_trials")
    assert placebo.response_key == "faq_trials/placebo"
    assert abs(placebo.confidence - 0.99) < 1e-9
    hello = next(row for row in rows if row.text == "hello")
    assert hello.response_key is None  # the selector's guess only matters for FAQ intents


def test_new_messages_are_picked_up_in_small_batches(seeded: str) -> None:
    engine = get_engine(seeded)
    sync_messages(engine)
    chats = [
        Chat(f"late-{n}", [Turn(f"message {n}", "greet")], start=BASE_TIME + n) for n in range(5)
    ]
    save_chats(seeded, chats)
    assert sync_messages(engine, batch=2) == 5
    assert len(_stored(seeded)) == 12


def test_a_message_committed_late_with_a_lower_id_is_still_copied(seeded: str) -> None:
    """On PostgreSQL a transaction can commit after another that took a later id."""
    engine = get_engine(seeded)
    sync_messages(engine)
    first = _stored(seeded)[0].event_id
    with engine.begin() as connection:  # as if that message had not been committed yet
        connection.execute(messages.delete().where(messages.c.event_id == first))
    assert sync_messages(engine) == 1
    assert _stored(seeded)[0].event_id == first


def test_the_app_shows_messages_stored_after_it_started(seeded_sqlite: str) -> None:
    admin = logged_in(seeded_sqlite)
    assert "3 conversations." in admin.client.get("/").text
    save_chats(seeded_sqlite, [Chat("newcomer", [Turn("brand new question", "greet")])])
    page = admin.client.get("/?q=brand+new").text
    assert "1 conversation match." in page and "newcomer" in page
    assert REST_ID in admin.client.get("/?q=bus+ticket").text
