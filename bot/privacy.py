"""People's rights over their data: what we tell them (one notice for every channel), the
pseudonyms that stand in for their Telegram chat ids, and erasing their conversation on
request while the assistant is running.

The erasing itself is data access and lives with the tracker database
(bot.tracker_db.erasure): `erase_conversation_locked` holds the conversation's lock around it,
so a message arriving at the same moment cannot bring the conversation back. It is the one
erasure routine of the web page, Telegram (both through this module) and the staff review app
(which must not import this module's layer, Rasa's), so the promise is the same everywhere.
"""

from __future__ import annotations

import hashlib
import hmac

from bot.tracker_db.erasure import ErasureError, erase_conversation_locked

__all__ = [
    "PRIVACY_NOTICE",
    "ErasureError",
    "erase_conversation_locked",
    "pseudonym",
]

PRIVACY_NOTICE = (
    "This assistant gives general information about clinical research, not medical advice: "
    "for your own health, talk to your doctor or study team, and in an emergency call 112. "
    "Your messages and the assistant's replies are stored so that ECRIN staff can improve the "
    "answers; they are linked to a random or pseudonymous ID, not to your name or phone "
    "number. Please don't share personal health details. You can erase your conversation at "
    'any time ("Forget me" on the web page, /forget in Telegram).'
)


def pseudonym(kind: str, identifier: str | int, secret: str) -> str:
    """A stable ID that cannot be turned back into `identifier` without `secret` (for
    Telegram, PSEUDONYM_SECRET: bot.settings.Telegram says when it will do)."""
    digest = hmac.new(secret.encode(), f"{kind}:{identifier}".encode(), hashlib.sha256)
    return f"{kind}-{digest.hexdigest()[:32]}"
