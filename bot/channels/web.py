"""The web chat: a page served by the Rasa server itself, same origin, no CORS needed.

* `GET /webhooks/web/` — the page; `GET /webhooks/web/static/embed.js` — a one-line snippet
  that shows it as a chat bubble on another site;
* `POST /webhooks/web/webhook` — the validated REST protocol under the channel name "web", so
  staff can tell web conversations from API ones;
* `GET /webhooks/web/history?sender=…` — the transcript, so a reload keeps the conversation;
  `GET /webhooks/web/transcript?sender=…` — the same as a text file to keep ("Download the
  conversation");
* `GET /webhooks/web/welcome?language=<code>` — the greeting and the questions to start with
  (data/welcome.yml, bot/welcome.py), shown when a conversation opens, in the language the
  page chose, else the browser's (Accept-Language), else the default (`welcome_language`);
* `POST /webhooks/web/forget` — erase this conversation; `GET /webhooks/web/privacy`;
* `GET /webhooks/web/plan?<situation>&made=<date>` — a patient-involvement plan as a page to
  keep (bot/plan_page.py), linked under the message that offers it;
* `GET /webhooks/web/events.ics` — the upcoming events as a calendar to subscribe to, and
  `GET /webhooks/web/events/<slug>.ics` — one of them to add ("Add to calendar" under an
  events answer), both built by bot/ical.py from the database at each request;
* `GET /webhooks/web/version` — `{"model": "<id>"}`, the registry id of the model this server
  runs (bot/model_store.py; bot/rasa_ext/model_pulling.py), so anyone can tell which model
  answers after a deployment; nothing else;
* `GET /webhooks/web/languages` — the languages the assistant answers in, for the page's
  selector (data/languages.yml, read by bot/i18n.py).

Each message posted to the webhook carries, as metadata, the language the user chose in the
page's selector (`language`: a code of data/languages.yml, or "auto" to go back to
detection; anything else is dropped) and the browser's `Accept-Language` header
(`accept_language`, read here, not from the page), which bot/language.py takes as the first
guess of the conversation's language.

Every bot message the page gets (webhook reply and history) carries `rich`: its text read
into a lead, "more", lists, labelled links and event or partner cards (bot/presentation.py),
which the page renders; `text` stays exactly what Rasa said. A message that is only a custom
payload (the cards of the answer before it) is merged into that answer, so one message
carries its cards. The REST channel (bot/channels/rest.py) answers as Rasa's does.

The sender id is a random UUID the page keeps in localStorage: whoever holds it holds the
conversation, like a session cookie.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import html
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.exc import SQLAlchemyError

from bot import dates, i18n, ical, welcome
from bot.channels.rest import (
    BAD_SENDER_CHARS,
    MAX_SENDER_CHARS,
    BadRequest,
    IncomingMessage,
    RestInput,
    error_response,
    parse_json_object,
    read_body,
)
from bot.channels.web_messages import transcript, transcript_text, web_replies, with_rich
from bot.language import AUTOMATIC, accept_language
from bot.model_rollout import model_id_of
from bot.plan_page import (
    PlanRequestError,
    plan_filename,
    plan_from_payload,
    plan_html,
)
from bot.privacy import PRIVACY_NOTICE, erase_conversation_locked
from bot.settings import current
from bot.tracker_db.erasure import ErasureError

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent.parent / "web" / "static"

# Every page of the channel: no content sniffing, no Referer to the sites it links to.
BASE_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

# The plan page has its own inline style and no script: nothing else may load or run in it.
PLAN_SECURITY_HEADERS = {
    **BASE_SECURITY_HEADERS,
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
    ),
}
# What a shared cache or the browser's disk must not keep: a transcript, a plan, an erasure.
NOT_STORED = {"Cache-Control": "no-store"}

# A calendar file is data, never a page: nothing in it may load or run if a browser shows it.
# It is public, but asked again each time (no-cache), so a change staff make shows at once.
CALENDAR_HEADERS = {
    **BASE_SECURITY_HEADERS,
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; sandbox",
    "Cache-Control": "no-cache",
}
CALENDAR_TYPE = "text/calendar; charset=utf-8"
FEED_FILENAME = "ecrin-events.ics"
# The feed's length: a year of announced events is far fewer.
FEED_LIMIT = 100


def page_security_headers(ancestors: str) -> dict[str, str]:
    """Headers of the chat page and the privacy page. The page loads nothing from elsewhere,
    and a strict policy keeps it that way; only `ancestors` (WEB_FRAME_ANCESTORS, checked by
    bot.settings) may show it in a frame."""
    return {
        **BASE_SECURITY_HEADERS,
        "Content-Security-Policy": (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self'; frame-ancestors {ancestors}; base-uri 'none'; "
            "form-action 'none'"
        ),
    }


def not_stored(
    handler: Callable[..., Awaitable[HTTPResponse]],
) -> Callable[..., Awaitable[HTTPResponse]]:
    """Marks every answer of `handler`, errors and 429s included, `Cache-Control: no-store`:
    a conversation or a plan left in a shared computer's cache is readable by the next user."""

    @functools.wraps(handler)
    async def answer(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
        reply = await handler(request, *args, **kwargs)
        reply.headers.update(NOT_STORED)
        return reply

    return answer


PLAN_UNAVAILABLE = "the plan page is unavailable right now; please try again in a moment"
EVENTS_UNAVAILABLE = "The events calendar is unavailable right now; please try again in a moment."
NO_SUCH_EVENT = "No such event: it may have been removed, or its date has passed."
BAD_EVENT_ADDRESS = "Not an event's address: expected events/<event>.ics."
FORGET_FAILED = "the conversation was not erased: please try again in a moment"
WELCOME_UNAVAILABLE = "the welcome is unavailable right now"
LANGUAGES_UNAVAILABLE = "the list of languages is unavailable right now"
TRANSCRIPT_TYPE = "text/plain; charset=utf-8"


# An Accept-Language header is a few tags; anything longer is cut (it is stored with each
# message).
MAX_ACCEPT_LANGUAGE_CHARS = 200


def languages_json() -> dict[str, Any]:
    """What the page's language selector offers: each language by its own name, in the
    order of data/languages.yml, and the default (the page adds "Automatic" first)."""
    return {
        "default": i18n.default_language(),
        "automatic": AUTOMATIC,
        "languages": [
            {"code": language.code, "name": language.name} for language in i18n.languages().values()
        ],
    }


def welcome_language(chosen: str | None, header: str | None) -> str:
    """The language of the welcome a page asks for: `chosen` (its `?language=`) if the
    assistant speaks it, else the browser's Accept-Language `header`, else the default.
    Anything else ("auto", a language since removed, garbage) is ignored, as a message's
    `language` is: the page still gets a welcome, never an error."""
    header = (header or "")[:MAX_ACCEPT_LANGUAGE_CHARS]
    return i18n.supported(chosen) or accept_language(header) or i18n.default_language()


def language_metadata(
    metadata: dict[str, Any] | None, accept_language: str | None
) -> dict[str, Any] | None:
    """The message's metadata with the chosen `language` checked (a supported code, its
    region dropped: "fr-CH" → "fr"; or AUTOMATIC; anything else removed, so an old page or a
    hand-made request cannot store a language the assistant does not speak) and
    `accept_language` set from the request's header, which the server reads itself."""
    kept = dict(metadata or {})
    chosen = kept.pop("language", None)
    if isinstance(chosen, str):
        code = AUTOMATIC if chosen.strip().lower() == AUTOMATIC else i18n.supported(chosen)
        if code:
            kept["language"] = code
    header = (accept_language or "").strip()[:MAX_ACCEPT_LANGUAGE_CHARS]
    if header:
        kept["accept_language"] = header
    elif not isinstance(kept.get("accept_language"), str):
        kept.pop("accept_language", None)
    else:
        kept["accept_language"] = kept["accept_language"][:MAX_ACCEPT_LANGUAGE_CHARS]
    return kept or None


class WebChatInput(RestInput):
    """Configure as `bot.channels.web.WebChatInput` in credentials.yml."""

    @classmethod
    def name(cls) -> str:
        return "web"

    def with_request_metadata(self, request: Request, message: IncomingMessage) -> IncomingMessage:
        """The page's language choice checked, and the browser's Accept-Language added."""
        metadata = language_metadata(message.metadata, request.headers.get("accept-language"))
        return IncomingMessage(message.sender, message.text, metadata)

    def shape_replies(self, replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each answer with its cards, and `rich` for the page (see the module docstring)."""
        return web_replies(replies)

    async def conversation_events(self, request: Request) -> list[Any] | HTTPResponse:
        """The stored events of the conversation `?sender=` names (history, transcript), or
        the response that refuses the request: over the rate limit, or a malformed sender."""
        limited = await self.over_limit(request)
        if limited is not None:
            return limited
        try:
            sender = _sender(request.args.get("sender"))
        except BadRequest as error:
            return error_response(error)
        return await _web_events(request, sender)

    def add_routes(
        self,
        webhook: Blueprint,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> None:
        super().add_routes(webhook, on_new_message)
        # Which sites may show the chat page in a frame (embed.js): unset, any site, which suits
        # `make run`; a deployment should name its own, or a hostile page can frame the chat
        # and trick users into typing into it (clickjacking). Read once, as the server
        # starts: a bad value stops it there, with the reason.
        page_headers = page_security_headers(current().web.frame_ancestors)

        @webhook.route("/", methods=["GET"])
        async def page(_: Request) -> HTTPResponse:
            return await response.file(
                STATIC_DIR / "index.html", headers=page_headers, mime_type="text/html"
            )

        @webhook.route("/privacy", methods=["GET"])
        async def privacy(_: Request) -> HTTPResponse:
            return response.html(privacy_page(), headers=page_headers)

        @webhook.route("/history", methods=["GET"])
        @not_stored
        async def history(request: Request) -> HTTPResponse:
            events = await self.conversation_events(request)
            if isinstance(events, HTTPResponse):
                return events
            return response.json(with_rich(transcript(events)))

        @webhook.route("/transcript", methods=["GET"])
        @not_stored
        async def transcript_file(request: Request) -> HTTPResponse:
            events = await self.conversation_events(request)
            if isinstance(events, HTTPResponse):
                return events
            today = dates.today()
            headers = {
                **BASE_SECURITY_HEADERS,
                "Content-Disposition": (
                    f'attachment; filename="ecrin-conversation-{today.isoformat()}.txt"'
                ),
            }
            return response.text(
                transcript_text(transcript(events), today),
                headers=headers,
                content_type=TRANSCRIPT_TYPE,
            )

        @webhook.route("/welcome", methods=["GET"])
        async def welcome_message(request: Request) -> HTTPResponse:
            limited = await self.over_limit(request)
            if limited is not None:
                return limited
            language = welcome_language(
                request.args.get("language"), request.headers.get("accept-language")
            )
            # Staff edit the file: asked again each time (no-cache), as the calendar is. The
            # answer depends on the browser's languages, so a cache must key on them too.
            headers = {
                **BASE_SECURITY_HEADERS,
                "Cache-Control": "no-cache",
                "Vary": "Accept-Language",
                "Content-Language": language,
            }
            try:
                shown = await asyncio.to_thread(welcome.welcome_in, language)
            except welcome.WelcomeError:  # logged by bot.welcome, with the reason
                return response.json({"error": WELCOME_UNAVAILABLE}, status=503, headers=headers)
            return response.json(shown.as_json(), headers=headers)

        @webhook.route("/languages", methods=["GET"])
        async def language_list(request: Request) -> HTTPResponse:
            limited = await self.over_limit(request)
            if limited is not None:
                return limited
            # Adding a language is a change to data/languages.yml: asked again each time.
            headers = {**BASE_SECURITY_HEADERS, "Cache-Control": "no-cache"}
            try:
                offered = await asyncio.to_thread(languages_json)
            except (OSError, ValueError, KeyError, TypeError):
                logger.exception("Reading data/languages.yml for the web chat failed")
                return response.json({"error": LANGUAGES_UNAVAILABLE}, status=503, headers=headers)
            return response.json(offered, headers=headers)

        @webhook.route("/forget", methods=["POST"], stream=True)
        @not_stored
        async def forget(request: Request) -> HTTPResponse:
            limited = await self.over_limit(request)
            if limited is not None:
                return limited
            try:
                sender = _sender(parse_json_object(await read_body(request)).get("sender"))
            except BadRequest as error:
                return error_response(error)
            agent = request.app.ctx.agent

            async def held_on_the_web() -> bool:
                return bool(await _web_events(request, sender))

            try:
                # Under the conversation's lock: a message arriving meanwhile waits, and
                # cannot save the erased turns back (bot.privacy.erase_conversation_locked).
                erased = await erase_conversation_locked(
                    sender, agent.lock_store, check=held_on_the_web
                )
            except ErasureError as error:
                logger.error("Forget me failed for a web conversation: %s", error)
                return response.json(
                    {"error": f"{FORGET_FAILED} ({error.reason})"},
                    status=503,
                    headers={"Retry-After": "30"},
                )
            return response.json({"erased_events": erased})

        @webhook.route("/version", methods=["GET"])
        @not_stored
        async def version(request: Request) -> HTTPResponse:
            limited = await self.over_limit(request)
            if limited is not None:
                return limited
            return model_version(request.app.ctx.agent)

        @webhook.route("/plan", methods=["GET"])
        @not_stored
        async def plan(request: Request) -> HTTPResponse:
            limited = await self.over_limit(request)
            if limited is not None:
                return limited
            try:
                page, name = await asyncio.to_thread(
                    plan_page, request.query_string, request.args.get("made")
                )
            except PlanRequestError as error:
                return error_response(BadRequest(str(error)))
            except Exception:  # the guidance data cannot be read: ours to fix, logged
                logger.exception("Building a plan page failed")
                return response.json({"error": PLAN_UNAVAILABLE}, status=503)
            headers = {**PLAN_SECURITY_HEADERS, "Content-Disposition": f'inline; filename="{name}"'}
            return response.html(page, headers=headers)

        @webhook.route("/events.ics", methods=["GET"])
        async def events_feed(request: Request) -> HTTPResponse:
            limited = await self.over_limit(request)
            if limited is not None:
                return limited
            return await _calendar_reply(feed_file, FEED_FILENAME, "inline")

        @webhook.route("/events/<name:str>", methods=["GET"])
        async def event_file(request: Request, name: str) -> HTTPResponse:
            limited = await self.over_limit(request)
            if limited is not None:
                return limited
            slug = name.removesuffix(".ics")
            if not name.endswith(".ics") or not ical.SLUG_PATTERN.fullmatch(slug):
                return _plain(BAD_EVENT_ADDRESS, 400)
            return await _calendar_reply(
                functools.partial(single_event_file, slug), f"{slug}.ics", "attachment"
            )

        webhook.static("/static", str(STATIC_DIR), name="web_static")


def model_version(agent: Any) -> HTTPResponse:
    """`{"model": id}` and nothing else: the registry id the agent's fingerprint carries (the
    ETag of the model it pulled, or the id of the archive it started on); null for a model
    without one, and a 503 while no model is loaded (a new replica, or a model server that
    sent nothing yet to a server that had no model)."""
    loaded = getattr(agent, "processor", None) is not None
    model = model_id_of(getattr(agent, "fingerprint", None)) if loaded else None
    return response.json(
        {"model": model}, status=200 if loaded else 503, headers=BASE_SECURITY_HEADERS
    )


def feed_file() -> bytes:
    """The upcoming events' calendar (blocking: the database)."""
    from bot.db import session_scope
    from bot.events import upcoming_events

    now = dt.datetime.now(dt.timezone.utc)
    with session_scope() as session:
        return ical.calendar_feed(upcoming_events(session, dates.today(), FEED_LIMIT), now)


def single_event_file(slug: str) -> bytes | None:
    """One live event's file, a recurring one on its next date; None when there is no such
    event, or it has no date to add (blocking: the database)."""
    from bot.db import session_scope
    from bot.events import event_by_slug

    with session_scope() as session:
        event = event_by_slug(session, slug, dates.today())
        if event is None or event.starts_at is None:
            return None
        return ical.single_event(event)


async def _calendar_reply(
    build: Callable[[], bytes | None], filename: str, disposition: str
) -> HTTPResponse:
    """`build()`'s calendar, run off the event loop; a 404 for nothing to serve and a 503,
    logged, when the database cannot be read (the file is then unknown, not missing)."""
    try:
        body = await asyncio.to_thread(build)
    except SQLAlchemyError as error:
        logger.error("The events calendar could not read the database: %s", error)
        return _plain(EVENTS_UNAVAILABLE, 503, {"Retry-After": "30"})
    except Exception:  # the data cannot be read (a bad stored rule): ours to fix, logged
        logger.exception("Building an events calendar failed")
        return _plain(EVENTS_UNAVAILABLE, 503, {"Retry-After": "30"})
    if body is None:
        return _plain(NO_SUCH_EVENT, 404)
    headers = {**CALENDAR_HEADERS, "Content-Disposition": f'{disposition}; filename="{filename}"'}
    return response.raw(body, content_type=CALENDAR_TYPE, headers=headers)


def _plain(reason: str, status: int, headers: dict[str, str] | None = None) -> HTTPResponse:
    return response.text(
        reason, status=status, headers={**BASE_SECURITY_HEADERS, **NOT_STORED, **(headers or {})}
    )


def plan_page(query: str, made: str | None) -> tuple[str, str]:
    """The plan page for a plan link, and its file name (blocking: database and files)."""
    plan = plan_from_payload(query, made)
    return plan_html(plan), plan_filename(plan)


async def _web_events(request: Request, sender: str) -> list[Any]:
    """The conversation's events, but only for a conversation held on the web channel:
    other channels' ids (a REST client's "user1") must not be readable or erasable here."""
    from rasa.shared.core.events import UserUttered

    tracker = await request.app.ctx.agent.tracker_store.retrieve(sender)
    events = list(tracker.events) if tracker else []
    channels = {e.input_channel for e in events if isinstance(e, UserUttered)}
    return events if channels == {WebChatInput.name()} else []


def _sender(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_SENDER_CHARS:
        raise BadRequest(
            f'"sender" must be a non-empty string of at most {MAX_SENDER_CHARS} characters'
        )
    if BAD_SENDER_CHARS.search(value):
        raise BadRequest('"sender" contains control characters or lone surrogates')
    return value.strip()


def privacy_page() -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<title>Privacy — ECRIN assistant</title><link rel="stylesheet" href="static/chat.css">'
        '</head><body><main class="chat"><h1>Privacy</h1>'
        f"<p>{html.escape(PRIVACY_NOTICE)}</p>"
        '<p><a href="./">Back to the chat</a></p></main></body></html>'
    )
