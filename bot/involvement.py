"""Patient-involvement guidance for researchers, by stage of the research.

Stages follow EUPATI's Patient Engagement Roadmap (research priorities; design and planning;
conduct and operations; dissemination), the structure of its Open Classroom. Each piece of
guidance only restates what `shared/domain/facts.md` sources.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ROADMAP_URL = "https://learning.eupati.eu/local/coursecatalogue/"


@dataclass(frozen=True)
class Stage:
    key: str
    title: str
    guidance: str


STAGES = {
    stage.key: stage
    for stage in (
        Stage(
            "priorities",
            "Setting research priorities",
            "Involve patients before the question is fixed: they know which unmet needs matter "
            "most in daily life, and EUPATI's guidance says their input helps set priorities "
            "and builds trust.",
        ),
        Stage(
            "design",
            "Designing the study",
            "Ask patient partners to review the design while it can still change: EUPATI's "
            "guidance says patient input improves study design, outcome measures and endpoints, "
            "and patients can check that the information you give participants is clear.",
        ),
        Stage(
            "conduct",
            "Running the study",
            "Keep patient partners involved while the study runs (EUPATI's roadmap calls this "
            "stage research conduct and operations): they can help you spot practical problems "
            "for participants and think about how to reach under-served groups.",
        ),
        Stage(
            "dissemination",
            "Sharing the results",
            "Share results with the people they matter to: under the EU Clinical Trials "
            "Regulation a summary of results, with a lay summary, must be posted within one "
            "year of the end of a trial, and patient partners can help make it understandable.",
        ),
    )
}

_STAGE_WORDS = [
    (re.compile(r"\b(priorit\w*|idea|question|topic|early|not started|funding)\b"), "priorities"),
    (re.compile(r"\b(design\w*|plan\w*|protocol|outcomes?|endpoints?|set ?up)\b"), "design"),
    (
        re.compile(r"\b(conduct\w*|running|run|recruit\w*|ongoing|underway|started|operations?)\b"),
        "conduct",
    ),
    (
        re.compile(
            r"\b(dissemin\w*|results?|publish\w*|sharing|share|finished|reporting|summar\w*)\b"
        ),
        "dissemination",
    ),
]


def stage_from_text(text: str | None) -> Stage | None:
    """The stage someone describes ("we're recruiting" -> conduct), or None."""
    if not text:
        return None
    lowered = text.lower().strip()
    if lowered in STAGES:
        return STAGES[lowered]
    for pattern, key in _STAGE_WORDS:
        if pattern.search(lowered):
            return STAGES[key]
    return None


def guidance(stage: Stage, contacts: str) -> str:
    """Tailored guidance, then whom to contact (a partner answer, ending with its link)."""
    course = f"EUPATI's Open Classroom covers every stage ({ROADMAP_URL})."
    return f"{stage.title}: {stage.guidance} {course} {contacts}"
