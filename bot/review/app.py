"""The staff review web app: the route table, the middleware and the state every request
shares.

Every page goes through bot.review.context.guarded (session, role, CSRF; the page in a worker
thread), set here per route with `page()`: the access rules of the whole app can be read in
the table below. The pages are in bot.review.pages, one module per page; the data they show
comes from bot.tracker_db, except the Events and Partners pages', which read and change the
assistant's own database (DATABASE_URL) through bot.curation.
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot.model_rollout import MODEL_SERVER_PATH
from bot.review.config import ReviewSettings
from bot.review.context import CSRF_FIELD, ReviewState, page
from bot.review.middleware import ClientAddress, SecurityHeaders
from bot.review.model_server import live_model_archive
from bot.review.nlu import NluInbox
from bot.review.pages import (
    conversation,
    corrections,
    dashboard,
    event_upload,
    events,
    handoffs,
    inbox,
    login,
    models,
    nlu,
    partners,
    staff,
)
from bot.review.rendering import template_environment
from bot.tracker_db.engine import get_engine
from bot.tracker_db.store import ConversationStore

# Imported by the tests that post forms; every form of the app carries the token in it.
__all__ = ["CSRF_FIELD", "SESSION_COOKIE", "create_app"]

STATIC = Path(__file__).resolve().parent / "static"
SESSION_COOKIE = "review_session"


async def health(_: Request) -> Response:
    # For `bot run` to know the app is up; says nothing about the data.
    return PlainTextResponse("ok")


async def http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    state: ReviewState = request.app.state.review
    # Messages from a redirect that ended here (e.g. "that conversation does not exist").
    flashes = request.session.pop("flash", []) if "session" in request.scope else []
    html = state.templates.get_template("error.html").render(
        request=request,
        staff=None,
        csrf_token="",
        flashes=flashes,
        status=error.status_code,
        message=error.detail,
    )
    return HTMLResponse(html, status_code=error.status_code, headers=error.headers)


def routes() -> list[Route | Mount]:
    """Every URL of the app, with who may use it (default: any logged-in staff member)."""
    post = ("POST",)
    return [
        Route("/health", health, methods=["GET"]),
        # For the Rasa servers, with MODEL_SERVER_TOKEN; never a staff session.
        Route(MODEL_SERVER_PATH, live_model_archive, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        page("/login", login.login_form, anonymous=True),
        page("/login", login.login, post, anonymous=True),
        page("/logout", login.logout, post),
        page("/", inbox.inbox),
        page("/export.csv", inbox.export_csv),
        page("/export.json", inbox.export_json),
        page("/conversation", conversation.conversation),
        page("/conversation/status", conversation.conversation_status, post),
        page("/conversation/tags/add", conversation.conversation_tag_add, post),
        page("/conversation/tags/remove", conversation.conversation_tag_remove, post),
        page("/conversation/notes", conversation.conversation_note, post),
        page("/conversation/flag", conversation.conversation_flag, post),
        page("/conversation/erase", conversation.conversation_erase, post, admin=True),
        page("/nlu", nlu.nlu_inbox),
        page("/nlu/label", nlu.nlu_label, post),
        page("/nlu/export.yml", nlu.nlu_export),
        page("/corrections", corrections.corrections_page),
        page("/corrections/undo", corrections.correction_undo, post),
        page("/handoffs", handoffs.handoffs),
        page("/dashboard", dashboard.dashboard),
        page("/events", events.events_list),
        page("/events/new", events.event_new_form),
        page("/events/new", events.event_new, post, editor=True),
        page("/events/edit", events.event_edit_form),
        page("/events/edit", events.event_edit, post, editor=True),
        page("/events/retire", events.event_retire, post, editor=True),
        page("/events/restore", events.event_restore, post, editor=True),
        page("/events/history", events.event_history),
        page("/events/upload", event_upload.upload_form),
        page("/events/upload", event_upload.upload_preview, post, editor=True),
        page("/events/upload/apply", event_upload.upload_apply, post, editor=True),
        page("/partners", partners.partners_list),
        page("/partners/new", partners.partner_new_form),
        page("/partners/new", partners.partner_new, post, editor=True),
        page("/partners/edit", partners.partner_edit_form),
        page("/partners/edit", partners.partner_edit, post, editor=True),
        page("/partners/retire", partners.partner_retire, post, editor=True),
        page("/partners/restore", partners.partner_restore, post, editor=True),
        page("/partners/history", partners.partner_history),
        # Training and deploying models (bot/review/pages/models.py).
        page("/models", models.models_page, editor=True),
        page("/models/train", models.models_train, post, editor=True),
        page("/models/rollback", models.models_rollback, post, editor=True),
        page("/staff", staff.staff_page, admin=True),
        page("/staff/add", staff.staff_add, post, admin=True),
        page("/staff/remove", staff.staff_remove, post, admin=True),
    ]


def create_app(settings: ReviewSettings | None = None) -> Starlette:
    """The review app for `settings` (default: from the environment)."""
    settings = settings or ReviewSettings.from_env()
    engine = get_engine(settings.database_url)
    app = Starlette(
        routes=routes(),
        middleware=[
            Middleware(ClientAddress),
            Middleware(SecurityHeaders),
            Middleware(
                SessionMiddleware,
                secret_key=settings.secret_key,
                session_cookie=SESSION_COOKIE,
                max_age=settings.session_hours * 3600,
                same_site="lax",
                https_only=settings.secure_cookies,
            ),
        ],
        exception_handlers={HTTPException: http_error},
        max_body_size=1_000_000,
    )
    app.state.review = ReviewState(
        settings=settings,
        engine=engine,
        store=ConversationStore(engine, settings.low_confidence),
        nlu=NluInbox(engine, settings.low_confidence),
        templates=template_environment(),
    )
    return app
