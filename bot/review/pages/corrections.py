"""The live corrections: the wordings staff relabelled in the NLU inbox, which the assistant
now answers with their new label on every server, with who made and who undid each; any
staff member who may relabel may undo one."""

from __future__ import annotations

from starlette.responses import Response

from bot.review.context import Context
from bot.review.pages.params import integer
from bot.tracker_db.corrections import CorrectionNotFound, list_corrections, undo_correction


def corrections_page(context: Context) -> Response:
    found = list_corrections(context.engine, include_undone=True)
    return context.render(
        "corrections.html",
        section="corrections",
        active=[correction for correction in found if correction.active],
        undone=[correction for correction in found if not correction.active],
    )


def correction_undo(context: Context) -> Response:
    try:
        undo_correction(context.engine, integer(context.field("id")), context.who)
    except CorrectionNotFound as error:
        context.flash(str(error), "error")
    else:
        context.flash(
            "Undone: within seconds the assistant answers those words as its model reads them."
        )
    return context.redirect("/corrections")
