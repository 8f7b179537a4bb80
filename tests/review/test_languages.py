"""The review app and each message's language (issue 22): shown on every user message ("—"
when the NLU could not tell), the inbox and the NLU inbox filtered by it, and the NLU export
keeping each example under its language."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
import yaml

from bot.review.config import NLU_DIR
from bot.review.nlu import NluInbox, export_nlu, known_labels
from bot.tracker_db.engine import get_engine
from bot.tracker_db.filters import InboxFilters
from bot.tracker_db.messages import sync_messages
from bot.tracker_db.schema import messages
from tests.review.conftest import logged_in, seed
from tests.review.seeding import Chat, Turn

FRENCH = Chat(
    "web-fr-0001",
    [
        Turn("qu est ce qu un placebo", "faq_trials", 0.95, "faq_trials/placebo", language="fr"),
        Turn("oui", "affirm", 0.99),  # too short to tell: no language
        Turn("c est payé les essais ??", "faq_trials", 0.41, "faq_trials/costs", language="fr"),
    ],
)
GERMAN = Chat(
    "tg-de-0002",
    [
        Turn(
            "Was ist eigentlich ECRIN genau",
            "faq_ecrin",
            0.52,
            "faq_ecrin/what_is_ecrin",
            language="de",
        )
    ],
    channel="telegram",
    start=FRENCH.start + 3_600,
)
ENGLISH = Chat(
    "web-en-0003",
    [
        Turn(
            "so what does eupati do exactly",
            "faq_eupati",
            0.48,
            "faq_eupati/what_is_eupati",
            language="en",
        )
    ],
    start=FRENCH.start + 7_200,
)
OLD = Chat(  # stored before issue 22: no language in its parse data
    "web-old-0004",
    [Turn("do trials pay travel costs", "faq_trials", 0.55, "faq_trials/costs")],
    start=FRENCH.start + 10_800,
)
CHATS = [FRENCH, GERMAN, ENGLISH, OLD]


@pytest.fixture
def languages_db(sqlite_url: str) -> str:
    return seed(sqlite_url, CHATS)


def _event_id(url: str, text: str) -> int:
    sync_messages(get_engine(url))
    with get_engine(url).connect() as connection:
        return connection.execute(
            sa.select(messages.c.event_id).where(messages.c.text == text)
        ).scalar_one()


def test_each_user_message_is_copied_with_its_detected_language(languages_db: str) -> None:
    engine = get_engine(languages_db)
    sync_messages(engine)
    with engine.connect() as connection:
        rows = dict(connection.execute(sa.select(messages.c.text, messages.c.language)).all())
    assert rows == {
        "qu est ce qu un placebo": "fr",
        "oui": None,
        "c est payé les essais ??": "fr",
        "Was ist eigentlich ECRIN genau": "de",
        "so what does eupati do exactly": "en",
        "do trials pay travel costs": None,
    }


def test_the_conversation_shows_each_user_messages_language(languages_db: str) -> None:
    page = logged_in(languages_db).client.get(f"/conversation?id={FRENCH.sender_id}").text
    shown = re.findall(
        r'<span class="language" title="Language the assistant detected">([^<]*)</span>', page
    )
    assert shown == ["fr", "—", "fr"]  # one per user message, none on the assistant's


def test_the_inbox_filters_by_language_and_shows_each_conversations_languages(
    languages_db: str,
) -> None:
    staff = logged_in(languages_db)
    every = staff.client.get("/").text
    assert every.count("/conversation?id=") >= 4
    french = staff.client.get("/?language=fr").text
    assert FRENCH.sender_id in french
    assert GERMAN.sender_id not in french and OLD.sender_id not in french
    assert '<option value="fr" selected>Français (fr)</option>' in french
    assert ">fr</span>" in french  # the conversation's languages beside its channel
    german = staff.client.get("/?language=de").text
    assert "tg-de-0002"[:8] in german and FRENCH.sender_id[:8] not in german
    # The exports keep the filter and the language.
    csv_text = staff.client.get("/export.csv?language=fr").text
    header, *rows = csv_text.strip().splitlines()
    assert header.endswith(",languages") and len(rows) == 1 and rows[0].endswith(",fr")
    exported = staff.client.get("/export.json?language=de").json()
    [conversation] = exported["conversations"]
    assert exported["filters"] == {"language": "de"}
    assert [m.get("language") for m in conversation["messages"] if m["from"] == "user"] == ["de"]


@pytest.mark.parametrize("bad", ["french", "f", "fr;drop", "12"])
def test_a_language_filter_that_cannot_be_read_is_refused(languages_db: str, bad: str) -> None:
    reply = logged_in(languages_db).client.get(f"/?language={bad}")
    assert reply.status_code == 400 and "Unknown language" in reply.text
    filters, problems = InboxFilters.from_params({"language": " FR "})
    assert filters.language == "fr" and problems == []


def test_the_nlu_inbox_filters_by_language(languages_db: str) -> None:
    inbox = NluInbox(get_engine(languages_db), low_confidence=0.7)
    unsure = [item.message.text for item in inbox.items("open").items]
    assert set(unsure) == {
        "c est payé les essais ??",
        "Was ist eigentlich ECRIN genau",
        "so what does eupati do exactly",
        "do trials pay travel costs",
    }
    french = inbox.items("open", language="fr")
    assert [item.message.text for item in french.items] == ["c est payé les essais ??"]
    assert french.items[0].message.language == "fr"

    staff = logged_in(languages_db)
    page = staff.client.get("/nlu?language=de").text
    assert "Was ist eigentlich ECRIN genau" in page and "c est payé" not in page
    assert "/nlu/export.yml?language=de" in page
    assert staff.client.get("/nlu?language=klingon").status_code == 400


def test_the_export_keeps_each_example_under_its_language(languages_db: str) -> None:
    engine = get_engine(languages_db)
    inbox, labels = NluInbox(engine, 0.7), known_labels(NLU_DIR)
    for text, label in [
        ("c est payé les essais ??", "faq_trials/costs"),
        ("Was ist eigentlich ECRIN genau", "faq_ecrin/what_is_ecrin"),
        ("so what does eupati do exactly", "faq_eupati/what_is_eupati"),
        ("do trials pay travel costs", "faq_trials/costs"),
    ]:
        inbox.label(_event_id(languages_db, text), "relabel", "ada", labels, label)

    exported = export_nlu(engine, NLU_DIR)
    assert exported.languages == {"": 1, "de": 1, "en": 1, "fr": 1}
    text = exported.yaml
    # English first (its folder is data/nlu/), then the others by code, unknown last.
    comments = re.findall(r"^# language: (\S+)", text, re.M)
    assert comments == ["en", "de", "fr", "unknown"]
    assert "# language: fr (merge into data/nlu/fr/)" in text
    assert "# language: en (merge into data/nlu/)" in text
    parts = dict(re.findall(r"^# language: (\S+).*\n((?:(?!# language).*\n)*)", text, re.M))
    assert "c est payé les essais ??" in parts["fr"] and "ECRIN genau" in parts["de"]
    assert "do trials pay travel costs" in parts["unknown"]
    # Still one valid Rasa NLU document.
    document = yaml.safe_load(text)
    assert document["version"] == "3.1" and len(document["nlu"]) == 4

    only_french = export_nlu(engine, NLU_DIR, language="fr")
    assert only_french.languages == {"fr": 1}
    assert re.findall(r"^# language: (\S+)", only_french.yaml, re.M) == ["fr"]

    reply = logged_in(languages_db).client.get("/nlu/export.yml?language=de")
    assert reply.status_code == 200
    assert re.search(r'filename="nlu-review-de-\d{8}\.yml"', reply.headers["content-disposition"])
    assert "Was ist eigentlich ECRIN genau" in reply.text and "c est payé" not in reply.text


def test_a_known_example_in_another_language_is_not_exported_again(languages_db: str) -> None:
    """The training examples of every language count as already known."""
    french_examples = sorted((NLU_DIR / "fr").glob("*.yml"))
    if not french_examples:
        pytest.skip("no French training data yet")
    document = yaml.safe_load(french_examples[0].read_text(encoding="utf-8"))
    item = next(i for i in document["nlu"] if "examples" in i)
    known = item["examples"].splitlines()[0].removeprefix("- ").strip()
    chat = Chat("web-fr-known", [Turn(known, "nlu_fallback", 0.3, language="fr")])
    from tests.review.seeding import save_chats

    save_chats(languages_db, [chat])
    engine = get_engine(languages_db)
    NluInbox(engine, 0.7).label(
        _event_id(languages_db, known), "relabel", "ada", known_labels(NLU_DIR), item["intent"]
    )
    exported = export_nlu(engine, NLU_DIR)
    assert exported.skipped_known == 1 and known not in exported.yaml


def test_the_export_command_takes_a_language(
    languages_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from bot.cli import main

    engine = get_engine(languages_db)
    labels = known_labels(NLU_DIR)
    for text, label in [
        ("c est payé les essais ??", "faq_trials/costs"),
        ("Was ist eigentlich ECRIN genau", "faq_ecrin/what_is_ecrin"),
    ]:
        NluInbox(engine, 0.7).label(_event_id(languages_db, text), "relabel", "ada", labels, label)
    monkeypatch.setenv("TRACKER_STORE_URL", languages_db)
    assert main(["review", "export-nlu", "--language", "de"]) == 0
    captured = capsys.readouterr()
    assert "# language: de (merge into data/nlu/de/)" in captured.out
    assert "ECRIN genau" in captured.out and "c est payé" not in captured.out
    assert "1 corrected example(s)" in captured.err
