"""The language an action answers in: the conversation's (bot/language.py)."""

from __future__ import annotations

from rasa_sdk import Tracker

from bot import i18n
from bot.language import conversation_language


def language_of(tracker: Tracker) -> str:
    """The conversation's language: the user's explicit choice, else the latest message
    whose language was clear, else the browser's, else the default (English)."""
    return conversation_language(tracker.events, default=i18n.default_language())


def is_english(language: str | None) -> bool:
    """Whether `language` is the source language, whose texts stay as the code writes them."""
    return i18n.supported(language) in (None, i18n.SOURCE)
