"""What we tell users about their data, masking what they should not have shared, erasing a
conversation on request and purging old ones.

One text for every channel (web page, Telegram /privacy), so the promise is the same
everywhere, and one erasure routine that the channels and the staff review app call.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import time
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam, create_engine, inspect, text
from sqlalchemy.engine import Connection

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


# --- Masking e-mail addresses and phone numbers before anything is stored -------------------

EMAIL_MASK = "[email]"
PHONE_MASK = "[phone]"

_EMAIL = re.compile(
    r"(?<![\w.+%'-])[\w.+%'-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])",
)
# Links keep their digits: "https://…/2024/05/12345678" is not a phone number.
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
# A run of digit groups joined by the separators people type in phone numbers. Separators
# are required between plain groups, so the pattern cannot split one run of digits in many
# ways (no catastrophic backtracking); whether a run is a phone number is decided below.
_PHONE_CANDIDATE = re.compile(
    r"""
    (?<![\w+/@])                      # not the tail of a word, a number or a path
    (?:\+|\b00)?                      # international prefix
    (?:\(\d+\)\d*|\d+)                # first group, maybe in parentheses: (020) or (0)1
    (?:[ \u00a0.\-/]{1,2}(?:\(\d+\)\d*|\d+))*
    (?![\w@]|:\d)                     # not glued to a word; "2024-05-12 10:30" is a time
    """,
    re.VERBOSE,
)
# Things that look like long numbers but are not phone numbers, kept readable.
_NOT_A_PHONE = [
    re.compile(r"\d{4}([-/.])\d{1,2}\1\d{1,2}"),  # 2024-05-12
    re.compile(r"\d{1,2}([-/.])\d{1,2}\1\d{2,4}"),  # 12/05/2024
    re.compile(r"(?:19|20)\d\d(?:\s*[-/]\s*|\s+)(?:19|20)\d\d(?:(?:\s*[-/]\s*|\s+)(?:19|20)\d\d)*"),
    re.compile(r"\d{4}-\d{6}-\d{2}(?:-\d{2})?"),  # EudraCT / EU CT trial numbers
    re.compile(r"[1-9]\d{0,2}([. \u00a0])\d{3}(?:\1\d{3})+"),  # 10.000.000, 10 000 000
    re.compile(r"\d+\.\d+"),  # 3.14159265
]
# Short local numbers written as 555-1234 are phone numbers although they have 7 digits.
_LOCAL_NUMBER = re.compile(r"\d{3}[-.]\d{4}")


def _is_phone_number(candidate: str) -> bool:
    digits = sum(character.isdigit() for character in candidate)
    if candidate.startswith(("+", "00")):
        return 7 <= digits <= 15
    if _LOCAL_NUMBER.fullmatch(candidate):
        return True
    if not 8 <= digits <= 15:
        # Emergency and crisis lines (112, 116 123), ages, years and amounts stay readable.
        return False
    return not any(pattern.fullmatch(candidate) for pattern in _NOT_A_PHONE)


def _mask_phones(segment: str) -> str:
    def replace(match: re.Match[str]) -> str:
        return PHONE_MASK if _is_phone_number(match.group()) else match.group()

    return _PHONE_CANDIDATE.sub(replace, segment)


def mask_personal_data(value: str) -> str:
    """`value` with e-mail addresses replaced by "[email]" and phone numbers by "[phone]".

    Short numbers (112, the crisis line 116 123), years, ages, dates, amounts and trial
    numbers stay readable, and digits inside links are left alone.
    """
    if not value:
        return value
    value = _EMAIL.sub(EMAIL_MASK, value)
    if not any(character.isdigit() for character in value):
        return value
    pieces: list[str] = []
    position = 0
    for link in _URL.finditer(value):
        pieces.append(_mask_phones(value[position : link.start()]))
        pieces.append(link.group())
        position = link.end()
    pieces.append(_mask_phones(value[position:]))
    return "".join(pieces)


def _mask_strings(value: Any) -> Any:
    """Every string inside `value` (a JSON-like structure), masked."""
    if isinstance(value, str):
        return mask_personal_data(value)
    if isinstance(value, list):
        return [_mask_strings(item) for item in value]
    if isinstance(value, dict):
        return {key: _mask_strings(item) for key, item in value.items()}
    return value


def mask_event(event: dict[str, Any]) -> dict[str, Any]:
    """A copy of a serialised Rasa event with what people wrote masked.

    Masks the text of user and bot messages, the text and entity values in the NLU parse
    data, the metadata a client attached (the web page's button titles) and slot values
    filled from free text. Names of intents, actions and ids are never touched.
    """
    masked = dict(event)
    kind = masked.get("event")
    if isinstance(masked.get("text"), str):
        masked["text"] = mask_personal_data(masked["text"])
    if kind == "user":
        if "metadata" in masked:
            masked["metadata"] = _mask_strings(masked["metadata"])
        parse_data = masked.get("parse_data")
        if isinstance(parse_data, dict):
            parse_data = dict(parse_data)
            if isinstance(parse_data.get("text"), str):
                parse_data["text"] = mask_personal_data(parse_data["text"])
            if "metadata" in parse_data:
                parse_data["metadata"] = _mask_strings(parse_data["metadata"])
            parse_data["entities"] = [
                {**entity, "value": _mask_strings(entity.get("value"))}
                if isinstance(entity, dict)
                else entity
                for entity in parse_data.get("entities") or []
            ]
            masked["parse_data"] = parse_data
    elif kind == "slot" and "value" in masked:
        masked["value"] = _mask_strings(masked["value"])
    return masked


# --- Erasure and purge ------------------------------------------------------------------------


def _review_tables(connection: Connection) -> list[str]:
    """The staff review tables holding per-conversation rows that exist in this database."""
    from bot.review.schema import CONVERSATION_TABLES

    existing = set(inspect(connection).get_table_names())
    return [name for name in CONVERSATION_TABLES if name in existing]


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
    flags and labels about it; returns how many events were deleted."""
    engine = create_engine(url or tracker_store_url(), future=True)
    try:
        with engine.begin() as connection:
            if not inspect(connection).has_table("events"):
                return 0
            return _delete_conversations(connection, [sender_id])
    finally:
        engine.dispose()


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
    """Conversations whose last event is older than `older_than`."""
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
    """Delete conversations whose last event is older than `older_than`, with their review
    rows (and review rows left over from conversations that no longer exist).

    Returns (conversations, events) deleted — or that would be, with `dry_run`.
    """
    engine = create_engine(url or tracker_store_url(), future=True)
    try:
        with engine.begin() as connection:
            if not inspect(connection).has_table("events"):
                return 0, 0
            senders = stale_conversations(connection, older_than, now)
            if dry_run:
                events = _count_events(connection, senders)
                return len(senders), events
            deleted = _delete_conversations(connection, senders)
            for table in _review_tables(connection):
                connection.execute(
                    text(
                        f"DELETE FROM {table} WHERE sender_id NOT IN "
                        "(SELECT DISTINCT sender_id FROM events)"
                    )
                )
            return len(senders), deleted
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
