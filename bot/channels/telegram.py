"""Telegram, in webhook mode, on python-telegram-bot 22.8.

Rasa's built-in telegram channel (aiogram 2.15) calls Telegram at start-up and checks no
secret; this one calls Telegram only to answer, and only accepts updates that carry the secret
token Telegram was given with `setWebhook`.

* `POST /webhooks/telegram/webhook`: 403 without the right `X-Telegram-Bot-Api-Secret-Token`,
  400 for malformed JSON or fields of the wrong type, 413 over 64 KB (from Content-Length,
  before reading), 415 for a non-JSON Content-Type, 200 (ignored) for update types we don't
  handle.
* Buttons become inline keyboards; a pressed button is answered and fed back as its payload.
* An answer (bot.feedback) gets a 👍 / 👎 row; once pressed, the row is removed so the
  answer cannot be rated twice.
* Every reply is presented (bot/presentation.py) and sent as Telegram HTML
  (bot/channels/telegram_format.py): labelled links, "• " lists, event and partner cards from
  the custom payload, split under Telegram's 4096 limit without cutting a tag. A long answer
  sends its lead with a "More" button; the rest waits (in Redis with the lock store, else in
  this process) for a day, and an expired "More" asks for the question again.
* `/start`, `/help`, `/privacy`, `/forget` (erases this chat's conversation under its lock;
  says so when the database did not erase it), `/language` (the answers' language, kept per
  chat and sent with each message as metadata: bot/channels/telegram_language.py).
* A redelivered update (same `update_id`) is acknowledged and not answered again.
* Conversations are stored under a keyed hash of the chat id, never the chat id itself.
* A patient-involvement plan offered to keep (an `involvement_plan` custom payload) is sent
  as its page, an HTML document (bot/plan_page.py); cards are shown as above; other custom
  payloads are not shown.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from telegram import (
    Bot,
    InlineKeyboardMarkup,
    InputFile,
    MaybeInaccessibleMessage,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot import plan_page, ratelimit
from bot.channels.rest import (
    APOLOGY,
    MAX_MESSAGE_CHARS,
    BadRequest,
    error_response,
    guard_framing,
    parse_json_object,
    read_body,
)
from bot.channels.telegram_buttons import (
    MORE_GONE,
    MORE_MARKER,
    TITLE_MARKER,
    MoreStore,
    button_title,
    is_more,
    reply_markup,
    without_feedback,
    without_more,
)
from bot.channels.telegram_format import Rendered, render
from bot.channels.telegram_language import (
    CHOSEN_PAYLOAD,
    COMMAND,
    PROMPT,
    LanguageStore,
    chosen_language,
    chosen_title,
    is_language,
    language_keyboard,
    message_metadata,
)
from bot.channels.telegram_updates import make_bot, parse_update
from bot.feedback import THANKS, is_feedback
from bot.presentation import Rich, cards_from, present
from bot.privacy import PRIVACY_NOTICE, erase_conversation_locked, pseudonym
from bot.settings import current
from bot.tracker_db.erasure import ErasureError, erase_conversation

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

# Commands map to what the user means, as Rasa payloads.
COMMAND_PAYLOADS = {"/start": "/greet", "/help": "/capabilities"}
FORGOTTEN = "Done: I've erased this conversation. Send me a message any time to start again."
FORGET_FAILED = (
    "Sorry, I couldn't erase this conversation right now: it is still stored. "
    "Please send /forget again in a few minutes."
)
# Telegram redelivers an update it thinks was not received: each update_id is answered once.
# Seen ids are kept this long in Redis (shared by replicas) or, without Redis, the last
# SEEN_UPDATES in this process.
SEEN_UPDATE_SECONDS = 24 * 3600
SEEN_UPDATES = 10_000
TEXT_ONLY = "Sorry, I can only read text messages. Please type your question."
PLAN_CAPTION = "Your patient-involvement plan"


class TelegramOutput(OutputChannel):
    """Sends replies to one chat."""

    @classmethod
    def name(cls) -> str:
        return "telegram"

    def __init__(
        self,
        bot: Bot,
        chat_id: int,
        more: MoreStore | None = None,
        lock_store: Any = None,
    ) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.more = more or MoreStore()
        self.lock_store = lock_store
        self.sent = 0

    async def send_chunks(
        self, chunks: Sequence[str], markup: InlineKeyboardMarkup | None = None
    ) -> None:
        """Telegram HTML messages, the keyboard under the last one."""
        for position, chunk in enumerate(chunks):
            last = position == len(chunks) - 1
            await self.bot.send_message(
                chat_id=self.chat_id,
                text=chunk,
                parse_mode=ParseMode.HTML,
                reply_markup=markup if last else None,
            )
            self.sent += 1

    async def send_rich(
        self,
        text: str,
        buttons: Sequence[dict[str, Any]] = (),
        custom: dict[str, Any] | None = None,
        rich: Rich | None = None,
    ) -> None:
        """`text` (and the cards of `custom`) presented: the lead now, with "More" when there
        is a rest (answers only, bot.presentation.present), its buttons and, for an answer,
        the feedback row."""
        rich = rich or present(text, custom)
        rendered: Rendered = render(rich)
        lead, rest = list(rendered.lead), rendered.more
        if not lead:
            if not buttons:
                return  # nothing a reader would see (Telegram refuses an empty message)
            lead = ["…"]
        token = await self.more.put(self.chat_id, rest, self.lock_store) if rest else None
        await self.send_chunks(lead, reply_markup(text, buttons, more=token))

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        """A message's text and its custom payload presented together, so cards replace the
        list they stand for; a plan offered to keep follows as its page."""
        message = dict(message)
        text = message.pop("text", None) or ""
        quick_replies, plain = message.pop("quick_replies", None), message.pop("buttons", None)
        buttons = quick_replies or plain or []
        custom = message.pop("custom", None)
        if text or buttons or cards_from(custom):
            await self.send_rich(text, buttons, custom)
        if custom:
            await self.send_plan(custom)
        await super().send_response(recipient_id, message)  # images, attachments, elements

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_rich(text)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        await self.send_rich(text, buttons)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self.send_rich(image)

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        """A payload without text: its cards, then its plan (see send_plan)."""
        cards = cards_from(json_message)
        if cards:
            await self.send_rich("", rich=Rich(lead=(), cards=cards))
        await self.send_plan(json_message)

    async def send_plan(self, json_message: dict[str, Any]) -> None:
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
        """credentials.yml's values, else the settings' (TELEGRAM_TOKEN…)."""
        credentials = credentials or {}
        telegram = current().telegram
        telegram = replace(
            telegram,
            token=credentials.get("token") or telegram.token,
            webhook_secret=credentials.get("webhook_secret") or telegram.webhook_secret,
            api_url=credentials.get("api_url") or telegram.api_url,
        )
        if not telegram.token or not telegram.webhook_secret:
            raise ValueError(
                "the Telegram channel needs TELEGRAM_TOKEN and TELEGRAM_WEBHOOK_SECRET"
            )
        # The pseudonym key is its own secret (bot.settings.Telegram.pseudonym_secret_problem);
        # only under tests may it fall back to the webhook secret.
        problem = telegram.pseudonym_secret_problem()
        if problem:
            raise ValueError(problem)
        return cls(
            telegram.token, telegram.webhook_secret, telegram.api_url, telegram.pseudonym_key
        )

    def __init__(self, token: str, webhook_secret: str, api_url: str, pseudonym_key: str) -> None:
        self.bot = make_bot(token, api_url)
        self.webhook_secret = webhook_secret
        self.pseudonym_key = pseudonym_key
        self.bot_id = token.split(":", 1)[0]
        self._seen: OrderedDict[int, None] = OrderedDict()
        self.more = MoreStore(self.bot_id)
        self.languages = LanguageStore(self.bot_id)
        self.limiter = ratelimit.limiter_from_env()

    def sender_id(self, chat_id: int) -> str:
        return pseudonym("tg", chat_id, self.pseudonym_key)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("telegram_webhook", __name__)
        guard_framing(webhook)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            given = request.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(given.encode(), self.webhook_secret.encode()):
                return response.json({"error": "missing or wrong secret token"}, status=403)
            try:  # the secret first: without it, not a byte of the body is read
                payload = parse_json_object(await read_body(request))
                update = parse_update(payload, self.bot)
            except BadRequest as error:
                return error_response(error)
            lock_store = getattr(getattr(request.app.ctx, "agent", None), "lock_store", None)
            if not await self.first_delivery(update.update_id, lock_store):
                logger.info("Ignored a redelivered Telegram update")
                return response.json({"status": "ok", "duplicate": True})
            try:
                await self.handle(update, on_new_message, lock_store)
            except TelegramError:
                # Telegram retries updates that fail; a reply we couldn't send is logged instead.
                logger.exception("Sending a reply to Telegram failed")
            return response.json({"status": "ok"})

        return webhook

    async def first_delivery(self, update_id: int, lock_store: Any = None) -> bool:
        """True the first time `update_id` arrives, False when Telegram redelivers it.

        With a Redis lock store (replicas), the ids are shared there (SET NX, expiring after a
        day); otherwise this process remembers the last SEEN_UPDATES. If Redis fails the
        update is handled: answering twice is better than not answering.
        """
        red = getattr(lock_store, "red", None)
        if red is not None:
            key = f"{getattr(lock_store, 'key_prefix', '')}tg-update:{self.bot_id}:{update_id}"
            try:
                stored = await asyncio.to_thread(red.set, key, "1", nx=True, ex=SEEN_UPDATE_SECONDS)
                return bool(stored)
            except Exception:
                logger.warning("Could not check a Telegram update id in Redis", exc_info=True)
        if update_id in self._seen:
            return False
        self._seen[update_id] = None
        while len(self._seen) > SEEN_UPDATES:
            self._seen.popitem(last=False)
        return True

    async def handle(
        self,
        update: Update,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        lock_store: Any = None,
    ) -> None:
        """Turn one update into at most one user message; ignore what we don't handle."""
        deliver = (on_new_message, lock_store)
        if update.callback_query is not None:
            query = update.callback_query
            rating, choice = is_feedback(query.data), None
            if is_language(query.data):
                choice = chosen_language(query.data)
            notice = THANKS if rating else (chosen_title(choice) if choice else None)
            # Answered first: Telegram shows a spinner on the button until then.
            await self.bot.answer_callback_query(query.id, text=notice)
            if query.message is None or query.data is None:
                return
            user_language = getattr(query.from_user, "language_code", None)
            if is_language(query.data):
                if choice:
                    await self._edit_markup(query.message, language_keyboard(choice))
                    await self._choose(query.message.chat.id, choice, user_language, *deliver)
                return
            if is_more(query.data):
                await self._send_more(query.message, query.data, lock_store)
                return
            text = query.data
            if text.startswith(TITLE_MARKER):
                text = button_title(query.message.reply_markup, text) or ""
            if rating:
                await self._remove_feedback_row(query.message)
            await self._deliver(query.message.chat.id, text, *deliver, user_language)
            return

        message = update.message  # edited messages, channel posts, polls… are ignored
        if message is None:
            return
        chat_id = message.chat.id
        out = TelegramOutput(self.bot, chat_id, self.more, lock_store)
        text = (message.text or message.caption or "").strip()
        if not text:
            await out.send_text_message(self.sender_id(chat_id), TEXT_ONLY)
            return
        command = text.split()[0].split("@")[0].lower() if text.startswith("/") else None
        if command == "/privacy":
            await out.send_text_message(self.sender_id(chat_id), PRIVACY_NOTICE)
            return
        user_language = getattr(message.from_user, "language_code", None)
        if command == COMMAND:
            choice = chosen_language(text.split(maxsplit=1)[1] if " " in text else "")
            if choice:
                return await self._choose(chat_id, choice, user_language, *deliver)
            current = await self.languages.get(self.sender_id(chat_id), lock_store)
            await out.send_chunks([PROMPT], language_keyboard(current))
            return
        if command == "/forget":
            sender = self.sender_id(chat_id)
            await self.languages.forget(sender, lock_store)
            try:
                if lock_store is None:
                    await asyncio.to_thread(erase_conversation, sender)
                else:  # under the conversation's lock, as Rasa handles messages
                    await erase_conversation_locked(sender, lock_store)
            except ErasureError as error:
                logger.error("Forget me failed for a Telegram conversation: %s", error)
                await out.send_text_message(sender, FORGET_FAILED)
                return
            await out.send_text_message(sender, FORGOTTEN)
            return
        if command in COMMAND_PAYLOADS:
            text = COMMAND_PAYLOADS[command]
        await self._deliver(chat_id, text, on_new_message, lock_store, user_language)

    async def _choose(
        self,
        chat_id: int,
        choice: str,
        user_language: str | None,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        lock_store: Any = None,
    ) -> None:
        """Keep the chat's language choice, and greet in it: the greeting carries the choice,
        so the conversation holds it (and the review app shows it) from that message on."""
        await self.languages.put(self.sender_id(chat_id), choice, lock_store)
        await self._deliver(chat_id, CHOSEN_PAYLOAD, on_new_message, lock_store, user_language)

    async def _send_more(
        self, message: MaybeInaccessibleMessage, data: str, lock_store: Any = None
    ) -> None:
        """The rest of a long answer, under the answer whose "More" was pressed, which then
        loses the button; answered here, not by Rasa (the conversation already holds the
        whole answer). Lost or expired: a polite "ask again"."""
        chat_id = message.chat.id
        out = TelegramOutput(self.bot, chat_id, self.more, lock_store)
        sender = self.sender_id(chat_id)
        if not await self._within_limit(sender):
            return
        rest = await self.more.get(chat_id, data.removeprefix(MORE_MARKER), lock_store)
        if not rest:
            await out.send_rich(MORE_GONE)
            return
        await out.send_chunks(rest)
        await self._edit_markup(message, without_more(getattr(message, "reply_markup", None)))

    async def _remove_feedback_row(self, message: MaybeInaccessibleMessage) -> None:
        """Take 👍 / 👎 off a rated answer, so it cannot be rated twice. The rating still counts
        if this fails (the message may be too old to edit)."""
        await self._edit_markup(message, without_feedback(getattr(message, "reply_markup", None)))

    async def _edit_markup(
        self, message: MaybeInaccessibleMessage, markup: InlineKeyboardMarkup | None
    ) -> None:
        try:
            await self.bot.edit_message_reply_markup(
                chat_id=message.chat.id, message_id=message.message_id, reply_markup=markup
            )
        except TelegramError:
            logger.warning("Could not take a pressed button off an answer")

    async def _deliver(
        self,
        chat_id: int,
        text: str,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        lock_store: Any = None,
        user_language: str | None = None,
    ) -> None:
        if not text:
            return
        out = TelegramOutput(self.bot, chat_id, self.more, lock_store)
        sender = self.sender_id(chat_id)
        if not await self._within_limit(sender):
            # Answered 200 (Telegram would only resend it), with one polite notice per window.
            if await self._check(ratelimit.TELEGRAM_NOTICE, sender):
                await out.send_text_message(sender, ratelimit.SLOW_DOWN)
            return
        chosen = await self.languages.get(sender, lock_store)
        try:
            await on_new_message(
                UserMessage(
                    text[:MAX_MESSAGE_CHARS],
                    out,
                    sender,
                    input_channel=self.name(),
                    metadata=message_metadata(chosen, user_language),
                )
            )
        except Exception:
            # What was already sent may not be stored: the apology asks for the message again.
            logger.exception("Handling a telegram message failed")
            await out.send_text_message(sender, APOLOGY)
            return
        if out.sent == 0:
            logger.error("No reply for a telegram message from %s", sender)
            await out.send_text_message(sender, APOLOGY)

    async def _check(self, scope: str, sender: str) -> bool:
        if isinstance(self.limiter.backend, ratelimit.MemoryBackend):
            return self.limiter.check(scope, sender).allowed
        return (await asyncio.to_thread(self.limiter.check, scope, sender)).allowed

    async def _within_limit(self, sender: str) -> bool:
        """Per chat (its pseudonym): Telegram's servers are the peer, so no per-address limit."""
        return await self._check(ratelimit.TELEGRAM_CHAT, sender)
