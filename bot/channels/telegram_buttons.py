"""Telegram's inline keyboards for our replies, and where a long answer's rest waits.

A button carries at most 64 bytes of callback data, which is why a long Rasa payload falls
back to the button's title and a "More" button carries only a random token: the rest of the
answer is kept by MoreStore until it is pressed (bot/channels/telegram.py sends it).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.channels.telegram_language import LANGUAGE_MARKER
from bot.feedback import FEEDBACK_EMOJI, is_answer, is_feedback

logger = logging.getLogger(__name__)

CALLBACK_DATA_LIMIT = 64  # bytes, Telegram's limit for inline button data
TITLE_MARKER = "t:"  # callback data that stands for "use the button's own title"
MORE_MARKER = "more:"  # callback data of a "More" button: the marker and the rest's token
MORE_TITLE = "More"
# The rest of a long answer is kept this long for its "More" button: in Redis (shared by
# replicas) or, without Redis, the last MORE_ANSWERS in this process.
MORE_SECONDS = 24 * 3600
MORE_ANSWERS = 1_000
MORE_GONE = (
    "Sorry, I no longer have the rest of that answer. "
    "Please ask your question again and I'll answer it in full."
)


def button_data(index: int, payload: str) -> str:
    """Inline buttons carry at most 64 bytes: longer payloads fall back to the title (so do
    payloads that would read as our own markers)."""
    ours = payload.startswith((TITLE_MARKER, MORE_MARKER, LANGUAGE_MARKER))
    if len(payload.encode()) <= CALLBACK_DATA_LIMIT and not ours:
        return payload
    return f"{TITLE_MARKER}{index}"


# Side by side, under the answer's own buttons (one per row).
FEEDBACK_ROW = tuple(
    InlineKeyboardButton(emoji, callback_data=payload) for payload, emoji in FEEDBACK_EMOJI.items()
)


def more_data(token: str) -> str:
    return f"{MORE_MARKER}{token}"


def is_more(data: str | None) -> bool:
    return data is not None and data.startswith(MORE_MARKER)


def reply_markup(
    text: str, buttons: Sequence[dict[str, Any]] = (), more: str | None = None
) -> InlineKeyboardMarkup | None:
    """The inline keyboard for a reply: "More" when the answer has a rest (`more` is its
    token), its own buttons, then the 👍 / 👎 row if it is an answer."""
    rows: list[Sequence[InlineKeyboardButton]] = []
    if more is not None:
        rows.append([InlineKeyboardButton(MORE_TITLE, callback_data=more_data(more))])
    rows += [
        [InlineKeyboardButton(b["title"], callback_data=button_data(i, b["payload"]))]
        for i, b in enumerate(buttons)
    ]
    if is_answer(text):
        rows.append(FEEDBACK_ROW)
    return InlineKeyboardMarkup(rows) if rows else None


def _without(
    markup: InlineKeyboardMarkup | None, pressed: Callable[[str | None], bool]
) -> InlineKeyboardMarkup | None:
    rows = [
        row
        for row in (markup.inline_keyboard if markup else ())
        if not any(pressed(button.callback_data) for button in row)
    ]
    return InlineKeyboardMarkup(rows) if rows else None


def without_feedback(markup: InlineKeyboardMarkup | None) -> InlineKeyboardMarkup | None:
    """The keyboard of a rated answer: its own buttons stay, the 👍 / 👎 row goes."""
    return _without(markup, is_feedback)


def without_more(markup: InlineKeyboardMarkup | None) -> InlineKeyboardMarkup | None:
    """The keyboard of an answer whose rest was sent: "More" goes, the rest stays."""
    return _without(markup, is_more)


class MoreStore:
    """The rest of long answers, each under a random token its "More" button carries (a
    button holds 64 bytes, an answer's rest does not fit).

    With a Redis lock store (replicas) the rest is kept there, expiring after MORE_SECONDS,
    so whichever replica gets the press can send it; otherwise, and when Redis fails, this
    process keeps the last MORE_ANSWERS for as long. A rest is only ever sent to the chat it
    was kept for. Lost or expired, the press is answered with MORE_GONE, never an error.
    """

    def __init__(
        self, bot_id: str = "", capacity: int = MORE_ANSWERS, seconds: int = MORE_SECONDS
    ) -> None:
        self.bot_id = bot_id
        self.capacity = capacity
        self.seconds = seconds
        self._memory: OrderedDict[str, tuple[float, int, tuple[str, ...]]] = OrderedDict()

    def _key(self, lock_store: Any, token: str) -> str:
        return f"{getattr(lock_store, 'key_prefix', '')}tg-more:{self.bot_id}:{token}"

    async def put(self, chat_id: int, chunks: Sequence[str], lock_store: Any = None) -> str:
        token = secrets.token_urlsafe(16)
        red = getattr(lock_store, "red", None)
        if red is not None:
            value = json.dumps({"chat": chat_id, "chunks": list(chunks)})
            try:
                key = self._key(lock_store, token)
                await asyncio.to_thread(red.set, key, value, ex=self.seconds)
                return token
            except Exception:
                logger.warning("Could not keep the rest of an answer in Redis", exc_info=True)
        self._memory[token] = (time.monotonic() + self.seconds, chat_id, tuple(chunks))
        while len(self._memory) > self.capacity:
            self._memory.popitem(last=False)
        return token

    async def get(self, chat_id: int, token: str, lock_store: Any = None) -> tuple[str, ...] | None:
        """The rest kept under `token` for `chat_id`, or None (expired, lost, another chat's)."""
        red = getattr(lock_store, "red", None)
        if red is not None:
            try:
                raw = await asyncio.to_thread(red.get, self._key(lock_store, token))
                kept = json.loads(raw) if raw else None
                if isinstance(kept, dict) and kept.get("chat") == chat_id:
                    chunks = kept.get("chunks")
                    if isinstance(chunks, list) and all(isinstance(c, str) for c in chunks):
                        return tuple(chunks)
            except Exception:
                logger.warning("Could not read the rest of an answer from Redis", exc_info=True)
        found = self._memory.get(token)
        if found is None or found[0] <= time.monotonic() or found[1] != chat_id:
            return None
        return found[2]


def button_title(markup: InlineKeyboardMarkup | None, data: str) -> str | None:
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            if button.callback_data == data:
                return button.text
    return None
