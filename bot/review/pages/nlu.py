"""The NLU inbox: messages the model was unsure about, labelled by staff, and their export
as Rasa training data."""

from __future__ import annotations

import datetime as dt

from starlette.responses import Response

from bot.review.context import Context
from bot.review.nlu import VIEWS, LabelError, export_nlu, known_labels
from bot.review.pages.params import choice, integer, page_number


def nlu_inbox(context: Context) -> Response:
    view = choice(context, "view", VIEWS, "open")
    page = context.state.nlu.items(view, page_number(context), context.state.settings.page_size)
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
    event_id = integer(context.field("event_id"))
    action = context.field("action")
    try:
        correction = context.state.nlu.label(
            event_id,
            action,
            context.who,
            known_labels(context.state.settings.nlu_dir),
            context.field("label"),
        )
    except LabelError as error:
        context.flash(str(error), "error")
    else:
        live = (
            f" The assistant now answers these words with {correction.label}, within seconds "
            "on every server (see Corrections)."
            if correction is not None
            else ""
        )
        context.flash(
            {
                "correct": "Marked as correct.",
                "relabel": f"Relabelled as {context.field('label').strip()}.{live}",
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
