"""Masking what people should not have shared, before anything is stored.

Used by the tracker store (every event Rasa writes), the review app (what staff see and
export) and the benchmarks that compare stored text with what was sent.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote_plus, unquote

from bot.check_digits import (
    IBAN_LENGTHS,
    codice_fiscale_is_valid,
    dni_match_is_valid,
    iban_is_valid,
    is_bsn,
    is_nir,
    is_personnummer,
    is_pesel,
    luhn,
    nie_match_is_valid,
    nino_match_is_valid,
    personnummer_match_is_valid,
)

# What people type is masked before it is written: e-mail addresses, phone numbers, payment
# card numbers, IBANs and national identity numbers. Each kind has its own mask, so staff can
# still see what sort of thing was shared. Card numbers, IBANs and identity numbers are only
# masked when their check digits are right (Luhn, ISO 7064 mod 97, each country's own rule),
# so order numbers, trial numbers and other references stay readable. The identifiers the
# system itself uses (sender ids such as "conv-0612345678", event and message ids, intent and
# action names, timestamps) are never touched.

EMAIL_MASK = "[email]"
PHONE_MASK = "[phone]"
CARD_MASK = "[card]"
IBAN_MASK = "[iban]"
ID_MASK = "[id]"
MASKS = (EMAIL_MASK, PHONE_MASK, CARD_MASK, IBAN_MASK, ID_MASK)

_EMAIL = re.compile(
    r"(?<![\w.+%'-])[\w.+%'-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])",
)
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
# Not preceded or followed by a letter or digit (an underscore counts as a separator), nor
# glued to a word by a dash like an identifier ("conv-12345678Z").
_START = r"(?<![^\W_])(?<![^\W_]-)"
_END = r"(?![^\W_])"

# A run of digit groups joined by the separators people type in phone and card numbers.
# Separators are required between plain groups, so the pattern cannot split one run of
# digits in many ways (no catastrophic backtracking); what a run is is decided below. A run
# glued to a word ("conv-0612345678", "NCT01234567", a UUID's groups) is an identifier.
_NUMBER_CANDIDATE = re.compile(
    r"""
    (?<![\w+/@])(?<!\w-)              # not the tail of a word, an id, a number or a path
    (?:\+|\b00)?                      # international prefix
    (?:\(\+?\d{1,5}\)\d*|\d+)         # first group, maybe in parentheses: (020), (0)1, (+33)
    (?:(?:[ \u00a0]|\.|[ \u00a0]?[-/\u2010-\u2013][ \u00a0]?)(?:\(\d{1,5}\)\d*|\d+))*
    (?![\w@]|-\w|:\d)                 # not glued to a word; "2024-05-12 10:30" is a time
    """,
    re.VERBOSE,
)
# Things that look like long numbers but are not personal data, kept readable.
_NOT_PERSONAL = [
    re.compile(r"\d{4}([-/.])\d{1,2}\1\d{1,2}"),  # 2024-05-12
    re.compile(r"\d{1,2}([-/.])\d{1,2}\1\d{2,4}"),  # 12/05/2024
    re.compile(  # 2019-2024, 2019 to 2024 with an en dash, 2019 2020 2021
        r"(?:19|20)\d\d(?:\s*[-/\u2010-\u2013]\s*|\s+)(?:19|20)\d\d"
        r"(?:(?:\s*[-/\u2010-\u2013]\s*|\s+)(?:19|20)\d\d)*"
    ),
    re.compile(r"\d{4}-\d{6}-\d{2}(?:-\d{2})?"),  # EudraCT / EU CT trial numbers
    re.compile(r"\d{8}-\d{4}-\d{4}-\d{4}-\d{12}"),  # a UUID that happens to be all digits
    re.compile(r"\d+\.\d+"),  # 3.14159265
]
# 10 000 000 or 1.000.000: a count, when it is short or round (612 345 678 is a phone).
_THOUSANDS = re.compile(r"[1-9]\d{0,2}([. \u00a0])\d{3}(?:\1\d{3})+")
_INTERNATIONAL = re.compile(r"\+|\(\+|00[1-9]")
# Short local numbers written as 555-1234 are phone numbers although they have 7 digits.
_LOCAL_NUMBER = re.compile(r"\d{3}[-.]\d{4}")
_PERSONNUMMER_SHAPE = re.compile(r"\d{6}(?:\d{2})?-?\d{4}")
_BSN_SHAPE = re.compile(r"\d{9}|\d{4}\.\d{2}\.\d{3}")


def _is_kept(candidate: str) -> bool:
    """A run that reads as one non-personal thing (a date, years, a trial number, a count)."""
    if any(pattern.fullmatch(candidate) for pattern in _NOT_PERSONAL):
        return True
    if _THOUSANDS.fullmatch(candidate):
        digits = "".join(character for character in candidate if character.isdigit())
        return len(digits) <= 8 or digits.endswith("000")
    return False


def _classify_number(candidate: str) -> str | None:
    """The mask for a run of digits, or None when it is not personal data."""
    digits = "".join(character for character in candidate if character.isdigit())
    count = len(digits)
    if _INTERNATIONAL.match(candidate):
        # Neither the 00 of 0033 nor the trunk 0 in +33 (0)1 23 45 67 89 is in the number.
        dialled = count - candidate.count("(0)") - (2 if candidate.startswith("00") else 0)
        if 7 <= dialled <= 15:
            return PHONE_MASK
        if candidate.startswith(("+", "(+")):
            return None
    if _is_kept(candidate):
        return None
    if 13 <= count <= 19 and luhn(digits):
        return CARD_MASK
    if (
        (_BSN_SHAPE.fullmatch(candidate) and is_bsn(digits))
        or (count == 11 and is_pesel(digits))
        or (_PERSONNUMMER_SHAPE.fullmatch(candidate) and is_personnummer(digits))
        or (count == 15 and is_nir(digits))
    ):
        return ID_MASK
    if _LOCAL_NUMBER.fullmatch(candidate):
        return PHONE_MASK
    if 8 <= count <= 12 or (count == 13 and digits.startswith("0")):
        # Emergency and crisis lines (112, 116 123), ages, years and amounts stay readable.
        return PHONE_MASK
    return None


_IBAN_START = re.compile(_START + r"[A-Za-z]{2}\d{2}(?=[ \u00a0-]?[A-Za-z0-9])")
_IBAN_SEPARATORS = " \u00a0-"


def _iban_end(text: str, start: int) -> int | None:
    """Where the IBAN starting at `start` ends, if one does (written compact or in groups)."""
    expected = IBAN_LENGTHS.get(text[start : start + 2].upper())
    limit = expected or 34
    position, count = start, 0
    while position < len(text) and count < limit:
        character = text[position]
        if character.isascii() and character.isalnum():
            count += 1
            position += 1
        elif (
            expected  # groups only for the countries whose length is known
            and character in _IBAN_SEPARATORS
            and position + 1 < len(text)
            and text[position + 1].isascii()
            and text[position + 1].isalnum()
        ):
            position += 1
        else:
            break
    following = text[position : position + 1]
    if following.isalnum() or (expected and count != expected) or count < 15:
        return None
    return position if iban_is_valid(text[start:position]) else None


def _mask_ibans(text: str) -> str:
    if not _IBAN_START.search(text):
        return text
    pieces: list[str] = []
    position = 0
    for match in _IBAN_START.finditer(text):
        if match.start() < position:
            continue
        end = _iban_end(text, match.start())
        if end is not None:
            pieces.append(text[position : match.start()] + IBAN_MASK)
            position = end
    pieces.append(text[position:])
    return "".join(pieces)


_OMOCODE = "[0-9LMNP-V]"  # a digit of the codice fiscale, or the letter that replaces it
# National identity numbers written with letters or separators, each with its own check.
_IDENTITY_NUMBERS: list[tuple[re.Pattern[str], Any]] = [
    (  # French NIR, also with Corsica's 2A / 2B and in groups: 1 85 05 78 006 084 36
        re.compile(
            _START + r"(?<!\d[ .])[1278][ .]?\d{2}[ .]?\d{2}[ .]?(?:\d{2}|2[AB])[ .]?\d{3}"
            r"[ .]?\d{3}[ .]?\d{2}" + _END + r"(?![ .-]?\d)",
            re.IGNORECASE,
        ),
        lambda match: is_nir(match.group()),
    ),
    (  # Italian codice fiscale: RSSMRA85T10A562S, also in groups
        re.compile(
            _START + rf"[A-Z]{{3}} ?[A-Z]{{3}} ?{_OMOCODE}{{2}}[ABCDEHLMPRST]{_OMOCODE}{{2}}"
            rf" ?[A-Z]{_OMOCODE}{{3}} ?[A-Z]" + _END,
            re.IGNORECASE,
        ),
        lambda match: codice_fiscale_is_valid(match.group()),
    ),
    (  # UK National Insurance number: QQ 12 34 56 C
        re.compile(
            _START + r"([A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]) ?\d{2} ?\d{2} ?\d{2} ?[A-D]" + _END,
            re.IGNORECASE,
        ),
        nino_match_is_valid,
    ),
    (  # Spanish DNI / NIF: 12345678Z, 12345678-Z, 12.345.678-Z
        re.compile(
            _START + r"(\d{8}|\d{1,2}\.\d{3}\.\d{3})(?:-?([A-Za-z])| ([A-Z]))" + _END,
        ),
        dni_match_is_valid,
    ),
    (  # Spanish NIE: X1234567L
        re.compile(_START + r"([XYZ])-?(\d{7})-?([A-Z])" + _END, re.IGNORECASE),
        nie_match_is_valid,
    ),
    (  # Swedish personnummer with its separator: 850709-9805, 19850709-9805, 121212+1212
        re.compile(_START + r"(?<![\d+][ -])(\d{6}|\d{8})[-+](\d{4})" + _END + r"(?![ .-]?\d)"),
        personnummer_match_is_valid,
    ),
]


def _mask_identity_numbers(text: str) -> str:
    for pattern, is_valid in _IDENTITY_NUMBERS:
        text = pattern.sub(
            lambda match, is_valid=is_valid: ID_MASK if is_valid(match) else match.group(), text
        )
    return text


_GROUP_SEPARATOR = re.compile(r"([ \u00a0]?[-/\u2010-\u2013][ \u00a0]?|[ \u00a0.])(?=[(\d])")


def _split_run(candidate: str) -> str:
    """A run of numbers that is no one thing, such as two phone numbers or a card and a
    phone number side by side ("0612345678 / 0698765432"): from left to right, what reads
    as one non-personal thing (a date, years) stays, and the longest personal datum starting
    at each group is masked."""
    parts = _GROUP_SEPARATOR.split(candidate)
    groups, separators = parts[0::2], parts[1::2]
    if len(groups) < 2:
        return candidate
    if len(groups) > 200:  # a table of numbers: only what is personal on its own
        for index, group in enumerate(groups):
            groups[index] = _classify_number(group) or group
        pairs = zip(groups, [*separators, ""], strict=True)
        return "".join(part for pair in pairs for part in pair)
    pieces: list[str] = []
    start = 0
    while start < len(groups):
        runs = [groups[start]]  # runs[k]: groups start…start + k joined as written
        for end in range(start + 1, min(len(groups), start + 12)):
            runs.append(runs[-1] + separators[end - 1] + groups[end])
        whole = start == 0 and len(runs) == len(groups)  # already classified
        kept = [k for k in range(1, len(runs)) if _is_kept(runs[k])]
        personal = [
            (k, mask)
            for k in reversed(range(len(runs) - (1 if whole else 0)))
            if 7 <= sum(character.isdigit() for character in runs[k]) <= 19
            and (mask := _classify_number(runs[k]))
        ]
        if kept:
            taken, replacement = kept[-1], runs[kept[-1]]
        elif personal:
            taken, replacement = personal[0]
        else:
            taken, replacement = 0, groups[start]
        pieces.append(replacement)
        start += taken + 1
        if start < len(groups):
            pieces.append(separators[start - 1])
    return "".join(pieces)


def _mask_numbers(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        candidate = match.group()
        mask = _classify_number(candidate)
        if mask:
            return mask
        return candidate if _is_kept(candidate) else _split_run(candidate)

    return _NUMBER_CANDIDATE.sub(replace, text)


def _mask_plain(text: str) -> str:
    """`text` (no links in it) with IBANs, identity numbers, cards and phones masked."""
    if not any(character.isdigit() for character in text):
        return text
    return _mask_numbers(_mask_identity_numbers(_mask_ibans(text)))


# --- Links: the query string can carry personal data; the path is ids, dates and slugs -----

_PHONE_KEYS = re.compile(
    r"phone|mobile|mobil|whatsapp|msisdn|telef|telep|(?:^|[^a-z])(?:tel|cell|fax|gsm|handy)(?:$|[^a-z])",
    re.IGNORECASE,
)
_CARD_KEYS = re.compile(r"card|(?:^|[^a-z])(?:pan|cc|ccn)(?:$|[^a-z])", re.IGNORECASE)
_IBAN_KEYS = re.compile(r"iban|account", re.IGNORECASE)
_ID_KEYS = re.compile(
    r"ssn|nino|(?:^|[^a-z])(?:nir|dni|nie|nif|bsn|cf)(?:$|[^a-z])|pesel|personnummer|fiscal"
    r"|passport|national|insurance",
    re.IGNORECASE,
)
_QUERY_PAIR = re.compile(r"([^&;=#]*)(=?)([^&;#]*)")
_PATH_PHONE = re.compile(r"(?:\+|%2[bB])\d{7,15}")
_PHONE_LINK_HOSTS = {"wa.me"}


def _hinted_mask(key: str) -> str | None:
    for pattern, mask in (
        (_PHONE_KEYS, PHONE_MASK),
        (_CARD_KEYS, CARD_MASK),
        (_IBAN_KEYS, IBAN_MASK),
        (_ID_KEYS, ID_MASK),
    ):
        if pattern.search(key):
            return mask
    return None


def _mask_query_value(key: str, raw: str) -> str:
    decoded = unquote(raw)
    for form in (decoded, decoded.replace("+", " ")):
        if "@" in form and _EMAIL.search(form):
            return quote_plus(_EMAIL.sub(EMAIL_MASK, form), safe="[]")
    if not re.fullmatch(r"\+[\d\s().-]+", decoded):
        decoded = decoded.replace("+", " ")  # form encoding: "+" is a space
    if not any(character.isdigit() for character in decoded):
        return raw
    hint = _hinted_mask(unquote(key))
    if decoded.isdigit():
        # A bare run of digits in a link is an id, unless its name says it is personal.
        return hint if hint and len(decoded) >= 6 else raw
    masked = _mask_plain(decoded)
    if masked != decoded:
        return quote_plus(masked, safe="[]")
    if hint and sum(character.isdigit() for character in decoded) >= 6:
        return hint
    return raw


def _mask_link(link: str) -> str:
    base, hash_sign, fragment = link.partition("#")
    base, question_mark, query = base.partition("?")
    scheme, separator, rest = base.partition("://")
    host, slash, path = (rest if separator else base).partition("/")
    if host.lower().removeprefix("www.") in _PHONE_LINK_HOSTS:
        path = re.sub(r"^\d{7,15}(?=/|$)", PHONE_MASK, path)
    path = _PATH_PHONE.sub(PHONE_MASK, path)  # t.me/+33612345678
    base = (scheme + separator if separator else "") + host + slash + path
    if question_mark:
        query = _QUERY_PAIR.sub(
            lambda pair: pair.group(1)
            + pair.group(2)
            + (_mask_query_value(pair.group(1), pair.group(3)) if pair.group(2) else pair.group(3)),
            query,
        )
    return base + question_mark + query + hash_sign + fragment


def mask_personal_data(value: str) -> str:
    """`value` with personal data replaced by a mask for its kind: "[email]" for e-mail
    addresses (also in links and mailto:), "[phone]" for phone numbers, "[card]" for
    payment card numbers (Luhn), "[iban]" for IBANs (mod 97) and "[id]" for national
    identity numbers (UK NINO, French NIR, Spanish DNI/NIE, Italian codice fiscale, Dutch
    BSN, Polish PESEL, Swedish personnummer), each with its check digits.

    Short numbers (112, the crisis line 116 123), years, ages, dates, amounts, trial
    numbers, identifiers glued to a word ("conv-0612345678", "NCT01234567") and the ids and
    dates in a link's path stay readable; a link's query string is masked.
    """
    if not value:
        return value
    value = _EMAIL.sub(EMAIL_MASK, value)
    if not any(character.isdigit() for character in value):
        return value
    pieces: list[str] = []
    position = 0
    for link in _URL.finditer(value):
        pieces.append(_mask_plain(value[position : link.start()]))
        pieces.append(_mask_link(link.group()))
        position = link.end()
    pieces.append(_mask_plain(value[position:]))
    return "".join(pieces)


_PAYLOAD = re.compile(r"(/[^\s{]+)(\{.*\})", re.DOTALL)


def _mask_text(text: str) -> str:
    """A message's text: a button payload "/intent{json}" is masked value by value, so its
    intent name stays and its JSON stays valid."""
    payload = _PAYLOAD.fullmatch(text)
    if payload:
        try:
            entities = json.loads(payload.group(2))
        except ValueError:
            pass
        else:
            masked = _mask_values(entities, numbers=True)
            if masked != entities:
                return payload.group(1) + json.dumps(masked, ensure_ascii=False)
            return text
    return mask_personal_data(text)


def _mask_number_value(value: int) -> int | str:
    """An integer someone typed (a slot or entity value): masked if it is a card or an
    identity number, or long enough to be a phone number."""
    mask = _classify_number(str(abs(value)))
    return mask if mask else value


def _mask_values(value: Any, numbers: bool = False) -> Any:
    """Every string inside `value` (a JSON-like structure) masked; with `numbers`, integers
    too (what a person typed, not timestamps or confidences)."""
    if isinstance(value, str):
        return mask_personal_data(value)
    if isinstance(value, list):
        return [_mask_values(item, numbers) for item in value]
    if isinstance(value, dict):
        return {key: _mask_values(item, numbers) for key, item in value.items()}
    if numbers and isinstance(value, int) and not isinstance(value, bool):
        return _mask_number_value(value)
    return value


# Keys of an entity that name things (kept); everything else in it is what was said.
_ENTITY_NAMES = {"entity", "extractor", "role", "group", "processors", "start", "end"}


def _mask_entities(entities: Any) -> Any:
    if not isinstance(entities, list):
        return entities
    return [
        {
            key: item if key in _ENTITY_NAMES else _mask_values(item, numbers=key == "value")
            for key, item in entity.items()
        }
        if isinstance(entity, dict)
        else entity
        for entity in entities
    ]


def _mask_bot_text(text: str) -> str:
    """What the assistant said, masked, except the vetted public numbers it gives (crisis
    lines): staff reading a conversation about self-harm must see which line was offered.
    A number the assistant repeats from the user is masked as anywhere else."""
    from bot.answers import ALLOWED_PHONES  # the vetted list; imported late (no cycle)

    # Short numbers are never masked; a long one is kept only as a whole number (not inside
    # a longer one the user gave).
    said = sorted(
        (n for n in ALLOWED_PHONES if n in text and sum(c.isdigit() for c in n) > 6),
        key=len,
        reverse=True,
    )
    # Characters of Unicode's private use area hold their place: no digits, never masked.
    kept = {chr(0xE000 + index): number for index, number in enumerate(said)}
    for placeholder, number in kept.items():
        text = re.sub(rf"(?<![\w+]){re.escape(number)}(?![\w])", placeholder, text)
    masked = _mask_text(text)
    for placeholder, number in kept.items():
        masked = masked.replace(placeholder, number)
    return masked


def mask_event(event: dict[str, Any]) -> dict[str, Any]:
    """A copy of a serialised Rasa event with what people wrote masked.

    Masks the text of user and bot messages (a button payload "/intent{json}" value by
    value), the text and entities in the NLU parse data, the metadata a client attached (the
    web page's button titles), entities added by an "entities" event and slot values. The
    sender id, event and message ids, timestamps and the names of intents, actions, slots
    and entities are never touched.
    """
    masked = dict(event)
    kind = masked.get("event")
    if isinstance(masked.get("text"), str):
        text = masked["text"]
        masked["text"] = _mask_bot_text(text) if kind == "bot" else _mask_text(text)
    if isinstance(masked.get("action_text"), str):
        masked["action_text"] = mask_personal_data(masked["action_text"])
    if "entities" in masked:
        masked["entities"] = _mask_entities(masked["entities"])
    if kind == "user":
        if "metadata" in masked:
            masked["metadata"] = _mask_values(masked["metadata"])
        parse_data = masked.get("parse_data")
        if isinstance(parse_data, dict):
            parse_data = dict(parse_data)
            if isinstance(parse_data.get("text"), str):
                parse_data["text"] = _mask_text(parse_data["text"])
            if "metadata" in parse_data:
                parse_data["metadata"] = _mask_values(parse_data["metadata"])
            parse_data["entities"] = _mask_entities(parse_data.get("entities") or [])
            masked["parse_data"] = parse_data
    elif kind == "slot" and "value" in masked:
        masked["value"] = _mask_values(masked["value"], numbers=True)
    return masked
