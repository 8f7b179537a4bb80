"""Personal data (e-mail addresses, phone numbers, payment cards, IBANs, national identity
numbers) is masked before anything is stored; the generated cases are in
tests/security/test_masking_properties.py."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from rasa.shared.core.events import BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bench.masking import PATHOLOGICAL_INPUTS
from bot.masking import (
    CARD_MASK,
    EMAIL_MASK,
    IBAN_MASK,
    ID_MASK,
    PHONE_MASK,
    mask_event,
    mask_personal_data,
)
from bot.rasa_ext.tracker_store import SQLTrackerStore
from bot.settings import PROJECT_ROOT
from bot.tracker_db.inbox import short_id


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
        "(+33) 6 12 34 56 78",
        "+33 6 12 34 56 78",
        "+49 (0)170 1234567",
        "0033-6-12-34-56-78",
        "06 - 12 - 34 - 56 - 78",
        "612 345 678",
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
        "the study ran 2025\u20132026",
        "order 4111111111111112",  # 16 digits, but not a valid card number (Luhn)
        "reference 1234567890123",
        "EU CT 2023-501234-12-00 and NCT01234567",
        "sender conv-0612345678, event 3f2a9c1e-7b4d-4e21-9a8f-1c2d3e4f5a6b",
        "uuid 12345678-1234-4a34-8234-123456789012",
        "NI number QQ 12 34 56 A (HMRC's example, not a valid prefix)",
        "DNI 12345678A (wrong letter)",
        "15 countries, 1 000 000 000 doses",
    ],
)
def test_short_numbers_years_dates_and_links_stay_readable(text: str) -> None:
    assert mask_personal_data(text) == text


@pytest.mark.parametrize(
    ("written", "mask"),
    [
        ("4111 1111 1111 1111", CARD_MASK),
        ("4111-1111-1111-1111", CARD_MASK),
        ("5500005555555559", CARD_MASK),
        ("3782 822463 10005", CARD_MASK),  # American Express, 4-6-5
        ("FR76 3000 6000 0112 3456 7890 189", IBAN_MASK),
        ("DE89370400440532013000", IBAN_MASK),
        ("GB82 WEST 1234 5698 7654 32", IBAN_MASK),
        ("nl91abna0417164300", IBAN_MASK),
        ("NO93 8601 1117 947", IBAN_MASK),
        ("AB 12 34 56 C", ID_MASK),  # UK National Insurance number
        ("2 06 12 75 111 005 64", ID_MASK),  # French NIR
        ("1 85 05 2A 006 084 35", ID_MASK),  # French NIR, born in Corsica
        ("12345678Z", ID_MASK),  # Spanish DNI
        ("31415927-C", ID_MASK),
        ("X1234567L", ID_MASK),  # Spanish NIE
        ("RSSMRA79B11C566R", ID_MASK),  # Italian codice fiscale
        ("RSS FNC 80T31 F205 U", ID_MASK),
        ("249566758", ID_MASK),  # Dutch BSN (11-test)
        ("44051401359", ID_MASK),  # Polish PESEL
        ("640823-3234", ID_MASK),  # Swedish personnummer
        ("19640823-3234", ID_MASK),
        ("121212+1212", ID_MASK),  # over 100 years old
    ],
)
def test_cards_ibans_and_national_ids_are_masked(written: str, mask: str) -> None:
    assert mask_personal_data(f"mine is {written}, thanks") == f"mine is {mask}, thanks"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "https://x.org/form?phone=0612345678&id=98765432",
            "https://x.org/form?phone=[phone]&id=98765432",
        ),
        ("https://x.org/?tel=%2B33612345678", "https://x.org/?tel=[phone]"),
        ("https://x.org/?q=call+me+on+06+12+34+56+78", "https://x.org/?q=call+me+on+[phone]"),
        ("https://x.org/?email=jane%40example.org&lang=en", "https://x.org/?email=[email]&lang=en"),
        ("https://x.org/u/jane@example.org/", "https://x.org/u/[email]/"),
        ("https://wa.me/33612345678", "https://wa.me/[phone]"),
        ("https://t.me/+33612345678", "https://t.me/[phone]"),
        ("https://x.org/pay?iban=FR7630006000011234567890189", "https://x.org/pay?iban=[iban]"),
        ("https://x.org/pay?card=4111111111111111", "https://x.org/pay?card=[card]"),
        ("mailto:jane@example.org?subject=Trial", "mailto:[email]?subject=Trial"),
        ("tel:+33612345678", "tel:[phone]"),
        (
            "https://ecrin.org/news/2024/05/0612345678?page=2",
            "https://ecrin.org/news/2024/05/0612345678?page=2",
        ),
    ],
)
def test_personal_data_in_links_is_masked_but_not_their_paths(text: str, expected: str) -> None:
    assert mask_personal_data(text) == expected


def test_numbers_side_by_side_are_masked_one_by_one() -> None:
    assert mask_personal_data("0612345678 / 0698765432") == "[phone] / [phone]"
    assert mask_personal_data("4111 1111 1111 1111 0612345678") == "[card] [phone]"
    assert mask_personal_data("on 2024-05-12 0612345678") == "on 2024-05-12 [phone]"


def test_sender_ids_are_shown_unmasked_unless_they_are_an_address_or_a_number() -> None:
    """The review inbox showed "conv-[phone]": an id glued to a word is an identifier."""
    assert short_id("conv-0612345678") == "conv-061…"
    assert mask_personal_data("conv-0612345678") == "conv-0612345678"
    assert short_id("tg-0123456789abcdef0123456789abcdef") == "tg-01234567…"
    assert short_id("0612345678") == PHONE_MASK
    assert short_id("jane@example.org") == EMAIL_MASK


def test_masking_is_idempotent_and_handles_empty_text() -> None:
    once = mask_personal_data("a@b.org and 0612345678")
    assert once == "[email] and [phone]"
    assert mask_personal_data(once) == once
    assert mask_personal_data("") == ""


@pytest.mark.parametrize("text", PATHOLOGICAL_INPUTS.values(), ids=PATHOLOGICAL_INPUTS.keys())
def test_text_built_to_make_patterns_backtrack_is_left_alone_and_what_follows_masked(
    text: str,
) -> None:
    """Nothing in these texts is personal data; the address and number after them still
    are. How long they take is bench/masking.py's to measure."""
    assert mask_personal_data(text) == text
    after = " mail jane@example.org or call 0612345678"
    assert mask_personal_data(text + after) == f"{text} mail {EMAIL_MASK} or call {PHONE_MASK}"


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


def test_the_crisis_lines_the_assistant_gives_stay_readable_in_what_staff_review() -> None:
    """A self-harm conversation is the one staff most need to read as it was: which line was
    offered. The same number from the user is masked, and so is a number the assistant
    repeats from the user."""
    table = yaml.safe_load((PROJECT_ROOT / "data/db/crisis_lines.yml").read_text())
    lines = [row for row in table["crisis_lines"] if sum(c.isdigit() for c in row["phone"]) > 6]
    assert len(lines) >= 5
    for line in lines:
        said = f"You can talk to {line['name']} on {line['phone']} \u2014 {line.get('hours')}."
        assert mask_event({"event": "bot", "text": said})["text"] == said
        assert line["phone"] not in mask_event({"event": "user", "text": said})["text"]
    echoed = f"You can call {lines[0]['phone']}. You said your number is +33 6 12 34 56 78."
    assert mask_event({"event": "bot", "text": echoed})["text"] == (
        f"You can call {lines[0]['phone']}. You said your number is {PHONE_MASK}."
    )


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


def test_mask_event_masks_button_payloads_numbers_and_every_entity_field() -> None:
    payload = '/inform{"iban": "FR76 3000 6000 0112 3456 7890 189", "card": 4111111111111111}'
    event = {
        "event": "user",
        "timestamp": 1733500000.25,
        "text": payload,
        "message_id": "9876543210",
        "parse_data": {
            "intent": {"name": "inform", "confidence": 1.0},
            "text": payload,
            "message_id": "9876543210",
            "entities": [
                {"entity": "iban", "value": "FR76 3000 6000 0112 3456 7890 189", "start": 0},
                {"entity": "card", "value": 4111111111111111, "extractor": "RegexEntityExtractor"},
                {
                    "entity": "phone-number",
                    "value": "+33612345678",
                    "text": "+33 6 12 34 56 78",
                    "additional_info": {"value": "+33612345678"},
                    "extractor": "DucklingEntityExtractor",
                },
            ],
        },
    }
    masked = mask_event(event)
    expected = f'/inform{{"iban": "{IBAN_MASK}", "card": "{CARD_MASK}"}}'
    assert masked["text"] == masked["parse_data"]["text"] == expected
    entities = masked["parse_data"]["entities"]
    assert [entity["value"] for entity in entities] == [IBAN_MASK, CARD_MASK, PHONE_MASK]
    assert entities[2]["text"] == PHONE_MASK
    assert entities[2]["additional_info"] == {"value": PHONE_MASK}
    assert [entity.get("extractor") for entity in entities] == [
        None,
        "RegexEntityExtractor",
        "DucklingEntityExtractor",
    ]
    for key in ("timestamp", "message_id"):
        assert masked[key] == event[key]
    assert masked["parse_data"]["message_id"] == "9876543210"
    slot = mask_event({"event": "slot", "name": "n", "value": 4111111111111111})
    assert slot["value"] == CARD_MASK
    assert mask_event({"event": "slot", "name": "age", "value": 45})["value"] == 45


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
    tracker.update(
        UserUttered(
            "card 4111 1111 1111 1111, IBAN FR76 3000 6000 0112 3456 7890 189, "
            "NIR 2 06 12 75 111 005 64, DNI 12345678Z, trial EU CT 2023-501234-12-00",
            intent={"name": "inform", "confidence": 0.8},
            parse_data={
                "entities": [
                    {"entity": "card", "value": 4111111111111111},
                    {"entity": "iban", "value": "DE89370400440532013000"},
                ],
            },
        )
    )
    tracker.update(
        UserUttered('/inform{"id": "RSSMRA79B11C566R", "iban": "GB82WEST12345698765432"}')
    )
    tracker.update(SlotSet("involvement_skipped", ["X1234567L", "PESEL 44051401359"]))
    try:
        asyncio.run(store.save(tracker))
        # A second save appends only new events: masking does not confuse Rasa's count.
        tracker.update(UserUttered("and 0044 20 7946 0958", intent={"name": "greet"}))
        asyncio.run(store.save(tracker))
        with store.engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT sender_id, type_name, data FROM events WHERE sender_id = :s ORDER BY id"
                ),
                {"s": sender},
            ).all()
    finally:
        store.engine.dispose()
    stored = "\n".join(data for _, _, data in rows)
    assert "jane.doe" not in stored and "7946" not in stored and "0612345678" not in stored
    for secret in (
        "4111 1111",  # the card, as typed and as a number
        "4111111111111111",
        "3000 6000",
        "30006000",  # the IBANs
        "370400440532013000",
        "WEST",
        "75 111 005",  # the NIR
        "12345678Z",
        "RSSMRA",
        "X1234567L",
        "44051401359",
    ):
        assert secret not in stored, secret
    assert "2023-501234-12-00" in stored  # the trial number stays
    assert sender in {row.sender_id for row in rows}  # and the sender id

    user = [json.loads(data) for _, kind, data in rows if kind == "user"]
    assert user[0]["text"] == "I'm [email], call [phone] or 112"
    assert user[0]["parse_data"]["text"] == user[0]["text"]
    assert user[3]["text"] == "and [phone]"
    assert [kind for _, kind, _ in rows].count("user") == 4
    assert user[1]["text"] == (
        "card [card], IBAN [iban], NIR [id], DNI [id], trial EU CT 2023-501234-12-00"
    )
    assert [e["value"] for e in user[1]["parse_data"]["entities"]] == ["[card]", "[iban]"]
    assert user[2]["text"] == '/inform{"id": "[id]", "iban": "[iban]"}'
    bot = [json.loads(data) for _, kind, data in rows if kind == "bot"]
    assert bot[0]["text"] == "Noted: [email]. In an emergency call 112."
