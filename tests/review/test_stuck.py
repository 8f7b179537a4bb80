"""The "stuck" signal: repeated messages found once per new message, filtered on in the inbox,
marked in the transcript, exported, migrated in and erased with the conversation."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from bot.review.database import upgrade
from bot.tracker_db.engine import get_engine
from bot.tracker_db.filters import InboxFilters
from bot.tracker_db.store import ConversationStore
from bot.tracker_db.stuck import BOT, SESSION, USER, Repeat, Said, find_repeats
from tests.review.conftest import REST_ID, TELEGRAM_ID, WEB_ID, logged_in
from tests.review.seeding import BASE_TIME, HELLO, THUMBS_DOWN, Chat, Turn, save_chats

DAY = 86_400
ASK = "Which country are you in?"
SORRY = "Sorry, I didn't follow that."


def user(event_id: int, text: str) -> Said:
    return Said(event_id, USER, text)


def bot(event_id: int, text: str) -> Said:
    return Said(event_id, BOT, text)


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        # A form asking the same question after each answer: the user turns do not matter.
        (
            [user(1, "partner"), bot(2, ASK), user(3, "blorf"), bot(4, ASK)],
            [Repeat(4, 2, BOT)],
        ),
        # The forms' unclear-message rule: an apology, then the question, each time. No two
        # consecutive messages are the same; two whole replies in a row are.
        (
            [
                user(1, "partner"),
                bot(2, ASK),
                user(3, "blorf"),
                bot(4, SORRY),
                bot(5, ASK),
                user(6, "zzz"),
                bot(7, SORRY),
                bot(8, ASK),
            ],
            [Repeat(7, 4, BOT)],
        ),
        # The same answer after something else in between is no loop.
        ([bot(1, "A"), user(2, "x"), bot(3, "B"), user(4, "y"), bot(5, "A")], []),
        # A standard line after every different answer is no loop either.
        (
            [bot(1, "A"), bot(2, "More?"), user(3, "x"), bot(4, "B"), bot(5, "More?")],
            [],
        ),
        # The user: case, punctuation and spacing do not matter.
        (
            [user(1, "What is a placebo?"), bot(2, "A"), user(3, " what is a  PLACEBO")],
            [Repeat(3, 1, USER)],
        ),
        ([user(1, "placebo"), user(2, "placebos")], []),
        # Button payloads and 👍 / 👎 are not something the user said: never compared, and
        # someone asking again after a 👎 is repeating themselves.
        ([user(1, "/feedback_negative"), user(2, "/feedback_negative")], []),
        (
            [user(1, "help me"), bot(2, "A"), user(3, "/feedback_negative"), user(4, "help me!")],
            [Repeat(4, 1, USER)],
        ),
        # Only emoji or punctuation: compared as written.
        ([user(1, "?"), user(2, "?")], [Repeat(2, 1, USER)]),
        ([user(1, "?"), user(2, "😀")], []),
        # A chain: each repeat points at the message just before it.
        (
            [bot(1, ASK), user(2, "a"), bot(3, ASK), user(4, "b"), bot(5, ASK)],
            [Repeat(3, 1, BOT), Repeat(5, 3, BOT)],
        ),
        # A new session starts afresh (a greeting when someone comes back is no loop).
        ([user(1, "hi"), bot(2, "Hello!"), Said(3, SESSION), user(4, "hi"), bot(5, "Hello!")], []),
        # Messages without text (an image, a custom payload) are skipped.
        ([bot(1, "A"), bot(2, ""), bot(3, "A")], [Repeat(3, 1, BOT)]),
    ],
)
def test_find_repeats(said: list[Said], expected: list[Repeat]) -> None:
    assert find_repeats(said) == expected


LOOPING = Chat(
    "looping",
    [
        Turn("I need a partner", "ask_partner", answer=ASK),
        Turn("blorf", "nlu_fallback", 0.3, answer=SORRY, more=[ASK]),
        Turn("zzz", "nlu_fallback", 0.3, answer=SORRY, more=[ASK]),
    ],
    start=BASE_TIME + 3 * DAY,
)
REPEATING = Chat(
    "repeating",
    [
        Turn("What is a placebo?", "faq_trials", response_key="faq_trials/placebo"),
        THUMBS_DOWN,
        Turn("what is a placebo", "faq_trials", response_key="faq_trials/placebo"),
    ],
    channel="telegram",
    start=BASE_TIME + 4 * DAY,
)


@pytest.fixture
def store(seeded: str) -> ConversationStore:
    save_chats(seeded, [LOOPING, REPEATING])
    return ConversationStore(get_engine(seeded), low_confidence=0.7)


def _event_ids(url: str, sender: str, kind: str) -> list[int]:
    with get_engine(url).connect() as connection:
        return list(
            connection.execute(
                sa.text(
                    "SELECT id FROM events WHERE sender_id = :s AND type_name = :k ORDER BY id"
                ),
                {"s": sender, "k": kind},
            ).scalars()
        )


def senders(store: ConversationStore, **filters) -> list[str]:
    return [c.sender_id for c in store.inbox(InboxFilters(**filters), size=50).items]


def test_the_inbox_finds_and_filters_stuck_conversations(store: ConversationStore) -> None:
    url = store.engine.url.render_as_string(hide_password=False)
    assert senders(store, stuck=True) == ["repeating", "looping"]
    assert senders(store, stuck=True, channel="telegram") == ["repeating"]
    assert senders(store, stuck=True, low_confidence=True) == ["looping"]
    page = {c.sender_id: c for c in store.inbox(InboxFilters(), size=50).items}
    assert not any(page[sender].stuck for sender in (WEB_ID, TELEGRAM_ID, REST_ID))
    # The place: the apology that starts the repeated reply, and the repeated question.
    assert page["looping"].first_repeat == _event_ids(url, "looping", "bot")[3]
    assert page["repeating"].first_repeat == _event_ids(url, "repeating", "user")[2]


def test_the_transcript_marks_the_repeated_message(store: ConversationStore) -> None:
    url = store.engine.url.render_as_string(hide_password=False)
    conversation = store.conversation("repeating")
    marked = [(e.event_id, e.repeat_of) for e in conversation.entries if e.repeat_of]
    said = _event_ids(url, "repeating", "user")
    assert marked == [(said[2], said[0])]
    assert conversation.summary.stuck


def test_a_conversation_is_recomputed_when_it_goes_on(store: ConversationStore) -> None:
    url = store.engine.url.render_as_string(hide_password=False)
    save_chats(url, [Chat("back", [Turn("hi", "greet", answer="Hello!")])])
    assert "back" not in senders(store, stuck=True)
    # Coming back in a new session with the same greeting is no loop...
    save_chats(url, [Chat("back", [Turn("hi", "greet", answer="Hello!")], start=BASE_TIME + DAY)])
    assert "back" not in senders(store, stuck=True)
    # ...asking the same thing twice within it is.
    save_chats(url, [Chat("back", [HELLO, HELLO], start=BASE_TIME + 2 * DAY)])
    assert "back" in senders(store, stuck=True)


def test_the_pages_and_the_export_show_it(seeded_sqlite: str) -> None:
    save_chats(seeded_sqlite, [LOOPING, REPEATING])
    admin = logged_in(seeded_sqlite)
    inbox = admin.client.get("/?stuck=1").text
    assert "2 conversations match." in inbox and 'name="stuck" value="1" checked' in inbox
    first_repeat = _event_ids(seeded_sqlite, "looping", "bot")[3]
    assert f'href="/conversation?id=looping#e{first_repeat}"' in inbox
    page = admin.client.get("/conversation?id=looping").text
    assert page.count("event--repeat") == 1 and f'href="#e{first_repeat}"' in page
    assert "assistant&#39;s earlier message" in page
    rows = list(csv.DictReader(io.StringIO(admin.client.get("/export.csv").text)))
    assert {row["conversation"]: row["stuck"] for row in rows} == {
        "repeating": "True",
        "looping": "True",
        REST_ID: "False",
        TELEGRAM_ID: "False",
        WEB_ID: "False",
    }


def test_the_migration_computes_repeats_of_conversations_stored_before_it(
    tracker_url: str,
) -> None:
    upgrade(tracker_url, "r0001")
    save_chats(tracker_url, [LOOPING])
    engine = get_engine(tracker_url)
    with engine.begin() as connection:  # as the app at r0001 did: copy the user messages
        connection.execute(
            sa.text(
                "INSERT INTO review_messages (event_id, sender_id, timestamp, text) "
                "SELECT id, sender_id, timestamp, '' FROM events WHERE type_name = 'user'"
            )
        )
    upgrade(tracker_url)
    store = ConversationStore(get_engine(tracker_url))
    assert senders(store, stuck=True) == ["looping"]
    assert [c.first_message for c in store.inbox(InboxFilters()).items] == ["I need a partner"]
