"""Telegram's `/language`: the user picks the language of the answers from an inline keyboard
(or types `/language fr`), and the choice goes with each of the chat's messages to Rasa as
metadata `language`, as the web chat's selector sends it; bot/language.py lets it win over
detection. "Automatic" (`auto`) takes the choice back.

Telegram sends no choice with a message, so the channel keeps it per chat: in Redis with the
lock store (replicas share it), else in this process, like the channel's other state
(bot/channels/telegram_buttons.py MoreStore). It is kept under the chat's pseudonym, never its
id, and /forget drops it with the conversation. The Telegram user's own `language_code` goes
with each message as `accept_language`, the first guess before anything is detected.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import i18n
from bot.language import AUTOMATIC  # "Automatic": the choice taken back, as on the web

logger = logging.getLogger(__name__)

LANGUAGE_MARKER = "lang:"  # callback data of a language button: the marker and the code
COMMAND = "/language"
# Said before anyone chose a language, so in each of them: short, and the same words a
# reader of any of the five recognises.
PROMPT = "🌐 Language · Langue · Sprache · Idioma · Lingua"
AUTOMATIC_TITLE = "🌐 Automatic · Auto"
CHOSEN_MARK = "✓ "
# What is delivered to Rasa once a language is chosen, with the choice as metadata: the
# greeting, so the user sees at once that the assistant now speaks it.
CHOSEN_PAYLOAD = "/greet"
# A choice is a preference, kept a year after it was made (Redis), or the last LANGUAGE_CHATS
# chats in this process.
LANGUAGE_SECONDS = 365 * 24 * 3600
LANGUAGE_CHATS = 100_000


def language_data(code: str) -> str:
    return f"{LANGUAGE_MARKER}{code}"


def is_language(data: str | None) -> bool:
    return data is not None and data.startswith(LANGUAGE_MARKER)


def chosen_language(value: str | None) -> str | None:
    """The choice that `value` (a button's data or `/language`'s argument: "lang:fr", "fr",
    "FR", "fr-CH", "auto") names: a supported code or AUTOMATIC; None for anything else."""
    raw = (value or "").removeprefix(LANGUAGE_MARKER).strip()
    if raw.lower() in (AUTOMATIC, "automatic"):
        return AUTOMATIC
    return i18n.supported(raw)


def language_keyboard(current: str | None = None) -> InlineKeyboardMarkup:
    """ "Automatic", then each language by its own name (data/languages.yml), one per row; the
    current choice is ticked."""
    options = [(AUTOMATIC, AUTOMATIC_TITLE)] + [
        (code, language.name) for code, language in i18n.languages().items()
    ]
    chosen = current or AUTOMATIC
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    f"{CHOSEN_MARK}{title}" if code == chosen else title,
                    callback_data=language_data(code),
                )
            ]
            for code, title in options
        ]
    )


def chosen_title(code: str) -> str:
    """What the press is answered with (a short notice on the user's screen)."""
    if code == AUTOMATIC:
        return f"{CHOSEN_MARK}{AUTOMATIC_TITLE}"
    language = i18n.languages().get(code)
    return f"{CHOSEN_MARK}{language.name if language else code}"


def message_metadata(chosen: str | None, user_language: Any) -> dict[str, Any] | None:
    """The metadata of a message to Rasa: the chat's choice, if any, as `language`, and the
    Telegram user's own language (`language_code`, "fr" or "pt-br") as `accept_language`."""
    metadata: dict[str, Any] = {}
    if chosen:
        metadata["language"] = chosen
    if isinstance(user_language, str) and user_language.strip():
        metadata["accept_language"] = user_language.strip()[:35]
    return metadata or None


class LanguageStore:
    """Each chat's language choice, by the chat's pseudonym (see the module docstring). If
    Redis fails, this process keeps it: answering in the detected language is the worst case.
    """

    def __init__(
        self, bot_id: str = "", capacity: int = LANGUAGE_CHATS, seconds: int = LANGUAGE_SECONDS
    ) -> None:
        self.bot_id = bot_id
        self.capacity = capacity
        self.seconds = seconds
        self._memory: OrderedDict[str, str] = OrderedDict()

    def _key(self, lock_store: Any, sender: str) -> str:
        return f"{getattr(lock_store, 'key_prefix', '')}tg-lang:{self.bot_id}:{sender}"

    async def get(self, sender: str, lock_store: Any = None) -> str | None:
        """The chat's choice (a code or AUTOMATIC), or None when it never chose."""
        red = getattr(lock_store, "red", None)
        if red is not None:
            try:
                raw = await asyncio.to_thread(red.get, self._key(lock_store, sender))
                if raw is not None:
                    found = raw.decode() if isinstance(raw, bytes) else str(raw)
                    return chosen_language(found)
            except Exception:
                logger.warning("Could not read a chat's language from Redis", exc_info=True)
        return self._memory.get(sender)

    async def put(self, sender: str, code: str, lock_store: Any = None) -> None:
        red = getattr(lock_store, "red", None)
        if red is not None:
            try:
                key = self._key(lock_store, sender)
                await asyncio.to_thread(red.set, key, code, ex=self.seconds)
                self._memory.pop(sender, None)
                return
            except Exception:
                logger.warning("Could not keep a chat's language in Redis", exc_info=True)
        self._memory[sender] = code
        self._memory.move_to_end(sender)
        while len(self._memory) > self.capacity:
            self._memory.popitem(last=False)

    async def forget(self, sender: str, lock_store: Any = None) -> None:
        """Drop the chat's choice (/forget)."""
        self._memory.pop(sender, None)
        red = getattr(lock_store, "red", None)
        if red is not None:
            try:
                await asyncio.to_thread(red.delete, self._key(lock_store, sender))
            except Exception:
                logger.warning("Could not drop a chat's language from Redis", exc_info=True)
