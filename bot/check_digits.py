"""Check-digit rules of the numbers people should not share: payment cards (Luhn), IBANs
(ISO 13616, mod 97) and national identity numbers. bot.masking masks a number only when its
check passes, so order numbers, trial numbers and references stay readable.
"""

from __future__ import annotations

import datetime as dt
import re


def luhn(digits: str) -> bool:
    """The Luhn check of payment cards (ISO/IEC 7812) and Swedish personal numbers."""
    total = 0
    for position, character in enumerate(reversed(digits)):
        value = int(character)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def valid_date(year: int, month: int, day: int) -> bool:
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return True


def is_bsn(digits: str) -> bool:
    """Dutch burgerservicenummer: 9 digits passing the "11-test" (weights 9…2, then -1)."""
    if len(digits) != 9 or digits == "000000000":
        return False
    weights = (9, 8, 7, 6, 5, 4, 3, 2, -1)
    return sum(w * int(d) for w, d in zip(weights, digits, strict=False)) % 11 == 0


def is_pesel(digits: str) -> bool:
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
    return valid_date(century + year, month - offset, day)


def is_personnummer(digits: str) -> bool:
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
    if not valid_date(year if len(digits) == 12 else 2000, month, day):
        return False
    return luhn(short)


def is_nir(text: str) -> bool:
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


_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def dni_letter(number: str) -> str:
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


def codice_fiscale_is_valid(code: str) -> bool:
    code = code.replace(" ", "").upper()
    total = 0
    for position, character in enumerate(code[:15]):
        if position % 2 == 0:  # 1st, 3rd… character: "odd" in the decree's counting
            total += _CF_ODD[character]
        else:
            total += int(character) if character.isdigit() else ord(character) - ord("A")
    return chr(ord("A") + total % 26) == code[15]


# The same checks on a regular expression's match (bot.masking's identity-number patterns).


def nino_match_is_valid(match: re.Match[str]) -> bool:
    return match.group(1).upper() not in {"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"}


def dni_match_is_valid(match: re.Match[str]) -> bool:
    number = match.group(1).replace(".", "")
    letter = match.group(2) or match.group(3)
    return dni_letter(number) == letter.upper()


def nie_match_is_valid(match: re.Match[str]) -> bool:
    number = str("XYZ".index(match.group(1).upper())) + match.group(2)
    return dni_letter(number) == match.group(3).upper()


def personnummer_match_is_valid(match: re.Match[str]) -> bool:
    return is_personnummer(match.group(1) + match.group(2))
