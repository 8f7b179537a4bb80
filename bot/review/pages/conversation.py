"""One conversation: its transcript, and what staff change on it (review status, tags,
notes, flagged messages) or do to it (an administrator erases it)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.responses import Response

from bot.review import annotations
from bot.review.context import Context
from bot.review.pages.params import integer, param
from bot.settings import current
from bot.tracker_db.erasure import ErasureError, erase_conversation_beside_rasa
from bot.tracker_db.schema import STATUSES, TAG_COLOURS


def conversation(context: Context) -> Response:
    sender_id = param(context, "id") or ""
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
    tag_id = integer(context.field("tag_id"))
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
    event_id = integer(context.field("event_id"))
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
    # Under the conversation's lock, as "Forget me" erases: a message being answered now
    # would otherwise save the erased turns back (bot.tracker_db.erasure).
    try:
        deleted = erase_conversation_beside_rasa(
            sender_id, context.state.settings.database_url, current().stores.lock_store_url
        )
    except ErasureError as error:
        context.flash(f"Nothing was erased: {error.reason}. Try again in a minute.", "error")
        return _back_to_conversation(context)
    context.flash(f"Conversation erased ({deleted} stored events deleted).")
    return context.redirect("/")
