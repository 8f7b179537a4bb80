"""People's rights over their data: what we tell them (one notice for every channel), the
pseudonyms that stand in for their Telegram chat ids, and erasing their conversation on
request while the assistant is running.

The deleting itself is data access and lives with the tracker database
(bot.tracker_db.erasure: `erase_conversation`, `purge_conversations`, `ErasureError`); what
this module adds is the conversation's lock around an erasure, so a message arriving at the
same moment cannot bring the conversation back. One text and one erasure routine for the web
page, Telegram and the staff review app, so the promise is the same everywhere.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.tracker_db.erasure import ErasureError, erase_conversation

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


# --- Erasure under the conversation's lock --------------------------------------------------

# A conversation's lock is held while it is erased; erasing never takes longer than this.
ERASE_LOCK_LIFETIME = 60


async def erase_conversation_locked(
    sender_id: str,
    lock_store: Any,
    url: str | None = None,
    check: Callable[[], Awaitable[bool]] | None = None,
) -> int:
    """`erase_conversation` (bot.tracker_db.erasure), in a worker thread, while holding the
    conversation's lock in Rasa's lock store (the lock Rasa's Agent takes around each
    message: `lock_store.lock(sender_id)`).

    A message of the same conversation arriving meanwhile waits until the erasure is done and
    then starts a new conversation; without the lock, a message already being handled would
    save its turn after the erasure together with every earlier event it had loaded, and the
    conversation would come back. `check` (an async callable, optional) runs inside the lock
    first: when it returns False nothing is erased and 0 is returned.

    Raises `ErasureError` when the lock or the database fails.
    """
    # Imported here: the channels import this module, and Rasa is only loaded by a server.
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
