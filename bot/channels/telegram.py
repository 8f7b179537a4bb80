"""Telegram, in webhook mode, on python-telegram-bot 22.8.

Rasa's built-in telegram channel (aiogram 2.15) calls Telegram at start-up and checks no
secret; this one calls Telegram only to answer, and only accepts updates that carry the secret
token Telegram was given with `setWebhook`.

* `POST /webhooks/telegram/webhook`: 403 without the right `X-Telegram-Bot-Api-Secret-Token`,
  400 for malformed JSON, 413 over 64 KB, 200 (ignored) for update types we don't handle.
* Buttons become inline keyboards; a pressed button is answered and fed back as its payload.
* An answer (bot.channels.feedback) gets a 👍 / 👎 row; once pressed, the row is removed so the
  answer cannot be rated twice.
* Replies use HTML parse mode with everything escaped, split under Telegram's 4096 limit.
* `/start`, `/help`, `/privacy`, `/forget` (erases this chat's conversation).
* Conversations are stored under a keyed hash of the chat id, never the chat id itself.
* A patient-involvement plan offered to keep (an `involvement_plan` custom payload) is sent
  as its page, an HTML document (bot/plan_page.py); other custom payloads are not shown.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    MaybeInaccessibleMessage,
    Update,
)
from telegram.constants import MessageLimit, ParseMode
from telegram.error import TelegramError

from bot import plan_page
from bot.channels.feedback import FEEDBACK_EMOJI, THANKS, is_answer, is_feedback
from bot.channels.rest import (
    APOLOGY,
    MAX_MESSAGE_CHARS,
    BadRequest,
    error_response,
    parse_json_object,
)
from bot.privacy import PRIVACY_NOTICE, erase_conversation, pseudonym

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
CALLBACK_DATA_LIMIT = 64  # bytes, Telegram's limit for inline button data
TITLE_MARKER = "t:"  # callback data that stands for "use the button's own title"

# Commands map to what the user means, as Rasa payloads.
COMMAND_PAYLOADS = {"/start": "/greet", "/help": "/capabilities"}
FORGOTTEN = "Done: I've erased this conversation. Send me a message any time to start again."
TEXT_ONLY = "Sorry, I can only read text messages. Please type your question."
PLAN_CAPTION = "Your patient-involvement plan"


def split_message(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Split `text` into chunks whose HTML-escaped length stays within `limit`."""
    chunks, rest = [], text
    while len(html.escape(rest)) > limit:
        cut = limit
        while len(html.escape(rest[:cut])) > limit:
            cut -= 1
        # Prefer a paragraph, line or word boundary in the second half of the chunk.
        boundary = max(rest.rfind(sep, cut // 2, cut) for sep in ("\n\n", "\n", " "))
        cut = boundary if boundary > 0 else cut
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        chunks.append(rest)
    return chunks


def button_data(index: int, payload: str) -> str:
    """Inline buttons carry at most 64 bytes: longer payloads fall back to the title."""
    if len(payload.encode()) <= CALLBACK_DATA_LIMIT and not payload.startswith(TITLE_MARKER):
        return payload
    return f"{TITLE_MARKER}{index}"


# Side by side, under the answer's own buttons (one per row).
FEEDBACK_ROW = tuple(
    InlineKeyboardButton(emoji, callback_data=payload) for payload, emoji in FEEDBACK_EMOJI.items()
)


def reply_markup(text: str, buttons: Sequence[dict[str, Any]] = ()) -> InlineKeyboardMarkup | None:
    """The inline keyboard for a reply: its buttons, then the 👍 / 👎 row if it is an answer."""
    rows: list[Sequence[InlineKeyboardButton]] = [
        [InlineKeyboardButton(b["title"], callback_data=button_data(i, b["payload"]))]
        for i, b in enumerate(buttons)
    ]
    if is_answer(text):
        rows.append(FEEDBACK_ROW)
    return InlineKeyboardMarkup(rows) if rows else None


def without_feedback(markup: InlineKeyboardMarkup | None) -> InlineKeyboardMarkup | None:
    """The keyboard of a rated answer: its own buttons stay, the 👍 / 👎 row goes."""
    rows = [
        row
        for row in (markup.inline_keyboard if markup else ())
        if not any(is_feedback(button.callback_data) for button in row)
    ]
    return InlineKeyboardMarkup(rows) if rows else None


class TelegramOutput(OutputChannel):
    """Sends replies to one chat."""

    @classmethod
    def name(cls) -> str:
        return "telegram"

    def __init__(self, bot: Bot, chat_id: int) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.sent = 0

    async def _send(self, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        chunks = split_message(text) or [""]
        for position, chunk in enumerate(chunks):
            last = position == len(chunks) - 1
            await self.bot.send_message(
                chat_id=self.chat_id,
                text=html.escape(chunk, quote=False),
                parse_mode=ParseMode.HTML,
                reply_markup=markup if last else None,
            )
            self.sent += 1

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._send(text, reply_markup(text))

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self._send(text, reply_markup(text, buttons))

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._send(image)

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        """A plan offered to keep arrives as its page, a document; a payload that cannot be
        read is logged and skipped (the message's text has gone already). Other payloads are
        for other channels: Rasa's default would post them as raw JSON."""
        try:
            # Blocking: the guidance file and the partner database.
            plan = await asyncio.to_thread(plan_page.plan_from_custom, json_message)
        except plan_page.PlanRequestError as error:
            logger.warning("Skipped a plan payload that cannot be read: %s", error)
            return
        except Exception:
            logger.exception("Building the plan page for Telegram failed")
            return
        if plan is None:
            return
        document = InputFile(
            plan_page.plan_html(plan).encode("utf-8"),
            filename=plan_page.plan_filename(plan),
        )
        try:
            await self.bot.send_document(
                chat_id=self.chat_id, document=document, caption=PLAN_CAPTION
            )
        except TelegramError:
            logger.exception("Sending the plan page to Telegram failed")
            return
        self.sent += 1


class TelegramInput(InputChannel):
    """Configured from the environment; `bot run` enables it when TELEGRAM_TOKEN is set."""

    @classmethod
    def name(cls) -> str:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TelegramInput:
        credentials = credentials or {}
        token = credentials.get("token") or os.environ.get("TELEGRAM_TOKEN")
        secret = credentials.get("webhook_secret") or os.environ.get("TELEGRAM_WEBHOOK_SECRET")
        if not token or not secret:
            raise ValueError(
                "the Telegram channel needs TELEGRAM_TOKEN and TELEGRAM_WEBHOOK_SECRET"
            )
        api_url = (
            credentials.get("api_url")
            or os.environ.get("TELEGRAM_API_URL")
            or "https://api.telegram.org"
        )
        # The pseudonym key defaults to the webhook secret: both are ours and never leave us.
        key = os.environ.get("PSEUDONYM_SECRET") or secret
        return cls(token, secret, api_url, key)

    def __init__(self, token: str, webhook_secret: str, api_url: str, pseudonym_key: str) -> None:
        self.bot = make_bot(token, api_url)
        self.webhook_secret = webhook_secret
        self.pseudonym_key = pseudonym_key

    def sender_id(self, chat_id: int) -> str:
        return pseudonym("tg", chat_id, self.pseudonym_key)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("telegram_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            given = request.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(given.encode(), self.webhook_secret.encode()):
                return response.json({"error": "missing or wrong secret token"}, status=403)
            try:
                payload = parse_json_object(request.body or b"")
                if "update_id" not in payload:
                    raise BadRequest("not a Telegram update: no update_id")
                update = Update.de_json(payload, self.bot)
            except BadRequest as error:
                return error_response(error)
            except (ValueError, TypeError, KeyError, AttributeError) as error:
                return response.json({"error": f"not a Telegram update: {error}"}, status=400)
            try:
                await self.handle(update, on_new_message)
            except TelegramError:
                # Telegram retries updates that fail; a reply we couldn't send is logged instead.
                logger.exception("Sending a reply to Telegram failed")
            return response.json({"status": "ok"})

        return webhook

    async def handle(
        self, update: Update, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        """Turn one update into at most one user message; ignore what we don't handle."""
        if update.callback_query is not None:
            query = update.callback_query
            rating = is_feedback(query.data)
            # Answered first: Telegram shows a spinner on the button until then.
            await self.bot.answer_callback_query(query.id, text=THANKS if rating else None)
            if query.message is None or query.data is None:
                return
            text = query.data
            if text.startswith(TITLE_MARKER):
                text = _button_title(query.message.reply_markup, text) or ""
            if rating:
                await self._remove_feedback_row(query.message)
            await self._deliver(query.message.chat.id, text, on_new_message)
            return

        message = update.message  # edited messages, channel posts, polls… are ignored
        if message is None:
            return
        chat_id = message.chat.id
        out = TelegramOutput(self.bot, chat_id)
        text = (message.text or message.caption or "").strip()
        if not text:
            await out.send_text_message(self.sender_id(chat_id), TEXT_ONLY)
            return
        command = text.split()[0].split("@")[0].lower() if text.startswith("/") else None
        if command == "/privacy":
            await out.send_text_message(self.sender_id(chat_id), PRIVACY_NOTICE)
            return
        if command == "/forget":
            erase_conversation(self.sender_id(chat_id))
            await out.send_text_message(self.sender_id(chat_id), FORGOTTEN)
            return
        if command in COMMAND_PAYLOADS:
            text = COMMAND_PAYLOADS[command]
        await self._deliver(chat_id, text, on_new_message)

    async def _remove_feedback_row(self, message: MaybeInaccessibleMessage) -> None:
        """Take 👍 / 👎 off a rated answer, so it cannot be rated twice. The rating still counts
        if this fails (the message may be too old to edit)."""
        try:
            await self.bot.edit_message_reply_markup(
                chat_id=message.chat.id,
                message_id=message.message_id,
                reply_markup=without_feedback(getattr(message, "reply_markup", None)),
            )
        except TelegramError:
            logger.warning("Could not remove the feedback buttons from a rated answer")

    async def _deliver(
        self, chat_id: int, text: str, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        if not text:
            return
        out = TelegramOutput(self.bot, chat_id)
        sender = self.sender_id(chat_id)
        try:
            await on_new_message(
                UserMessage(text[:MAX_MESSAGE_CHARS], out, sender, input_channel=self.name())
            )
        except Exception:
            logger.exception("Handling a telegram message failed")
        if out.sent == 0:
            logger.error("No reply for a telegram message from %s", sender)
            await out.send_text_message(sender, APOLOGY)


def _button_title(markup: InlineKeyboardMarkup | None, data: str) -> str | None:
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            if button.callback_data == data:
                return button.text
    return None


def make_bot(token: str, api_url: str) -> Bot:
    """A Bot talking to `api_url` (a fake Bot API server in tests); calls go to
    `<api_url>/bot<token>/<method>`."""
    api_url = api_url.rstrip("/")
    return Bot(token, base_url=f"{api_url}/bot", base_file_url=f"{api_url}/file/bot")
