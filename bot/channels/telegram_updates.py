"""Reading Telegram's updates, and the Bot that answers them (bot/channels/telegram.py).

An update is checked here before the channel uses it: python-telegram-bot builds objects from
whatever types it is given, and an update comes from the network.
"""

from __future__ import annotations

from typing import Any

from telegram import Bot, InlineKeyboardMarkup, Update

from bot.channels.rest import BadRequest, check_text


def parse_update(payload: dict[str, Any], bot: Bot) -> Update:
    """The update in `payload`, or `BadRequest` when it is not one we can read: checked here,
    because python-telegram-bot builds objects from whatever types it is given."""
    update_id = payload.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        raise BadRequest("not a Telegram update: no integer update_id")
    check_text(payload, "the update")
    try:
        update = Update.de_json(payload, bot)
    except Exception as error:  # untrusted input: whatever it raises, the update is bad
        raise BadRequest(f"not a Telegram update: {type(error).__name__}: {error}"[:200]) from error
    if update is None:
        raise BadRequest("not a Telegram update")
    message = update.message
    if message is not None:
        _check_chat(message)
        for name in ("text", "caption"):
            if not isinstance(getattr(message, name), str | None):
                raise BadRequest(f"not a Telegram update: message.{name} is not a string")
    query = update.callback_query
    if query is not None:
        if not isinstance(query.id, str) or not isinstance(query.data, str | None):
            raise BadRequest("not a Telegram update: callback_query.id or .data is not a string")
        if query.message is not None:
            _check_chat(query.message)
            if not isinstance(
                getattr(query.message, "reply_markup", None), InlineKeyboardMarkup | None
            ):
                raise BadRequest("not a Telegram update: reply_markup is not a keyboard")
    return update


def _check_chat(message: Any) -> None:
    chat_id = getattr(getattr(message, "chat", None), "id", None)
    if not isinstance(chat_id, int) or isinstance(chat_id, bool):
        raise BadRequest("not a Telegram update: chat.id is not an integer")


def make_bot(token: str, api_url: str) -> Bot:
    """A Bot talking to `api_url` (a fake Bot API server in tests); calls go to
    `<api_url>/bot<token>/<method>`."""
    api_url = api_url.rstrip("/")
    return Bot(token, base_url=f"{api_url}/bot", base_file_url=f"{api_url}/file/bot")
