"""Live corrections: a message staff relabelled in the NLU inbox is answered with its new
label the next time anyone writes the same words, on every Rasa replica, before any training.

This module is the domain side, shared by the review app (which never loads Rasa) and the
Rasa component (bot.live_corrections): what "the same words" means (`normalise`), which
corrections are refused (`check_correction`), and what a stored correction is
(`Correction`). Storage and the replicas' cached index are in bot.tracker_db.corrections.

Guardrails: a correction may never route an emergency, self-harm, the person's own trial
treatment or a request for medical advice anywhere else. So one is refused when the
guardrails' rules (bot.safety_rules) flag its text or when the model had read the message as
one of those intents; and SafetyGuard runs after the corrections in the NLU pipeline, so even
a correction stored before a rule was added cannot win over it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass

from bot.safety_rules import SAFETY_INTENTS, guard

# Punctuation and symbols (anything that is neither a letter, a digit nor a space) and the
# underscore, which \w counts as a letter.
_NOT_A_WORD = re.compile(r"[^\w\s]|_")


def normalise(text: str) -> str:
    """The words of `text` as a correction matches them: lower-case (case-folded), accents
    stripped, punctuation as spaces, spaces collapsed. "What is a PLACEBO?!" and
    "what is a placébo" are the same question; "what is a placebo trial" is not."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(_NOT_A_WORD.sub(" ", bare).split())


class CorrectionRefused(ValueError):
    """A correction that must not go live; the message says why, for staff."""


def check_correction(
    text: str, predicted: str | None, label: str, known: Collection[str] | None = None
) -> None:
    """Raise CorrectionRefused when relabelling `text` (which the model read as `predicted`,
    an intent or a retrieval key) as `label` must not change what the assistant answers.

    `known`: the labels of the training data (bot.review.nlu.known_labels); None skips that
    check (the caller has made it)."""
    if known is not None and label not in known:
        raise CorrectionRefused(f"{label!r} is not an intent or retrieval key in data/nlu/.")
    if text.lstrip().startswith("/"):
        raise CorrectionRefused(
            "A button payload says what it means: it is never corrected (dismiss it instead)."
        )
    if not normalise(text):
        raise CorrectionRefused("This message has no words to recognise it by again.")
    flagged = guard(text)
    if flagged is not None:
        raise CorrectionRefused(
            f"The safety guardrails answer this message as {flagged}: a correction may not "
            "change that. The label is not saved; tell the safety lead if the guardrail is wrong."
        )
    predicted_intent = (predicted or "").split("/", 1)[0]
    if predicted_intent in SAFETY_INTENTS:
        raise CorrectionRefused(
            f"The model read this message as {predicted_intent}, a safety intent: a correction "
            "may not route it elsewhere. The label is not saved; a retrained model may learn it."
        )


@dataclass(frozen=True)
class Correction:
    """One correction, active (`undone_at` is None) or undone. `text` is the message as
    stored (masked); `normalised` is what a new message is matched on; times are epoch
    seconds."""

    id: int
    text: str
    normalised: str
    label: str
    created_by: str | None
    created_at: float
    undone_by: str | None
    undone_at: float | None
    predicted: str | None = None
    event_id: int | None = None

    @property
    def active(self) -> bool:
        return self.undone_at is None

    @property
    def intent(self) -> str:
        """The intent the assistant is given: "faq_trials" for "faq_trials/placebo"."""
        return self.label.split("/", 1)[0]

    @property
    def response_key(self) -> str | None:
        """The FAQ topic, for a retrieval key; None for a plain intent."""
        return self.label if "/" in self.label else None
