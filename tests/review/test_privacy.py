"""Erasing one conversation and purging old ones delete the review rows too."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from bot.cli import main
from bot.review import annotations
from bot.review.config import NLU_DIR
from bot.review.nlu import NluInbox, known_labels
from bot.tracker_db import erasure
from bot.tracker_db.engine import get_engine
from bot.tracker_db.messages import sync_messages
from bot.tracker_db.schema import CONVERSATION_TABLES
from tests.review.conftest import REST_ID, TELEGRAM_ID, WEB_ID
from tests.review.seeding import BASE_TIME, HELLO, Chat, Turn, save_chats

DAY = 86_400


def _annotate_everything(url: str, sender: str) -> None:
    # Saying the same thing twice makes the conversation "stuck": a review_repeats row.
    save_chats(url, [Chat(sender, [Turn("again?", "greet"), Turn("Again!", "greet")])])
    engine = get_engine(url)
    sync_messages(engine)  # what any page of the app does first
    annotations.set_status(engine, sender, "saved", "ada")
    annotations.add_tag(engine, sender, "keep", "green", "ada")
    annotations.add_note(engine, sender, "a note", "ada")
    with engine.connect() as connection:
        user_events = connection.execute(
            sa.text("SELECT id FROM events WHERE sender_id = :s AND type_name = 'user'"),
            {"s": sender},
        ).scalars()
        first = next(iter(user_events))
    annotations.toggle_flag(engine, sender, first, "ada")
    NluInbox(engine).label(first, "dismiss", "ada", known_labels(NLU_DIR))


def _rows(url: str, sender: str) -> dict[str, int]:
    with get_engine(url).connect() as connection:
        return {
            table: connection.execute(
                sa.text(f"SELECT COUNT(*) FROM {table} WHERE sender_id = :s"), {"s": sender}
            ).scalar()
            for table in ("events", *CONVERSATION_TABLES)
        }


def test_erasure_deletes_events_and_every_review_row(seeded: str) -> None:
    for sender in (WEB_ID, TELEGRAM_ID):
        _annotate_everything(seeded, sender)
    assert all(_rows(seeded, WEB_ID).values())

    deleted = erasure.erase_conversation(WEB_ID, seeded)

    assert deleted > 0
    assert set(_rows(seeded, WEB_ID).values()) == {0}
    assert all(_rows(seeded, TELEGRAM_ID).values())  # the other conversation is untouched
    with get_engine(seeded).connect() as connection:
        tags = connection.execute(sa.text("SELECT name FROM review_tags")).scalars().all()
    assert tags == ["keep"]  # a tag is staff vocabulary, not personal data


def test_erasure_works_before_the_review_tables_exist(tracker_url: str) -> None:
    save_chats(tracker_url, [Chat("plain", [HELLO])])
    assert erasure.erase_conversation("plain", tracker_url) > 0
    assert erasure.erase_conversation("plain", tracker_url) == 0


def test_erasure_of_an_empty_database_is_a_no_op(sqlite_url: str) -> None:
    assert erasure.erase_conversation("nobody", sqlite_url) == 0


@pytest.mark.parametrize(("text", "days"), [("180d", 180), ("180", 180), (" 7D ", 7), ("26w", 182)])
def test_ages(text: str, days: int) -> None:
    assert erasure.parse_age(text) == dt.timedelta(days=days)


@pytest.mark.parametrize("text", ["", "soon", "-3d", "3m", "1.5d"])
def test_bad_ages(text: str) -> None:
    with pytest.raises(ValueError, match="180d"):
        erasure.parse_age(text)


def test_purge_deletes_messages_by_their_own_age(seeded: str) -> None:
    """Conversations start on days 0 (web), 1 (telegram) and 2 (rest) after BASE_TIME; the
    web one comes back on day 10. Retention is per message: the web conversation keeps its
    day-10 turn and loses its old ones, with the review rows about them."""
    save_chats(seeded, [Chat(WEB_ID, [HELLO], start=BASE_TIME + 10 * DAY)])
    for sender in (WEB_ID, TELEGRAM_ID, REST_ID):
        _annotate_everything(seeded, sender)
    now = BASE_TIME + 11 * DAY
    cutoff = now - 8 * DAY
    with get_engine(seeded).connect() as connection:
        old, recent_web = (
            connection.execute(sa.text(query), {"c": cutoff, "s": WEB_ID}).scalar()
            for query in (
                "SELECT COUNT(*) FROM events WHERE timestamp < :c",
                "SELECT COUNT(*) FROM events WHERE timestamp >= :c AND sender_id = :s",
            )
        )
    assert old > 0 and recent_web > 0

    assert erasure.purge_conversations(dt.timedelta(days=8), seeded, now=now, dry_run=True) == (
        2,
        old,
    )
    assert all(_rows(seeded, TELEGRAM_ID).values())  # a dry run deletes nothing

    conversations, events = erasure.purge_conversations(dt.timedelta(days=8), seeded, now=now)

    assert (conversations, events) == (2, old)
    assert set(_rows(seeded, TELEGRAM_ID).values()) == set(_rows(seeded, REST_ID).values()) == {0}
    web = _rows(seeded, WEB_ID)
    assert web["events"] == recent_web  # its recent turn stays, its old turns are gone
    # The flag and the NLU label were on its first (old) message: gone with it; the
    # conversation's own status, tags and notes stay while the conversation does.
    assert web["review_flags"] == web["review_nlu_labels"] == 0
    assert web["review_conversations"] and web["review_notes"] and web["review_conversation_tags"]
    with get_engine(seeded).connect() as connection:
        left = connection.execute(
            sa.text("SELECT MIN(timestamp) FROM review_messages WHERE sender_id = :s"),
            {"s": WEB_ID},
        ).scalar()
    assert left is None or left >= cutoff
    assert erasure.purge_conversations(dt.timedelta(days=8), seeded, now=now) == (0, 0)


def test_purge_also_removes_review_rows_of_conversations_that_are_gone(seeded: str) -> None:
    _annotate_everything(seeded, WEB_ID)
    with get_engine(seeded).begin() as connection:  # e.g. erased by an older version
        connection.execute(sa.text("DELETE FROM events WHERE sender_id = :s"), {"s": WEB_ID})
    erasure.purge_conversations(dt.timedelta(days=10_000), seeded)
    assert set(_rows(seeded, WEB_ID).values()) == {0}


def test_purge_command(
    seeded_sqlite: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("TRACKER_STORE_URL", seeded_sqlite)
    assert main(["privacy", "purge", "--older-than", "soon"]) == 2
    assert "180d" in capsys.readouterr().err
    assert main(["privacy", "purge", "--older-than", "100000d"]) == 0
    assert "Deleted 0 message event(s)" in capsys.readouterr().out
    assert main(["privacy", "purge", "--older-than", "1d", "--dry-run"]) == 0
    assert "3 conversation(s) had nothing newer" in capsys.readouterr().out
    assert _rows(seeded_sqlite, WEB_ID)["events"] > 0
    assert main(["privacy", "purge", "--older-than", "1d"]) == 0
    assert "3 conversation(s) had nothing newer" in capsys.readouterr().out
    assert _rows(seeded_sqlite, WEB_ID)["events"] == 0
