"""The NLU inbox: messages the model was unsure about, labelled by staff, and their export
as Rasa training data."""

from __future__ import annotations

import datetime as dt

from starlette.responses import Response

from bot.i18n import default_language
from bot.review.context import Context
from bot.review.nlu import VIEWS, LabelError, export_nlu, known_labels
from bot.review.pages.params import choice, integer, language_choice, page_number


def nlu_inbox(context: Context) -> Response:
    view = choice(context, "view", VIEWS, "open")
    language = language_choice(context)
    page = context.state.nlu.items(
        view, page_number(context), context.state.settings.page_size, language
    )
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
        language=language,
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
        "/nlu",
        view=context.field("view", "open"),
        page=context.field("page", "1"),
        language=context.field("language", ""),
    )


def nlu_export(context: Context) -> Response:
    """Every language's corrected examples, or one language's (`?language=fr`: its file is
    named for it, nlu-review-fr-<date>.yml, to merge into data/nlu/fr/)."""
    language = language_choice(context)
    exported = export_nlu(
        context.engine,
        context.state.settings.nlu_dir,
        language=language or None,
        default_language=default_language(),
    )
    name = f"nlu-review-{language + '-' if language else ''}{dt.date.today():%Y%m%d}.yml"
    return Response(
        exported.yaml,
        media_type="application/x-yaml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
