"""E-mail addresses and phone numbers are masked before anything is stored."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from rasa.shared.core.events import BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.privacy import EMAIL_MASK, PHONE_MASK, mask_event, mask_personal_data
from bot.settings import PROJECT_ROOT
from bot.tracker_store import SQLTrackerStore


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to jane.doe@example.org please", "write to [email] please"),
        ("Jane.Doe+trials@uni-heidelberg.de", "[email]"),
        ("mail: j_o'hara@sub.domain.co.uk.", "mail: [email]."),
        ("two: a@b.io, c.d@e-f.eu", "two: [email], [email]"),
        ("josé@exämple.fr", "[email]"),
        ("<a.b@example.com>", "<[email]>"),
    ],
)
def test_emails_are_masked(text: str, expected: str) -> None:
    assert mask_personal_data(text) == expected


@pytest.mark.parametrize(
    "number",
    [
        "+33 6 12 34 56 78",
        "+33 (0)1 23 45 67 89",
        "+44 20 7946 0958",
        "+1 (555) 123-4567",
        "+491701234567",
        "0044 20 7946 0958",
        "0612345678",
        "06 12 34 56 78",
        "06.12.34.56.78",
        "06-12-34-56-78",
        "(020) 7946 0958",
        "020 7946 0958",
        "555-123-4567",
        "555.123.4567",
        "555-1234",
        "030/12345678",
        "+353 1 234 5678",
    ],
)
def test_phone_numbers_are_masked(number: str) -> None:
    assert mask_personal_data(f"call me on {number} tomorrow") == "call me on [phone] tomorrow"
    assert mask_personal_data(f"Tel:{number}") == "Tel:[phone]"


@pytest.mark.parametrize(
    "text",
    [
        "In an emergency call 112.",
        "Call the crisis line 116 123, free, day and night.",
        "116 123 or 112",
        "call 911 or 999",
        "I am 45 years old and was diagnosed at 38",
        "born in 1978",
        "between 2019 and 2024",
        "the study ran 2019-2024",
        "in 2019 2020 and 2021",
        "on 12/05/2024 at 14:00",
        "on 2024-05-12 10:30",
        "on 12.05.2024",
        "EudraCT 2004-123456-12",
        "EU CT 2022-500014-26-00",
        "NCT01234567",
        "ISRCTN12345678",
        "10 000 000 people",
        "1.000.000 euros",
        "about 100,000 patients",
        "p = 0.00012345",
        "Regulation (EU) No 536/2014",
        "1 in 10 people",
        "20 May 2027 at 10:00",
        "it costs €250",
        "postcode 75013",
        "https://ecrin.org/news/2024/05/12345678?id=98765432",
        "see www.example.org/0612345678",
    ],
)
def test_short_numbers_years_dates_and_links_stay_readable(text: str) -> None:
    assert mask_personal_data(text) == text


def test_masking_is_idempotent_and_handles_empty_text() -> None:
    once = mask_personal_data("a@b.org and 0612345678")
    assert once == "[email] and [phone]"
    assert mask_personal_data(once) == once
    assert mask_personal_data("") == ""


def test_pathological_input_is_fast() -> None:
    started = time.perf_counter()
    for text in ("1 " * 5_000 + "a", "1" * 10_000 + "x", "a1-" * 3_000, "a@" * 5_000):
        mask_personal_data(text)
    assert time.perf_counter() - started < 1


def _responses(path: Path) -> list[str]:
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    texts = []
    for variants in (document.get("responses") or {}).values():
        texts += [variant["text"] for variant in variants if "text" in variant]
    return texts


def test_every_answer_of_the_assistant_is_stored_unchanged() -> None:
    """Our own replies contain only vetted numbers (112, 116 123), dates and links."""
    texts = _responses(PROJECT_ROOT / "domain.yml")
    for path in sorted((PROJECT_ROOT / "data" / "nlu").glob("*.yml")):
        texts += _responses(path)
    assert len(texts) > 50
    changed = [text for text in texts if mask_personal_data(text) != text]
    assert changed == []


def test_mask_event_masks_text_entities_metadata_and_slots_but_not_names() -> None:
    event = {
        "event": "user",
        "text": "I'm jane@example.org",
        "input_channel": "web",
        "metadata": {"display": "call 0612345678"},
        "parse_data": {
            "intent": {"name": "greet", "confidence": 0.9},
            "text": "I'm jane@example.org",
            "entities": [{"entity": "email", "value": "jane@example.org", "start": 4}],
            "message_id": "0123456789abcdef0123456789abcdef",
        },
    }
    masked = mask_event(event)
    assert masked["text"] == masked["parse_data"]["text"] == "I'm [email]"
    assert masked["metadata"] == {"display": "call [phone]"}
    assert masked["parse_data"]["entities"][0]["value"] == EMAIL_MASK
    assert masked["parse_data"]["message_id"] == event["parse_data"]["message_id"]
    assert masked["parse_data"]["intent"] == {"name": "greet", "confidence": 0.9}
    assert event["text"] == "I'm jane@example.org"  # the original is not changed
    slot = mask_event({"event": "slot", "name": "country", "value": "+33 6 12 34 56 78"})
    assert slot["value"] == PHONE_MASK
    action = {"event": "action", "name": "utter_greet", "policy": "RulePolicy"}
    assert mask_event(action) == action


def test_the_real_tracker_store_masks_before_storing(tracker_url: str) -> None:
    """Through Rasa's own save path: the database never sees the address or the number."""
    store = SQLTrackerStore(host=tracker_url)
    sender = "mask-test"
    said = "I'm jane.doe@example.org, call +44 20 7946 0958 or 112"
    tracker = DialogueStateTracker(sender, [])
    tracker.update(
        UserUttered(
            said,
            intent={"name": "greet", "confidence": 0.9},
            parse_data={
                "entities": [{"entity": "x", "value": "jane.doe@example.org"}],
                "metadata": {"display": said},
            },
            input_channel="web",
        )
    )
    tracker.update(SlotSet("country", "0612345678"))
    tracker.update(BotUttered("Noted: jane.doe@example.org. In an emergency call 112."))
    try:
        asyncio.run(store.save(tracker))
        # A second save appends only new events: masking does not confuse Rasa's count.
        tracker.update(UserUttered("and 0044 20 7946 0958", intent={"name": "greet"}))
        asyncio.run(store.save(tracker))
        with store.engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT type_name, data FROM events WHERE sender_id = :s ORDER BY id"),
                {"s": sender},
            ).all()
    finally:
        store.engine.dispose()
    stored = "\n".join(data for _, data in rows)
    assert "jane.doe" not in stored and "7946" not in stored and "0612345678" not in stored
    user = [json.loads(data) for kind, data in rows if kind == "user"]
    assert user[0]["text"] == "I'm [email], call [phone] or 112"
    assert user[0]["parse_data"]["text"] == user[0]["text"]
    assert user[1]["text"] == "and [phone]"
    assert [kind for kind, _ in rows].count("user") == 2
    bot = [json.loads(data) for kind, data in rows if kind == "bot"]
    assert bot[0]["text"] == "Noted: [email]. In an emergency call 112."
