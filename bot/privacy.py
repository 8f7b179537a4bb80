"""What we tell users about their data, masking what they should not have shared, erasing a
conversation on request and purging old ones.

One text for every channel (web page, Telegram /privacy), so the promise is the same
everywhere, and one erasure routine that the channels and the staff review app call.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote_plus, unquote

from sqlalchemy import bindparam, create_engine, inspect, text
from sqlalchemy.engine import Connection

from bot.db import bounded_connect_args
from bot.settings import tracker_store_url

PRIVACY_NOTICE = (
    "This assistant gives general information about clinical research, not medical advice: "
    "for your own health, talk to your doctor or study team, and in an emergency call 112. "
    "Your messages and the assistant's replies are stored so that ECRIN staff can improve the "
    "answers; they are linked to a random or pseudonymous ID, not to your name or phone "
    "number. Please don't share personal health details. You can erase your conversation at "
    'any time ("Forget me" on the web page, /forget in Telegram).'
)


def pseudonym(kind: str, identifier: str | int, secret: str) -> str:
    """A stable ID that cannot be turned back into `identifier` without `secret`."""
    digest = hmac.new(secret.encode(), f"{kind}:{identifier}".encode(), hashlib.sha256)
    return f"{kind}-{digest.hexdigest()[:32]}"


# --- Masking personal data before anything is stored ----------------------------------------
#
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


def _luhn(digits: str) -> bool:
    """The Luhn check of payment cards (ISO/IEC 7812) and Swedish personal numbers."""
    total = 0
    for position, character in enumerate(reversed(digits)):
        value = int(character)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


def _is_bsn(digits: str) -> bool:
    """Dutch burgerservicenummer: 9 digits passing the "11-test" (weights 9…2, then -1)."""
    if len(digits) != 9 or digits == "000000000":
        return False
    weights = (9, 8, 7, 6, 5, 4, 3, 2, -1)
    return sum(w * int(d) for w, d in zip(weights, digits, strict=False)) % 11 == 0


def _is_pesel(digits: str) -> bool:
    """Polish PESEL: YYMMDD (century in the month) + 4 digits + check digit (1-3-7-9)."""
    if len(digits) != 11:
        return False
    weights = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
    check = (10 - sum(w * int(d) for w, d in zip(weights, digits, strict=False)) % 10) % 10
    if check != int(digits[10]):
        return False
    year, month, day = int(digits[:2]), int(digits[2:4]), int(digits[4:6])
    offset = month // 20 * 20  # 1900s: month + 0, 2000s: + 20, … 1800s: + 80
    century = {0: 1900, 20: 2000, 40: 2100, 60: 2200, 80: 1800}[offset]
    return _valid_date(century + year, month - offset, day)


def _is_personnummer(digits: str) -> bool:
    """Swedish personnummer: (YY)YYMMDD + 3 digits + Luhn check digit over the last 10;
    a samordningsnummer adds 60 to the day."""
    if len(digits) == 12:
        year, short = int(digits[:4]), digits[2:]
    elif len(digits) == 10:
        year, short = 1900 + int(digits[:2]), digits
    else:
        return False
    month, day = int(short[2:4]), int(short[4:6])
    if day > 60:
        day -= 60
    if not _valid_date(year if len(digits) == 12 else 2000, month, day):
        return False
    return _luhn(short)


def _is_nir(text: str) -> bool:
    """French NIR (social security number): 13 characters + key = 97 - (number mod 97);
    Corsica's departments 2A and 2B count as 19 and 18."""
    compact = re.sub(r"[ .]", "", text).upper()
    if len(compact) != 15 or compact[0] not in "1278" or not compact[13:].isdigit():
        return False
    department = compact[5:7]
    body = compact[:5] + {"2A": "19", "2B": "18"}.get(department, department) + compact[7:13]
    if not body.isdigit() or body[3:5] == "00":
        return False
    return int(compact[13:]) == 97 - int(body) % 97


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
    if 13 <= count <= 19 and _luhn(digits):
        return CARD_MASK
    if (
        (_BSN_SHAPE.fullmatch(candidate) and _is_bsn(digits))
        or (count == 11 and _is_pesel(digits))
        or (_PERSONNUMMER_SHAPE.fullmatch(candidate) and _is_personnummer(digits))
        or (count == 15 and _is_nir(digits))
    ):
        return ID_MASK
    if _LOCAL_NUMBER.fullmatch(candidate):
        return PHONE_MASK
    if 8 <= count <= 12 or (count == 13 and digits.startswith("0")):
        # Emergency and crisis lines (112, 116 123), ages, years and amounts stay readable.
        return PHONE_MASK
    return None


# IBAN lengths per country, from the SWIFT IBAN registry (ISO 13616).
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip
_IBAN_START = re.compile(_START + r"[A-Za-z]{2}\d{2}(?=[ \u00a0-]?[A-Za-z0-9])")
_IBAN_SEPARATORS = " \u00a0-"


def iban_is_valid(iban: str) -> bool:
    """ISO 13616: the country's length and the ISO 7064 mod 97-10 check (remainder 1)."""
    compact = "".join(iban.split()).replace("-", "").upper()
    expected = IBAN_LENGTHS.get(compact[:2])
    if expected is not None and len(compact) != expected:
        return False
    if not (15 <= len(compact) <= 34 and compact.isascii() and compact.isalnum()):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(character, 36)) for character in rearranged)) % 97 == 1


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


_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def _dni_letter(number: str) -> str:
    return _DNI_LETTERS[int(number) % 23]


# Codice fiscale check character: values of the characters in odd and even positions.
_CF_ODD = dict(
    zip(
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11,
         3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23],
        strict=True,
    )
)  # fmt: skip


def _cf_is_valid(code: str) -> bool:
    code = code.replace(" ", "").upper()
    total = 0
    for position, character in enumerate(code[:15]):
        if position % 2 == 0:  # 1st, 3rd… character: "odd" in the decree's counting
            total += _CF_ODD[character]
        else:
            total += int(character) if character.isdigit() else ord(character) - ord("A")
    return chr(ord("A") + total % 26) == code[15]


def _nino_is_valid(match: re.Match[str]) -> bool:
    return match.group(1).upper() not in {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}


def _dni_is_valid(match: re.Match[str]) -> bool:
    number = match.group(1).replace(".", "")
    letter = match.group(2) or match.group(3)
    return _dni_letter(number) == letter.upper()


def _nie_is_valid(match: re.Match[str]) -> bool:
    number = str("XYZ".index(match.group(1).upper())) + match.group(2)
    return _dni_letter(number) == match.group(3).upper()


def _personnummer_is_valid(match: re.Match[str]) -> bool:
    return _is_personnummer(match.group(1) + match.group(2))


_OMOCODE = "[0-9LMNP-V]"  # a digit of the codice fiscale, or the letter that replaces it
# National identity numbers written with letters or separators, each with its own check.
_IDENTITY_NUMBERS: list[tuple[re.Pattern[str], Any]] = [
    (  # French NIR, also with Corsica's 2A / 2B and in groups: 1 85 05 78 006 084 36
        re.compile(
            _START + r"(?<!\d[ .])[1278][ .]?\d{2}[ .]?\d{2}[ .]?(?:\d{2}|2[AB])[ .]?\d{3}"
            r"[ .]?\d{3}[ .]?\d{2}" + _END + r"(?![ .-]?\d)",
            re.IGNORECASE,
        ),
        lambda match: _is_nir(match.group()),
    ),
    (  # Italian codice fiscale: RSSMRA85T10A562S, also in groups
        re.compile(
            _START + rf"[A-Z]{{3}} ?[A-Z]{{3}} ?{_OMOCODE}{{2}}[ABCDEHLMPRST]{_OMOCODE}{{2}}"
            rf" ?[A-Z]{_OMOCODE}{{3}} ?[A-Z]" + _END,
            re.IGNORECASE,
        ),
        lambda match: _cf_is_valid(match.group()),
    ),
    (  # UK National Insurance number: QQ 12 34 56 C
        re.compile(
            _START + r"([A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]) ?\d{2} ?\d{2} ?\d{2} ?[A-D]" + _END,
            re.IGNORECASE,
        ),
        _nino_is_valid,
    ),
    (  # Spanish DNI / NIF: 12345678Z, 12345678-Z, 12.345.678-Z
        re.compile(
            _START + r"(\d{8}|\d{1,2}\.\d{3}\.\d{3})(?:-?([A-Za-z])| ([A-Z]))" + _END,
        ),
        _dni_is_valid,
    ),
    (  # Spanish NIE: X1234567L
        re.compile(_START + r"([XYZ])-?(\d{7})-?([A-Z])" + _END, re.IGNORECASE),
        _nie_is_valid,
    ),
    (  # Swedish personnummer with its separator: 850709-9805, 19850709-9805, 121212+1212
        re.compile(_START + r"(?<![\d+][ -])(\d{6}|\d{8})[-+](\d{4})" + _END + r"(?![ .-]?\d)"),
        _personnummer_is_valid,
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


# --- Erasure and purge ------------------------------------------------------------------------

# Every database call below waits at most this long to connect, and (PostgreSQL) for a lock
# or a statement: a database that does not answer is reported, never waited for forever.
DATABASE_TIMEOUT_SECONDS = 10

# A conversation's lock is held while it is erased; erasing never takes longer than this.
ERASE_LOCK_LIFETIME = 60


class ErasureError(RuntimeError):
    """The conversation could not be erased (the database failed or did not answer); nothing
    may be reported as erased. The message says why, for the log; `reason` says it in a
    few words for the user, without the database's own details."""

    def __init__(self, message: str, reason: str = "the database is unavailable") -> None:
        super().__init__(message)
        self.reason = reason


def _engine(url: str | None):
    """A short-lived engine on `url` (default: the tracker store) with bounded waits."""
    from sqlalchemy.pool import NullPool

    url = url or tracker_store_url()
    # A purge may delete many rows: a statement gets six times the connect/lock wait.
    connect_args = bounded_connect_args(
        url,
        connect=DATABASE_TIMEOUT_SECONDS,
        statement=DATABASE_TIMEOUT_SECONDS * 6,
        lock=DATABASE_TIMEOUT_SECONDS,
    )
    return create_engine(url, future=True, poolclass=NullPool, connect_args=connect_args)


def _review_tables(connection: Connection) -> list[str]:
    """The staff review tables holding per-conversation rows that exist in this database."""
    from bot.review.schema import CONVERSATION_TABLES

    existing = set(inspect(connection).get_table_names())
    return [name for name in CONVERSATION_TABLES if name in existing]


# Review tables whose rows are about one message (and copy its text): they go with it.
MESSAGE_TABLES = ("review_messages", "review_repeats", "review_flags", "review_nlu_labels")


def _delete_conversations(connection: Connection, senders: Sequence[str]) -> int:
    """Delete the events and the review rows of `senders`; returns the events deleted."""
    deleted = 0
    tables = _review_tables(connection)
    # Bounded IN lists: a purge can cover thousands of conversations.
    for start in range(0, len(senders), 500):
        batch = {"senders": list(senders[start : start + 500])}
        for table in tables:
            connection.execute(
                text(f"DELETE FROM {table} WHERE sender_id IN :senders").bindparams(
                    bindparam("senders", expanding=True)
                ),
                batch,
            )
        result = connection.execute(
            text("DELETE FROM events WHERE sender_id IN :senders").bindparams(
                bindparam("senders", expanding=True)
            ),
            batch,
        )
        deleted += result.rowcount or 0
    return deleted


def erase_conversation(sender_id: str, url: str | None = None) -> int:
    """Delete every stored event of one conversation, and the staff's review notes, tags,
    flags and labels about it, in one transaction; returns how many events were deleted.

    Blocking (call it from a thread in a server). Raises `ErasureError` when the database
    fails or does not answer within DATABASE_TIMEOUT_SECONDS: then nothing was deleted.
    Callers that run beside a Rasa server use `erase_conversation_locked`.
    """
    from sqlalchemy.exc import SQLAlchemyError

    engine = _engine(url)
    try:
        with engine.begin() as connection:
            if not inspect(connection).has_table("events"):
                return 0
            return _delete_conversations(connection, [sender_id])
    except SQLAlchemyError as error:
        reason = getattr(error, "orig", None) or error
        raise ErasureError(f"the database did not erase the conversation: {reason}") from error
    finally:
        engine.dispose()


async def erase_conversation_locked(
    sender_id: str, lock_store: Any, url: str | None = None, check: Any = None
) -> int:
    """`erase_conversation` while holding the conversation's lock in Rasa's lock store (the
    lock Rasa's Agent takes around each message: `lock_store.lock(sender_id)`).

    A message of the same conversation arriving meanwhile waits until the erasure is done and
    then starts a new conversation; without the lock, a message already being handled would
    save its turn after the erasure together with every earlier event it had loaded, and the
    conversation would come back. `check` (an async callable, optional) runs inside the lock
    first: when it returns False nothing is erased and 0 is returned.

    Raises `ErasureError` when the lock or the database fails.
    """
    import asyncio
    import logging

    from rasa.core.lock_store import LockError

    try:
        async with lock_store.lock(sender_id, lock_lifetime=ERASE_LOCK_LIFETIME):
            if check is not None and not await check():
                return 0
            return await asyncio.to_thread(erase_conversation, sender_id, url)
    except LockError as error:
        logging.getLogger(__name__).error("Could not lock a conversation to erase it: %s", error)
        raise ErasureError(
            f"the conversation is busy or the lock store failed: {error}",
            reason="the conversation is busy",
        ) from error
    except ErasureError:
        raise
    except Exception as error:  # the lock store's own connection errors (Redis down…)
        raise ErasureError(
            f"the conversation could not be locked or read: {error!r}",
            reason="the conversation store is unavailable",
        ) from error


_AGE = re.compile(r"^\s*(\d+)\s*([dw]?)\s*$", re.IGNORECASE)


def parse_age(value: str) -> dt.timedelta:
    """ "180d" (days, the default unit) or "26w" (weeks) as a timedelta."""
    match = _AGE.match(value)
    if not match:
        raise ValueError(f"expected a number of days such as 180d (or weeks: 26w), got {value!r}")
    amount, unit = int(match.group(1)), match.group(2).lower()
    return dt.timedelta(weeks=amount) if unit == "w" else dt.timedelta(days=amount)


def stale_conversations(
    connection: Connection, older_than: dt.timedelta, now: float | None = None
) -> list[str]:
    """Conversations whose last event is older than `older_than` (gone whole by a purge)."""
    cutoff = (time.time() if now is None else now) - older_than.total_seconds()
    rows = connection.execute(
        text("SELECT sender_id FROM events GROUP BY sender_id HAVING MAX(timestamp) < :cutoff"),
        {"cutoff": cutoff},
    )
    return [sender for (sender,) in rows]


def purge_conversations(
    older_than: dt.timedelta,
    url: str | None = None,
    now: float | None = None,
    dry_run: bool = False,
) -> tuple[int, int]:
    """Retention, per message age: delete every event older than `older_than`, whatever
    conversation it belongs to, with the review rows about those messages; then the review
    rows of conversations that have no event left. A conversation still going on keeps its
    recent messages and loses its old ones.

    Returns (conversations emptied, events deleted) — or that would be, with `dry_run`.
    Raises `ErasureError` when the database fails (nothing is deleted then).
    """
    from sqlalchemy.exc import SQLAlchemyError

    now = time.time() if now is None else now
    cutoff = now - older_than.total_seconds()
    engine = _engine(url)
    try:
        with engine.begin() as connection:
            if not inspect(connection).has_table("events"):
                return 0, 0
            emptied = len(stale_conversations(connection, older_than, now))
            old = {"cutoff": cutoff}
            if dry_run:
                count = text("SELECT COUNT(*) FROM events WHERE timestamp < :cutoff")
                return emptied, connection.execute(count, old).scalar_one()
            tables = _review_tables(connection)
            for table in tables:
                if table in MESSAGE_TABLES:
                    connection.execute(
                        text(
                            f"DELETE FROM {table} WHERE event_id IN "
                            "(SELECT id FROM events WHERE timestamp < :cutoff)"
                        ),
                        old,
                    )
            if "review_messages" in tables:  # its own copy of the time, in case
                connection.execute(
                    text("DELETE FROM review_messages WHERE timestamp < :cutoff"), old
                )
            deleted = connection.execute(
                text("DELETE FROM events WHERE timestamp < :cutoff"), old
            ).rowcount
            for table in tables:
                connection.execute(
                    text(
                        f"DELETE FROM {table} WHERE sender_id NOT IN "
                        "(SELECT DISTINCT sender_id FROM events)"
                    )
                )
            return emptied, deleted or 0
    except SQLAlchemyError as error:
        reason = getattr(error, "orig", None) or error
        raise ErasureError(f"the database did not purge old messages: {reason}") from error
    finally:
        engine.dispose()


def _count_events(connection: Connection, senders: Iterable[str]) -> int:
    senders = list(senders)
    total = 0
    for start in range(0, len(senders), 500):
        total += connection.execute(
            text("SELECT COUNT(*) FROM events WHERE sender_id IN :senders").bindparams(
                bindparam("senders", expanding=True)
            ),
            {"senders": senders[start : start + 500]},
        ).scalar_one()
    return total


# --- The Telegram pseudonym key ---------------------------------------------------------------

PSEUDONYM_SECRET_MIN_CHARS = 16


def under_tests(env: Mapping[str, str]) -> bool:
    """pytest sets PYTEST_CURRENT_TEST for the test running now (and `bot run` started by a
    test inherits it): the only place a missing pseudonym key may fall back to another."""
    return bool(env.get("PYTEST_CURRENT_TEST"))


def pseudonym_secret_problem(env: Mapping[str, str]) -> str | None:
    """Why the Telegram channel must not start in `env`, or None.

    In production (TELEGRAM_TOKEN set, not under tests) the keyed hash that replaces chat ids
    needs its own secret, PSEUDONYM_SECRET: not the webhook secret (which is sent to Telegram
    and may be rotated, which would cut every chat off from its stored history), not the bot
    token, and long enough not to be guessed.
    """
    if not env.get("TELEGRAM_TOKEN") or under_tests(env):
        return None
    key = env.get("PSEUDONYM_SECRET") or ""
    how = "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
    if not key:
        return f"TELEGRAM_TOKEN is set but PSEUDONYM_SECRET is not: {how}, and keep it."
    if key in (env.get("TELEGRAM_WEBHOOK_SECRET"), env.get("TELEGRAM_TOKEN")):
        return (
            "PSEUDONYM_SECRET must be its own secret, not the webhook secret or the bot token: "
            f"{how}."
        )
    if len(key) < PSEUDONYM_SECRET_MIN_CHARS:
        return f"PSEUDONYM_SECRET is shorter than {PSEUDONYM_SECRET_MIN_CHARS} characters: {how}."
    return None
