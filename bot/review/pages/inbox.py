"""The inbox (filtered, searched, paged conversations) and its CSV and JSON exports."""

from __future__ import annotations

import datetime as dt

from starlette.responses import Response, StreamingResponse

from bot.review import exports
from bot.review.context import Context
from bot.review.nlu import known_labels
from bot.review.pages.params import inbox_filters, page_number
from bot.tracker_db.filters import CHANNELS, RATING_INTENTS
from bot.tracker_db.schema import STATUSES


def inbox(context: Context) -> Response:
    filters = inbox_filters(context)
    page = context.state.store.inbox(
        filters, page_number(context), context.state.settings.page_size
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
    filters = inbox_filters(context)
    summaries = context.state.store.matching(filters)
    return StreamingResponse(
        exports.conversations_csv(summaries),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_export_name("csv")}"'},
    )


def export_json(context: Context) -> Response:
    filters = inbox_filters(context)
    return Response(
        exports.conversations_json(context.state.store, filters),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{_export_name("json")}"'},
    )
