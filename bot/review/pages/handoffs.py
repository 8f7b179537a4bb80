"""The hand-off queue: conversations in which the user asked for a person."""

from __future__ import annotations

from starlette.responses import Response

from bot.review.context import Context
from bot.review.pages.params import choice, page_number
from bot.tracker_db.schema import STATUSES


def handoffs(context: Context) -> Response:
    status = choice(context, "status", ("", *STATUSES), "")
    page = context.state.store.handoffs(
        status, page_number(context), context.state.settings.page_size
    )
    return context.render(
        "handoffs.html", section="handoffs", page=page, status=status, statuses=STATUSES
    )
