"""The review app's pages and form handlers.

Each view takes a `Context` (request, staff member, form, database) and returns a response;
`bot.review.app.guarded` has already checked the session, the role and the CSRF token.
Changes answer with a 303 redirect back to the page they came from (post/redirect/get), with
a one-line message shown there.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.responses import Response, StreamingResponse

from bot.privacy import erase_conversation
from bot.review import annotations, exports
from bot.review.accounts import (
    AccountError,
    LoginOutcome,
    add_staff,
    authenticate,
    list_staff,
    remove_staff,
)
from bot.review.app import Context
from bot.review.charts import daily_bars, horizontal_bars
from bot.review.conversations import CHANNELS, RATING_INTENTS, InboxFilters
from bot.review.nlu import VIEWS, LabelError, export_nlu, known_labels
from bot.review.schema import ROLES, STATUSES, TAG_COLOURS

DASHBOARD_RANGES = (7, 30, 90, 365)
FILTER_PARAMS = (
    "from",
    "to",
    "channel",
    "intent",
    "low_confidence",
    "fallback",
    "handoff",
    "rating",
    "stuck",
    "status",
    "tag",
    "q",
)


MAX_PAGE = 1_000_000


def _param(context: Context, name: str) -> str | None:
    """A query parameter given at most once (None when absent), or a 400 with the reason."""
    values = context.params.getlist(name)
    if len(values) > 1:
        raise HTTPException(
            400, f"The parameter {name} is given {len(values)} times: give it once."
        )
    return values[0] if values else None


def _choice(context: Context, name: str, allowed: tuple[str, ...], default: str) -> str:
    """A query parameter that must be one of `allowed` (absent: `default`), or a 400."""
    value = _param(context, name)
    if value is None:
        return default
    if value not in allowed:
        raise HTTPException(
            400, f"Unknown {name} {value[:40]!r}: expected one of {', '.join(allowed)}."
        )
    return value


def _page_number(context: Context) -> int:
    """`page=` as a whole number from 1 (absent: 1), or a 400; a page past the last one shows
    the last one."""
    raw = _param(context, "page")
    if raw is None:
        return 1
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw[:8]) <= MAX_PAGE:
        raise HTTPException(400, f"page must be a whole number from 1 to {MAX_PAGE}.")
    return int(raw)


def _filters(context: Context) -> InboxFilters:
    """The inbox filters of the query string, or a 400 naming each value that is wrong (an
    export that silently dropped a filter would hand out more conversations than asked)."""
    for name in FILTER_PARAMS:
        _param(context, name)
    filters, problems = InboxFilters.from_params(context.params)
    if problems:
        raise HTTPException(400, " ".join(problems))
    return filters


def _safe_next(target: str) -> str:
    """Only our own paths: never an absolute or protocol-relative URL (open redirect)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


# --- Logging in and out ------------------------------------------------------------------------


def login_form(context: Context) -> Response:
    if context.session.get("staff_id"):
        return context.redirect("/")
    return context.render("login.html", next=_safe_next(context.params.get("next", "/")), error="")


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def login(context: Context) -> Response:
    settings = context.state.settings
    username = context.field("username")
    target = _safe_next(context.field("next", "/"))
    client = context.request.client
    outcome, staff, retry_after = authenticate(
        context.engine,
        username,
        context.field("password"),
        ip=client.host if client else "unknown",
        max_failures=settings.max_login_failures,
        window_seconds=settings.login_window_seconds,
    )
    if outcome is LoginOutcome.THROTTLED:
        context.headers["Retry-After"] = str(retry_after)
        return context.render(
            "login.html",
            status_code=429,
            next=target,
            username=username,
            error=f"Too many failed attempts. Try again in {_duration(retry_after)}.",
        )
    if outcome is LoginOutcome.WRONG or staff is None:
        return context.render(
            "login.html",
            status_code=401,
            next=target,
            username=username,
            error="Wrong username or password.",
        )
    # A new session on login: nothing set before it (by anyone) survives into it.
    context.session.clear()
    context.session["staff_id"] = staff.id
    context.session["csrf"] = secrets.token_urlsafe(32)
    return context.redirect(target)


def logout(context: Context) -> Response:
    context.session.clear()
    return context.redirect("/login")


# --- Inbox and exports ---------------------------------------------------------------------------


def inbox(context: Context) -> Response:
    filters = _filters(context)
    page = context.state.store.inbox(
        filters, _page_number(context), context.state.settings.page_size
    )
    return context.render(
        "inbox.html",
        section="inbox",
        filters=filters,
        params=filters.to_params(),
        page=page,
        channels=CHANNELS,
        ratings=tuple(RATING_INTENTS),
        statuses=STATUSES,
        tags=context.state.store.all_tags(),
        labels=known_labels(context.state.settings.nlu_dir),
    )


def _export_name(extension: str) -> str:
    return f"conversations-{dt.date.today():%Y%m%d}.{extension}"


def export_csv(context: Context) -> Response:
    filters = _filters(context)
    summaries = context.state.store.matching(filters)
    return StreamingResponse(
        exports.conversations_csv(summaries),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_export_name("csv")}"'},
    )


def export_json(context: Context) -> Response:
    filters = _filters(context)
    return Response(
        exports.conversations_json(context.state.store, filters),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{_export_name("json")}"'},
    )


# --- One conversation ----------------------------------------------------------------------------


def conversation(context: Context) -> Response:
    sender_id = _param(context, "id") or ""
    found = context.state.store.conversation(sender_id) if sender_id else None
    if found is None:
        raise HTTPException(404, "No conversation with that id (it may have been erased).")
    return context.render(
        "conversation.html",
        section="inbox",
        conversation=found,
        sender_id=sender_id,
        statuses=STATUSES,
        colours=TAG_COLOURS,
        tags=context.state.store.all_tags(),
    )


def _back_to_conversation(context: Context) -> Response:
    return context.redirect("/conversation", id=context.field("id"))


def _annotate(context: Context, change: Callable[[], object], done: str) -> Response:
    try:
        change()
    except annotations.AnnotationError as error:
        context.flash(str(error), "error")
    else:
        context.flash(done)
    return _back_to_conversation(context)


def conversation_status(context: Context) -> Response:
    status = context.field("status")
    return _annotate(
        context,
        lambda: annotations.set_status(context.engine, context.field("id"), status, context.who),
        {"reviewed": "Marked as reviewed.", "saved": "Saved for later."}.get(
            status, "Marked as unread."
        ),
    )


def conversation_tag_add(context: Context) -> Response:
    return _annotate(
        context,
        lambda: annotations.add_tag(
            context.engine,
            context.field("id"),
            context.field("name"),
            context.field("colour", "grey"),
            context.who,
        ),
        "Tag added.",
    )


def conversation_tag_remove(context: Context) -> Response:
    tag_id = _integer(context.field("tag_id"))
    return _annotate(
        context,
        lambda: annotations.remove_tag(context.engine, context.field("id"), tag_id),
        "Tag removed.",
    )


def conversation_note(context: Context) -> Response:
    return _annotate(
        context,
        lambda: annotations.add_note(
            context.engine, context.field("id"), context.field("body"), context.who
        ),
        "Note added.",
    )


def conversation_flag(context: Context) -> Response:
    event_id = _integer(context.field("event_id"))
    try:
        flagged = annotations.toggle_flag(
            context.engine, context.field("id"), event_id, context.who
        )
    except annotations.AnnotationError as error:
        context.flash(str(error), "error")
    else:
        context.flash("Message flagged." if flagged else "Flag removed.")
    return _back_to_conversation(context)


def conversation_erase(context: Context) -> Response:
    sender_id = context.field("id")
    if context.field("confirm") != "yes":
        context.flash("Tick the box to confirm the erasure.", "error")
        return _back_to_conversation(context)
    deleted = erase_conversation(sender_id, context.state.settings.database_url)
    context.flash(f"Conversation erased ({deleted} stored events deleted).")
    return context.redirect("/")


# Row ids are the databases' 64-bit integers: a larger number is no row (and would make the
# driver fail rather than find nothing).
_LARGEST_ID = 2**63 - 1


def _integer(value: str) -> int:
    try:
        number = int(value)
    except ValueError as error:
        raise HTTPException(400, "Expected a number.") from error
    if abs(number) > _LARGEST_ID:
        raise HTTPException(400, "Expected a number.")
    return number


# --- NLU inbox -----------------------------------------------------------------------------------


def nlu_inbox(context: Context) -> Response:
    view = _choice(context, "view", VIEWS, "open")
    page = context.state.nlu.items(view, _page_number(context), context.state.settings.page_size)
    labels = known_labels(context.state.settings.nlu_dir)
    groups: dict[str, list[str]] = {}
    for label in labels:
        groups.setdefault(label.split("/")[0] if "/" in label else "intents", []).append(label)
    return context.render(
        "nlu.html",
        section="nlu",
        view=view,
        views=VIEWS,
        page=page,
        label_groups=groups,
        known_labels=set(labels),
    )


def nlu_label(context: Context) -> Response:
    event_id = _integer(context.field("event_id"))
    action = context.field("action")
    try:
        context.state.nlu.label(
            event_id,
            action,
            context.who,
            known_labels(context.state.settings.nlu_dir),
            context.field("label"),
        )
    except LabelError as error:
        context.flash(str(error), "error")
    else:
        context.flash(
            {
                "correct": "Marked as correct.",
                "relabel": f"Relabelled as {context.field('label').strip()}.",
                "dismiss": "Dismissed.",
                "reopen": "Back in the open list.",
            }.get(action, "Saved.")
        )
    return context.redirect(
        "/nlu", view=context.field("view", "open"), page=context.field("page", "1")
    )


def nlu_export(context: Context) -> Response:
    exported = export_nlu(context.engine, context.state.settings.nlu_dir)
    return Response(
        exported.yaml,
        media_type="application/x-yaml; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="nlu-review-{dt.date.today():%Y%m%d}.yml"'
        },
    )


# --- Hand-offs and dashboard ---------------------------------------------------------------------


def handoffs(context: Context) -> Response:
    status = _choice(context, "status", ("", *STATUSES), "")
    page = context.state.store.handoffs(
        status, _page_number(context), context.state.settings.page_size
    )
    return context.render(
        "handoffs.html", section="handoffs", page=page, status=status, statuses=STATUSES
    )


def dashboard(context: Context) -> Response:
    ranges = tuple(str(days) for days in DASHBOARD_RANGES)
    days = int(_choice(context, "days", ranges, "30"))
    numbers = context.state.store.dashboard(days)
    charts = {
        "conversations": daily_bars("New conversations per day", numbers.conversations_per_day),
        "messages": daily_bars("User messages per day", numbers.messages_per_day),
        "fallback": daily_bars(
            "Share of messages that fell back, per day",
            numbers.fallback_rate_per_day,
            percent=True,
            colour="#b5542f",
        ),
        "handoffs": daily_bars(
            "Requests for a person per day", numbers.handoffs_per_day, colour="#6b4fa0"
        ),
        "satisfaction": daily_bars(
            "Share of ratings that were helpful, per day (days without ratings have no bar)",
            numbers.satisfaction_per_day,
            percent=True,
            colour="#2e7d32",
            top=1.0,
            no_data="No ratings in this period.",
        ),
        "intents": horizontal_bars("Most frequent intents", numbers.top_intents),
        "plans_by_stage": horizontal_bars(
            "Involvement plans by research stage", numbers.plans.by_stage, empty="No plans yet."
        ),
        "plans_by_situation": horizontal_bars(
            "Involvement plans by kind of study and population",
            numbers.plans.by_situation,
            empty="No plans yet.",
            label_width=420,  # "Trial of a medicine · Rare disease + Children and young people"
        ),
    }
    return context.render(
        "dashboard.html",
        section="dashboard",
        numbers=numbers,
        charts=charts,
        days=days,
        ranges=DASHBOARD_RANGES,
    )


# --- Staff (administrators) ----------------------------------------------------------------------


def staff_page(context: Context) -> Response:
    return context.render(
        "staff.html", section="staff", members=list_staff(context.engine), roles=ROLES
    )


def staff_add(context: Context) -> Response:
    password = context.field("password")
    if password != context.field("password_again"):
        context.flash("The two passwords differ.", "error")
        return context.redirect("/staff")
    try:
        added = add_staff(
            context.engine, context.field("username"), password, context.field("role", "reviewer")
        )
    except AccountError as error:
        context.flash(str(error), "error")
    else:
        context.flash(f"Account {added.username} ({added.role}) created.")
    return context.redirect("/staff")


def staff_remove(context: Context) -> Response:
    username = context.field("username")
    if context.staff and username == context.staff.username:
        context.flash("You cannot remove your own account.", "error")
    elif remove_staff(context.engine, username):
        context.flash(f"Account {username} removed.")
    else:
        context.flash(f"There is no account {username}.", "error")
    return context.redirect("/staff")
