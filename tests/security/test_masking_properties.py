"""Masking before storage, as properties (Hypothesis): generated card numbers, IBANs, phone
numbers, e-mail addresses and national identity numbers, embedded in generated text, links
and JSON structures, never survive `mask_personal_data` / `mask_event`; generated text that
is not personal data (dates, trial numbers, years, counts, links with numeric paths, sender
ids) comes out unchanged; masking is idempotent.

`make test` runs a few hundred examples per property (each example carries several
generated items; the totals are printed with `-s`). `HYPOTHESIS_PROFILE=fuzz` runs 10,000
examples per property (or set `MASKING_EXAMPLES`):

    HYPOTHESIS_PROFILE=fuzz .venv/bin/python -m pytest -q -s \
        tests/security/test_masking_properties.py
"""

from __future__ import annotations

import json
import os
import re
import string
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.check_digits import IBAN_LENGTHS, iban_is_valid
from bot.masking import (
    CARD_MASK,
    EMAIL_MASK,
    IBAN_MASK,
    ID_MASK,
    MASKS,
    PHONE_MASK,
    mask_event,
    mask_personal_data,
)


def _examples(default: int) -> int:
    if os.environ.get("MASKING_EXAMPLES"):
        return int(os.environ["MASKING_EXAMPLES"])
    return 10_000 if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz" else default


def properties(default: int) -> settings:
    return settings(
        max_examples=_examples(default),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


GENERATED: Counter[str] = Counter()  # items generated per kind, reported at the end


@pytest.fixture(scope="module", autouse=True)
def _report_counts() -> Any:
    yield
    if GENERATED:
        total = sum(GENERATED.values())
        print(f"\nmasking properties: {total} generated items: {dict(sorted(GENERATED.items()))}")


# --- Generators of personal data ---------------------------------------------------------------


@dataclass(frozen=True)
class Personal:
    """One generated piece of personal data: as written, its kind and the mask it gets."""

    written: str
    kind: str
    mask: str | None  # None: some mask, which one depends on the reading (10 digits: id/phone)


def luhn_digit(body: str) -> str:
    total = 0
    for position, character in enumerate(reversed(body)):
        value = int(character)
        if position % 2 == 0:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return str((10 - total % 10) % 10)


def grouped(text: str, sizes: list[int], separator: str) -> str:
    groups, position = [], 0
    for size in sizes:
        if position >= len(text):
            break
        groups.append(text[position : position + size])
        position += size
    if position < len(text):
        groups.append(text[position:])
    return separator.join(groups)


digits = st.text("0123456789", min_size=1, max_size=1)


def digit_string(length: int) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=length, max_size=length)


# Issuer prefixes and lengths of the main card brands (Visa, Mastercard, Amex, Discover,
# JCB, Diners, UnionPay, Maestro).
CARD_BRANDS = [
    ("4", (13, 16, 19)),
    ("51", (16,)),
    ("55", (16,)),
    ("2221", (16,)),
    ("2720", (16,)),
    ("34", (15,)),
    ("37", (15,)),
    ("6011", (16, 19)),
    ("65", (16,)),
    ("3528", (16, 19)),
    ("36", (14,)),
    ("62", (16, 17, 18, 19)),
    ("6759", (13, 16, 19)),
]


@st.composite
def cards(draw: st.DrawFn) -> Personal:
    prefix, lengths = draw(st.sampled_from(CARD_BRANDS))
    length = draw(st.sampled_from(lengths))
    body = prefix + draw(digit_string(length - len(prefix) - 1))
    number = body + luhn_digit(body)
    style = draw(st.sampled_from(["compact", "fours", "amex"]))
    separator = draw(st.sampled_from([" ", "-", "\u00a0"]))
    if style == "fours":
        number = grouped(number, [4] * 5, separator)
    elif style == "amex":
        number = grouped(number, [4, 6, 5], separator)
    return Personal(number, "card", CARD_MASK)


# BBAN layouts: "n" digits, "a" capital letters, "c" letters or digits (ISO 13616 registry).
BBANS = {
    "DE": "n" * 18,
    "FR": "n" * 10 + "c" * 11 + "nn",
    "GB": "aaaa" + "n" * 14,
    "IT": "a" + "n" * 10 + "c" * 12,
    "ES": "n" * 20,
    "NL": "aaaa" + "n" * 10,
    "BE": "n" * 12,
    "NO": "n" * 11,
    "MT": "aaaa" + "n" * 5 + "c" * 18,
    "PL": "n" * 24,
    "CH": "n" * 5 + "c" * 12,
    "AT": "n" * 16,
    "IE": "aaaa" + "n" * 14,
    "PT": "n" * 21,
    "SE": "n" * 20,
    "GR": "n" * 7 + "c" * 16,
    "DK": "n" * 14,
    "FI": "n" * 14,
    "LU": "nnn" + "c" * 13,
    "HR": "n" * 17,
}


@st.composite
def ibans(draw: st.DrawFn) -> Personal:
    country = draw(st.sampled_from(sorted(BBANS)))
    alphabets = {
        "n": string.digits,
        "a": string.ascii_uppercase,
        "c": string.digits + string.ascii_uppercase,
    }
    bban = "".join(
        draw(st.text(alphabets[kind], min_size=len(run), max_size=len(run)))
        for kind, run in ((run[0], run) for run in re.findall(r"n+|a+|c+", BBANS[country]))
    )
    numeric = "".join(str(int(character, 36)) for character in bban + country + "00")
    iban = f"{country}{98 - int(numeric) % 97:02d}{bban}"
    assert len(iban) == IBAN_LENGTHS[country] and iban_is_valid(iban)
    if draw(st.booleans()):
        iban = grouped(iban, [4] * 9, draw(st.sampled_from([" ", "\u00a0"])))
    if draw(st.integers(0, 4)) == 0:
        iban = iban.lower()
    return Personal(iban, "iban", IBAN_MASK)


def groups_of(number: str, draw: st.DrawFn) -> list[int]:
    return draw(st.lists(st.integers(1, 4), min_size=len(number) // 2 + 1, max_size=12))


@st.composite
def phones(draw: st.DrawFn) -> Personal:
    style = draw(st.sampled_from(["international", "national", "north_american", "local"]))
    separator = draw(st.sampled_from([" ", "-", ".", "\u00a0", " - ", "/"]))
    if style == "international":
        country = draw(st.sampled_from(["33", "44", "49", "1", "34", "39", "31", "353", "420"]))
        rest = draw(st.integers(min_value=max(6, 7 - len(country)), max_value=15 - len(country)))
        national = draw(st.sampled_from("123456789")) + draw(digit_string(rest - 1))
        prefix = draw(st.sampled_from(["+", "00", "(+"]))
        head = f"(+{country})" if prefix == "(+" else prefix + country
        trunk = draw(st.sampled_from(["", " (0)", " (0) "]))
        grouping = groups_of(national, draw)
        body = grouped(national, grouping, separator if draw(st.booleans()) else "")
        joiner = " " if trunk == "" and draw(st.booleans()) else ""
        return Personal(head + trunk + joiner + body, "phone", PHONE_MASK)
    if style == "national":
        # A trunk 0 and 9 or 10 more digits, in groups of the same separator (as people write
        # them); "06.12.34.56.78" but not one dot ("0612.345678" reads as a decimal).
        national = (
            "0"
            + draw(st.sampled_from("123456789"))
            + draw(digit_string(draw(st.sampled_from([8, 9]))))
        )
        sizes = draw(st.sampled_from([[2] * 6, [3, 3, 4], [4, 3, 3], [3, 4, 4], [2, 4, 4], [10]]))
        if draw(st.booleans()) and sizes != [10]:
            area, _, rest = grouped(national, sizes, " ").partition(" ")
            return Personal(f"({area}) {rest}", "phone", None)
        if sizes == [10]:
            return Personal(national, "phone", None)
        return Personal(grouped(national, sizes, separator), "phone", None)
    if style == "north_american":
        area = draw(st.sampled_from("23456789")) + draw(digit_string(2))
        exchange = draw(st.sampled_from("23456789")) + draw(digit_string(2))
        line = draw(digit_string(4))
        form = draw(
            st.sampled_from(["({a}) {e}-{l}", "{a}-{e}-{l}", "{a}.{e}.{l}", "1-{a}-{e}-{l}"])
        )
        return Personal(form.format(a=area, e=exchange, l=line), "phone", None)
    # 555-1234 (with a dot it reads as a decimal: 555.1234)
    local = draw(digit_string(3)) + "-" + draw(digit_string(4))
    return Personal(local, "phone", PHONE_MASK)


LOCAL_CHARACTERS = string.ascii_letters + string.digits + "._%+-'"


@st.composite
def emails(draw: st.DrawFn) -> Personal:
    local = draw(st.text(LOCAL_CHARACTERS, min_size=1, max_size=20).filter(lambda s: s[0] != "."))
    labels = draw(
        st.lists(
            st.text(string.ascii_lowercase + string.digits + "-", min_size=1, max_size=10).filter(
                lambda s: s[0] != "-" and s[-1] != "-"
            ),
            min_size=1,
            max_size=3,
        )
    )
    tld = draw(st.text(string.ascii_lowercase, min_size=2, max_size=6))
    address = f"{local}@{'.'.join(labels)}.{tld}"
    if draw(st.booleans()):
        address = address.upper() if draw(st.booleans()) else address
    return Personal(address, "email", EMAIL_MASK)


@st.composite
def birth_dates(draw: st.DrawFn, first: int = 1900, last: int = 2025) -> tuple[int, int, int]:
    year = draw(st.integers(first, last))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, 28))
    return year, month, day


NINO_FIRST = "ABCEGHJKLMNOPRSTWXYZ"
NINO_SECOND = "ABCEGHJKLMNPRSTWXYZ"


@st.composite
def ninos(draw: st.DrawFn) -> str:
    prefix = draw(
        st.tuples(st.sampled_from(NINO_FIRST), st.sampled_from(NINO_SECOND))
        .map("".join)
        .filter(lambda p: p not in {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
    )
    number = draw(digit_string(6))
    suffix = draw(st.sampled_from("ABCD"))
    if draw(st.booleans()):
        return f"{prefix} {number[:2]} {number[2:4]} {number[4:]} {suffix}"
    return prefix + number + suffix


@st.composite
def nirs(draw: st.DrawFn) -> str:
    sex = draw(st.sampled_from("12"))
    year, month, _ = draw(birth_dates())
    department = draw(st.sampled_from([f"{d:02d}" for d in range(1, 96) if d != 20] + ["2A", "2B"]))
    commune, order = draw(digit_string(3)), draw(digit_string(3))
    body = f"{sex}{year % 100:02d}{month:02d}{department}{commune}{order}"
    numeric = body.replace("2A", "19") if department == "2A" else body.replace("2B", "18")
    key = f"{97 - int(numeric) % 97:02d}"
    if draw(st.booleans()):
        return f"{sex} {year % 100:02d} {month:02d} {department} {commune} {order} {key}"
    return body + key


DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


@st.composite
def dnis(draw: st.DrawFn) -> str:
    number = draw(digit_string(8))
    letter = DNI_LETTERS[int(number) % 23]
    return number + draw(st.sampled_from(["", "-"])) + letter


@st.composite
def nies(draw: st.DrawFn) -> str:
    first = draw(st.sampled_from("XYZ"))
    number = draw(digit_string(7))
    letter = DNI_LETTERS[int(str("XYZ".index(first)) + number) % 23]
    return first + number + letter


# Values of the characters in odd positions for the codice fiscale's check character.
CF_ODD_VALUES = (
    "1 0 5 7 9 13 15 17 19 21 1 0 5 7 9 13 15 17 19 21 2 4 18 20 11 3 6 8 12 14 16 10 22 25 24 23"
)
CF_ODD = dict(
    zip(string.digits + string.ascii_uppercase, map(int, CF_ODD_VALUES.split()), strict=True)
)


@st.composite
def codici_fiscali(draw: st.DrawFn) -> str:
    letters = st.sampled_from(string.ascii_uppercase)
    year, month, day = draw(birth_dates())
    day += draw(st.sampled_from([0, 40]))
    code = (
        "".join(draw(letters) for _ in range(6))
        + f"{year % 100:02d}"
        + "ABCDEHLMPRST"[month - 1]
        + f"{day:02d}"
        + draw(letters)
        + draw(digit_string(3))
    )
    total = sum(
        CF_ODD[c] if i % 2 == 0 else (int(c) if c.isdigit() else ord(c) - 65)
        for i, c in enumerate(code)
    )
    return code + chr(65 + total % 26)


@st.composite
def bsns(draw: st.DrawFn) -> str:
    body = draw(digit_string(8).filter(lambda s: s != "00000000"))
    partial = sum(w * int(d) for w, d in zip((9, 8, 7, 6, 5, 4, 3, 2), body, strict=True))
    last = [d for d in range(10) if (partial - d) % 11 == 0]
    if not last:
        return draw(bsns())
    return body + str(last[0])


@st.composite
def pesels(draw: st.DrawFn) -> str:
    year, month, day = draw(birth_dates(1900, 2099))
    encoded_month = month + (20 if year >= 2000 else 0)
    body = f"{year % 100:02d}{encoded_month:02d}{day:02d}" + draw(digit_string(4))
    weights = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
    check = (10 - sum(w * int(d) for w, d in zip(weights, body, strict=True)) % 10) % 10
    return body + str(check)


@st.composite
def personnummer(draw: st.DrawFn) -> str:
    year, month, day = draw(birth_dates())
    short = f"{year % 100:02d}{month:02d}{day:02d}" + draw(digit_string(3))
    number = short + luhn_digit(short)
    style = draw(st.sampled_from(["short", "long", "compact"]))
    if style == "short":
        return number[:6] + draw(st.sampled_from("-+")) + number[6:]
    if style == "long":
        return f"{year // 100}{number[:6]}-{number[6:]}"
    return f"{year // 100}{number}"


@st.composite
def national_ids(draw: st.DrawFn) -> Personal:
    kind, strategy = draw(
        st.sampled_from(
            [
                ("nino", ninos()),
                ("nir", nirs()),
                ("dni", dnis()),
                ("nie", nies()),
                ("codice_fiscale", codici_fiscali()),
                ("bsn", bsns()),
                ("pesel", pesels()),
                ("personnummer", personnummer()),
            ]
        )
    )
    written = draw(strategy)
    if kind in {"nino", "codice_fiscale", "nie"} and draw(st.integers(0, 3)) == 0:
        written = written.lower()
    # A bare 9- or 11-digit number is a phone number too: any mask will do.
    mask = None if kind in {"bsn", "pesel"} else ID_MASK
    return Personal(written, kind, mask)


personal_data = st.one_of(cards(), ibans(), phones(), emails(), national_ids())

# --- Surrounding text --------------------------------------------------------------------------

WORDS = st.text(string.ascii_letters + "éàüß", min_size=1, max_size=10)
BEFORE = st.sampled_from([" ", "\n", " (", ": ", ' "', " «", "\t"])
AFTER = st.sampled_from([" ", ".", ",", ")", "!", "?", "\n", '"', ";", " »"])


@st.composite
def words(draw: st.DrawFn) -> str:
    return " ".join(draw(st.lists(WORDS, max_size=6)))


@dataclass(frozen=True)
class Embedded:
    text: str
    items: tuple[Personal, ...]


@st.composite
def embedded(draw: st.DrawFn, items: st.SearchStrategy[Personal] = personal_data) -> Embedded:
    """Words, with 1-6 pieces of personal data in between."""
    found = draw(st.lists(items, min_size=1, max_size=6))
    parts = [draw(words())]
    for item in found:
        GENERATED[item.kind] += 1
        parts += [draw(BEFORE), item.written, draw(AFTER), draw(words())]
    return Embedded("".join(parts), tuple(found))


def compact(text: str) -> str:
    return "".join(character for character in text.upper() if character.isalnum())


def assert_gone(item: Personal, masked: str) -> None:
    assert item.written not in masked
    if item.kind == "email":
        assert item.written.lower() not in masked.lower()
        return
    # Every letter and digit of it, in order, is gone: no part of it left readable.
    assert compact(item.written) not in compact(masked)
    if item.mask:
        assert item.mask in masked
    else:
        assert any(mask in masked for mask in MASKS)


# --- Properties --------------------------------------------------------------------------------


@properties(150)
@given(embedded())
def test_personal_data_in_text_is_never_kept(sample: Embedded) -> None:
    masked = mask_personal_data(sample.text)
    for item in sample.items:
        assert_gone(item, masked)
    assert mask_personal_data(masked) == masked


@properties(50)
@given(st.lists(cards(), min_size=5, max_size=20))
def test_every_generated_card_gets_the_card_mask(found: list[Personal]) -> None:
    GENERATED["card"] += len(found)
    for item in found:
        assert mask_personal_data(f"card: {item.written}, thanks") == f"card: {CARD_MASK}, thanks"


@properties(40)
@given(st.lists(ibans(), min_size=5, max_size=20))
def test_every_generated_iban_gets_the_iban_mask(found: list[Personal]) -> None:
    GENERATED["iban"] += len(found)
    for item in found:
        assert mask_personal_data(f"IBAN {item.written}.") == f"IBAN {IBAN_MASK}."


@properties(50)
@given(st.lists(national_ids(), min_size=5, max_size=20))
def test_every_generated_national_id_is_masked(found: list[Personal]) -> None:
    GENERATED.update(item.kind for item in found)
    for item in found:
        masked = mask_personal_data(f"my number is {item.written} ok")
        assert masked in {f"my number is {mask} ok" for mask in (ID_MASK, PHONE_MASK)}, item
        if item.mask:
            assert masked == f"my number is {item.mask} ok"


@properties(50)
@given(st.lists(st.one_of(cards(), phones(), emails(), national_ids()), min_size=1, max_size=4))
def test_personal_data_in_links_is_masked(found: list[Personal]) -> None:
    """In a link's query string (the path holds ids and dates), and as mailto:/tel: links."""
    GENERATED.update(f"{item.kind} (link)" for item in found)
    keys = {"card": "card", "phone": "phone", "email": "email", "iban": "iban"}
    query = "&".join(
        f"{keys.get(item.kind, 'national_id')}={quote(item.written)}" for item in found
    )
    text = f"see https://example.org/form/2024/0612345678?ref=98765432&{query}&lang=en ok"
    masked = mask_personal_data(text)
    assert masked.startswith("see https://example.org/form/2024/0612345678?ref=98765432&")
    assert masked.endswith("&lang=en ok")
    for item in found:
        assert compact(item.written) not in compact(unquote(masked))
    for item in found:
        if item.kind == "email":
            assert mask_personal_data(f"mailto:{item.written}") == f"mailto:{EMAIL_MASK}"
        if item.kind == "phone" and item.written.startswith("+"):
            assert mask_personal_data(f"tel:{item.written}") == f"tel:{PHONE_MASK}"


# --- Structures: a stored Rasa event -----------------------------------------------------------

SAFE_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-1000, 1000),
    WORDS,
)


@st.composite
def structures(draw: st.DrawFn) -> tuple[Any, list[Personal]]:
    """A JSON structure (dicts and lists) with personal data in some of its strings."""
    found: list[Personal] = []

    def leaf(value: Any) -> Any:
        if isinstance(value, Embedded):
            found.extend(value.items)
            return value.text
        return value

    shape = draw(
        st.recursive(
            st.one_of(SAFE_LEAVES, embedded()),
            lambda children: st.lists(children, max_size=3)
            | st.dictionaries(
                st.text(string.ascii_lowercase, min_size=1, max_size=8), children, max_size=3
            ),
            max_leaves=8,
        )
    )

    def build(value: Any) -> Any:
        if isinstance(value, list):
            return [build(item) for item in value]
        if isinstance(value, dict):
            return {key: build(item) for key, item in value.items()}
        return leaf(value)

    extra = draw(embedded())
    found.extend(extra.items)
    return {"display": extra.text, "nested": build(shape)}, found


@properties(40)
@given(
    embedded(), structures(), st.lists(personal_data, min_size=1, max_size=3), embedded(), cards()
)
def test_a_stored_event_keeps_no_personal_data_and_every_system_identifier(
    said: Embedded,
    metadata: tuple[Any, list[Personal]],
    entity_values: list[Personal],
    slot: Embedded,
    card: Personal,
) -> None:
    structure, in_metadata = metadata
    GENERATED.update(f"{item.kind} (entity)" for item in entity_values)
    card_number = int("".join(c for c in card.written if c.isdigit()))
    event = {
        "event": "user",
        "timestamp": 1733500000.123456,
        "text": said.text,
        "input_channel": "rest",
        "message_id": "0123456789abcdef0123456789abcdef",
        "metadata": structure,
        "parse_data": {
            "intent": {"name": "faq_trials", "confidence": 0.93},
            "entities": [
                {"entity": "contact", "value": item.written, "start": 3, "end": 9}
                for item in entity_values
            ]
            + [{"entity": "number", "value": card_number, "extractor": "DucklingEntityExtractor"}],
            "text": said.text,
            "message_id": "0123456789abcdef0123456789abcdef",
            "intent_ranking": [{"name": "faq_trials", "confidence": 0.93}],
        },
    }
    masked = mask_event(event)
    # What people wrote, without the system's own fields (a timestamp has many digits).
    system = ("timestamp", "message_id")
    written = {k: v for k, v in masked.items() if k not in (*system, "parse_data")}
    parse_data = {k: v for k, v in masked["parse_data"].items() if k not in system}
    stored = json.dumps([written, parse_data], ensure_ascii=False)
    for item in (*said.items, *in_metadata, *entity_values):
        assert_gone(item, stored)
    assert str(card_number) not in stored
    for key in ("event", "timestamp", "input_channel", "message_id"):
        assert masked[key] == event[key]
    assert masked["parse_data"]["intent"] == event["parse_data"]["intent"]
    assert masked["parse_data"]["message_id"] == event["parse_data"]["message_id"]
    assert [e["entity"] for e in masked["parse_data"]["entities"]] == [
        e["entity"] for e in event["parse_data"]["entities"]
    ]
    assert mask_event(masked) == masked

    slot_event = {"event": "slot", "timestamp": 1733500001.5, "name": "country", "value": slot.text}
    masked_slot = mask_event(slot_event)
    for item in slot.items:
        assert_gone(item, masked_slot["value"])
    assert masked_slot["name"] == "country" and masked_slot["timestamp"] == 1733500001.5


@properties(60)
@given(
    st.lists(personal_data, min_size=1, max_size=4),
    st.sampled_from(["inform", "faq_trials/contact"]),
)
def test_button_payloads_are_masked_value_by_value(found: list[Personal], intent: str) -> None:
    GENERATED.update(f"{item.kind} (payload)" for item in found)
    entities = {f"value{i}": item.written for i, item in enumerate(found)}
    payload = f"/{intent}{json.dumps(entities)}"
    masked = mask_event({"event": "user", "text": payload, "parse_data": {"text": payload}})
    for text in (masked["text"], masked["parse_data"]["text"]):
        assert text.startswith(f"/{intent}{{")
        values = json.loads(text[len(intent) + 1 :])  # still valid JSON
        assert set(values) == set(entities)
        assert all(value in MASKS for value in values.values())


# --- What is not personal data stays readable --------------------------------------------------

MONTHS = ["January", "May", "September", "December"]
# Words of 3+ letters: "AB 123456 C" is a National Insurance number, not two words and a count.
LONG_WORDS = st.text(string.ascii_letters + "éàüß", min_size=3, max_size=10)


@st.composite
def not_personal(draw: st.DrawFn) -> str:
    year = draw(st.integers(1950, 2035))
    month, day = draw(st.integers(1, 12)), draw(st.integers(1, 28))
    kind = draw(
        st.sampled_from(
            [
                "iso_date",
                "date",
                "time",
                "long_date",
                "eu_ct",
                "eudract",
                "nct",
                "isrctn",
                "year",
                "year_range",
                "count",
                "thousands",
                "amount",
                "percent",
                "decimal",
                "short_line",
                "url",
                "sender",
                "uuid",
            ]
        )
    )
    GENERATED[f"{kind} (kept)"] += 1
    if kind == "iso_date":
        return f"{year}-{month:02d}-{day:02d}"
    if kind == "date":
        separator = draw(st.sampled_from("/.-"))
        return f"{day:02d}{separator}{month:02d}{separator}{year}"
    if kind == "time":
        hour, minute = draw(st.integers(0, 23)), draw(st.integers(0, 59))
        return f"{year}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}"
    if kind == "long_date":
        return f"{day} {draw(st.sampled_from(MONTHS))} {year}"
    if kind == "eu_ct":
        return f"{year}-5{draw(digit_string(5))}-{draw(digit_string(2))}-00"
    if kind == "eudract":
        return f"{year}-{draw(digit_string(6))}-{draw(digit_string(2))}"
    if kind == "nct":
        return "NCT" + draw(digit_string(8))
    if kind == "isrctn":
        return "ISRCTN" + draw(digit_string(8))
    if kind == "year":
        return str(year)
    if kind == "year_range":
        separator = draw(st.sampled_from(["-", "\u2013", " - ", " to ", "/"]))
        return f"{year}{separator}{year + draw(st.integers(1, 10))}"
    if kind == "count":
        return str(draw(st.integers(0, 9_999_999)))
    if kind == "thousands":
        number = draw(st.integers(1_000, 99_999_999))
        separator = draw(st.sampled_from([" ", ".", ",", "\u00a0"]))
        return f"{number:,}".replace(",", separator)
    if kind == "amount":
        return f"€{draw(st.integers(1, 99_999))}"
    if kind == "percent":
        return f"{draw(st.integers(0, 100))}%"
    if kind == "decimal":
        return f"{draw(st.floats(0, 1000, allow_nan=False)):.{draw(st.integers(1, 9))}f}"
    if kind == "short_line":
        return draw(st.sampled_from(["112", "116 123", "15", "911", "999", "116 111"]))
    if kind == "url":
        path = "/".join(
            draw(st.lists(digit_string(draw(st.integers(1, 12))), min_size=1, max_size=4))
        )
        query = draw(
            st.sampled_from(
                ["", f"?id={draw(digit_string(8))}", f"?page={day}&id={draw(digit_string(10))}"]
            )
        )
        host = draw(st.sampled_from(["ecrin.org", "www.ema.europa.eu", "euclinicaltrials.eu"]))
        return f"https://{host}/news/{path}{query}"
    if kind == "sender":
        return draw(st.sampled_from(["conv-", "web-", "rest-client-", "session_"])) + draw(
            digit_string(draw(st.integers(8, 15)))
        )
    return "-".join(draw(digit_string(n)) for n in (8, 4, 4, 4, 12))  # a UUID of digits only


@properties(150)
@given(st.lists(st.tuples(not_personal(), LONG_WORDS), min_size=1, max_size=6))
def test_dates_trial_numbers_counts_links_and_ids_stay_readable(
    parts: list[tuple[str, str]],
) -> None:
    text = " ".join(f"{value} {after}" for value, after in parts)
    assert mask_personal_data(text) == text


@properties(50)
@given(st.lists(st.tuples(not_personal(), words()), min_size=1, max_size=3))
def test_system_identifiers_in_an_event_are_never_masked(parts: list[tuple[str, str]]) -> None:
    sender = "conv-0612345678"
    event = {
        "event": "user",
        "sender_id": sender,
        "timestamp": 1733500000.5,
        "message_id": "9876543210",
        "text": " and ".join(value for value, _ in parts),
        "parse_data": {
            "intent": {"name": "faq_trials/what_is_a_trial"},
            "message_id": "9876543210",
        },
    }
    assert mask_event(event) == {**event, "parse_data": {**event["parse_data"], "entities": []}}


# --- Idempotence on anything -------------------------------------------------------------------

ANYTHING = st.text(
    alphabet=st.sampled_from(list("0123456789 +-./()@:_?=&%#abcXYZéü\u00a0\u2013\n[]")), max_size=80
)


@properties(200)
@given(st.one_of(ANYTHING, embedded().map(lambda e: e.text)))
def test_masking_is_idempotent(text: str) -> None:
    once = mask_personal_data(text)
    assert mask_personal_data(once) == once
