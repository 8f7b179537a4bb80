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

# "Not sure" answers the stage question too: guidance that walks through every stage.
ALL_STAGES = Stage(
    "all",
    "Every stage",
    "EUPATI's Patient Engagement Roadmap has four stages, and patients can help at each: "
    "setting research priorities, designing and planning the study, running it, and sharing "
    "the results.",
)

# Checked in order, first match wins: "early results" is about results, and "we haven't
# started yet" is preparation, not a running study. Plain "plan" is not a stage: it is how
# people ask for this guidance in the first place ("help me plan patient involvement").
_STAGE_WORDS = [
    (
        re.compile(r"(\bnot|n'?t) (yet )?(started|begun|recruit\w*)|\bnot running yet\b"),
        "design",
    ),
    (
        re.compile(
            r"\b(dissemin\w*|results?|publish\w*|publication|sharing|share|finished|complete[d]?|"
            r"ended|reporting|summar\w*|writing (it )?up|post-approval|analys\w*|under review)\b"
        ),
        "dissemination",
    ),
    (
        re.compile(
            r"\b(conduct\w*|running|recruit\w*|ongoing|under ?way|started|in progress|"
            r"collecting( the)? data|data collection|enrol\w*|operations?)\b"
        ),
        "conduct",
    ),
    (
        re.compile(
            r"\b(design\w*|protocol|outcomes?|endpoints?|set(ting)? ?up|planning (stage|phase)|"
            r"planning (the|our|a|my) (study|trial|project)|"
            r"ethics (application|submission|approval))\b"
        ),
        "design",
    ),
    (
        re.compile(
            r"\b(priorit\w*|idea|research question|topic|early (stage|days)|very early|"
            r"(applying for|seeking) (funding|a grant)|funding (application|bid|proposal)|"
            r"grant (application|proposal))\b"
        ),
        "priorities",
    ),
]


def stage_from_text(text: str | None) -> Stage | None:
    """The stage someone describes ("we're recruiting" -> conduct), or None."""
    if not text:
        return None
    lowered = text.lower().replace("\u2019", "'").strip()
    if lowered in STAGES:
        return STAGES[lowered]
    if lowered == ALL_STAGES.key:
        return ALL_STAGES
    for pattern, key in _STAGE_WORDS:
        if pattern.search(lowered):
            return STAGES[key]
    return None


def stage_by_key(key: str | None) -> Stage | None:
    """A stored stage key back to its stage ("all" included)."""
    if key == ALL_STAGES.key:
        return ALL_STAGES
    return STAGES.get(key or "")


def guidance(stage: Stage, contacts: str) -> str:
    """Tailored guidance, then whom to contact (a partner answer, ending with its link)."""
    course = f"EUPATI's Open Classroom covers every stage ({ROADMAP_URL})."
    return f"{stage.title}: {stage.guidance} {course} {contacts}"
