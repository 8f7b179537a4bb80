"""A patient-involvement plan for a researcher's situation.

The situation is what the involvement form asks (`Situation`): the research stage or stages
(EUPATI's Patient Engagement Roadmap: priorities, design, conduct, dissemination), the kind
of study, who takes part, the country, and what the researcher wants help with. Each can be
"not sure", which gives the general plan for it. The plan's steps are data, with a source
for each, in `data/involvement/guidance.yml` (staff edit them without touching code); this
module reads the situation out of plain words, picks the steps and writes the plan for the
chat; bot.plan_page makes the page to download.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import yaml

from bot.countries import gazetteer
from bot.settings import PROJECT_ROOT

GUIDANCE_FILE = PROJECT_ROOT / "data" / "involvement" / "guidance.yml"
UNSURE = "unsure"

STAGES = ("priorities", "design", "conduct", "dissemination")
KINDS = ("trial", "observational", "device", "other")
POPULATIONS = ("adults", "children", "rare_disease", "underserved")
HELP_TOPICS = ("partners", "payment", "training", "ethics_funding", "reporting")

# How a situation is said in a sentence ("a rare-disease trial in children").
KIND_NOUNS = {
    "trial": "trial",
    "observational": "observational study",
    "device": "medical device study",
    "other": "study",
}
POPULATION_ADJECTIVES = {"rare_disease": "rare-disease", "underserved": ""}
POPULATION_PHRASES = {
    "adults": "adults",
    "children": "children and young people",
    "underserved": "under-served groups",
}
STAGE_PHRASES = {
    "priorities": "priority-setting",
    "design": "design",
    "conduct": "running",
    "dissemination": "results",
}

# --- Reading the situation out of plain words ----------------------------------------------

_NOT_STARTED = re.compile(
    r"((\bnot|n'?t) (yet )?(started|begun|recruit\w*)( (recruit\w*|enrol\w*|running|it))?|"
    r"\bnot running)( yet)?\b"
)
# Results seen while the study runs are about running it, not about sharing them.
_INTERIM_RESULTS = re.compile(r"\b(early|interim|preliminary|first) (results?|data|findings)\b")
_STAGE_WORDS = {
    "priorities": re.compile(
        r"\b(priorit\w*|idea|(research|study|our|the) questions?|question (stage|phase)|"
        r"topic|early (stage|days)|very early|(applying for|seeking|apply for) (funding|a grant)|"
        r"funding (application|bid|proposal)|grant (application|proposal|writing)|"
        r"(before|haven'?t) (designed|planned))\b"
    ),
    "design": re.compile(
        r"\b(design\w*|protocol|outcomes?|endpoints?|set(ting)? ?up|"
        r"planning (stage|phase)|at the plan(ning)? stage|"
        r"(planning|plan) (the|our|a|my|this) (study|trial|project|research)|"
        r"(still|currently|now) planning|"
        r"ethics (application|submission|approval)|not (yet )?(started|begun|recruit\w*))\b"
    ),
    "conduct": re.compile(
        r"\b(conduct\w*|running|recruit\w*|ongoing|under ?way|in progress|"
        r"collecting( the)? data|data collection|enrol\w*|operations?|"
        r"(interim|early|preliminary|first) (results?|data|findings)|(has|have|just) started)\b"
    ),
    "dissemination": re.compile(
        r"\b(dissemin\w*|results?|publish\w*|publication|sharing|share|finished|completed?|"
        r"ended|reporting the|summar\w*|writing (it )?up|post-approval|analys\w*|under review)\b"
    ),
}
_KIND_WORDS = {
    "device": re.compile(
        r"\b(devices?|implants?|medical technolog\w*|medtech|diagnostic tests?|"
        r"clinical investigation|software as a medical)\b"
    ),
    "observational": re.compile(
        r"\b(observational|cohort|registry|registries|survey|qualitative|interviews?|"
        r"case[- ]control|real[- ]world|non-?interventional|epidemiolog\w*)\b"
    ),
    "trial": re.compile(
        r"\b(trials?|rct|randomi[sz]ed|drug study|medicines? study|phase (i{1,3}|iv|[1-4]))\b"
    ),
    "other": re.compile(
        r"\b(something else|another kind|other kind|other type|none of (those|these))\b"
    ),
}
_POPULATION_WORDS = {
    "children": re.compile(
        r"\b(child\w*|kids?|paediatric\w*|pediatric\w*|adolescen\w*|teen\w*|young people|"
        r"youth|infants?|bab(y|ies)|neonat\w*|newborns?|minors?)\b"
    ),
    "rare_disease": re.compile(r"\b(rare|orphan|ultra-rare|ern|erns)\b"),
    "underserved": re.compile(
        r"\b(under-?served|under-?represented|seldom[- ]heard|hard[- ]to[- ]reach|"
        r"(ethnic|racial) minorit\w*|minorit\w* groups?|migrants?|refugees?|homeless\w*|"
        r"low[- ]income|deprived|disadvantaged|marginali[sz]ed|older people|elderly|"
        r"disabilit\w*|disabled)\b"
    ),
    "adults": re.compile(r"\b(adults?|grown-?ups)\b"),
}
_HELP_WORDS = {
    "partners": re.compile(
        r"\b(find\w*|recruit\w*|reach\w*|identify\w*|where (can|do) (i|we) (get|meet))\b.{0,30}"
        r"\b(patients?|partners?|advis\w*|representatives?|people)\b|"
        r"\b(who (to|should (i|we)) (involve|ask|contact)|patient organi[sz]ations?|"
        r"advisory (board|group|panel)s?)\b"
    ),
    "payment": re.compile(
        r"\b(pay\w*|paid|remunerat\w*|compensat\w*|expenses?|fees?|honorari\w*|reimburs\w*|"
        r"vouchers?|money|budget\w*|how much)\b"
    ),
    "training": re.compile(r"\b(train\w*|courses?|educat\w*|skills?|open classroom)\b"),
    "ethics_funding": re.compile(
        r"\b(ethic\w*|funders?|funding|grants?|horizon|proposals?|irb|rec)\b"
    ),
    "reporting": re.compile(
        r"\b(report(ing)? (the |our |patient )?involvement|gripp\w*|paper|journal|"
        r"publish\w*|write[- ]?up|writing up|acknowledg\w*|reporting)\b"
    ),
}
_UNSURE_WORDS = re.compile(
    r"^\W*(not sure|unsure|no idea|don'?t know|dont know|i don'?t know|skip|pass|"
    r"no preference|any|anything|all of (them|it|these)|everything|general|whatever|n/?a|"
    r"doesn'?t matter|not decided( yet)?|no specific\w*)\W*$"
)


# "our trial", "we're recruiting", "I lead a study": the researcher's own study.
_OWN_STUDY = re.compile(
    r"\b((my|our) (study|studies|trial|trials|research|project|proposal|grant|advisory|team)|"
    r"we|we're|we are|we've|i lead|i run|i'm (running|leading|planning|designing)|"
    r"i'?m an? (researcher|postdoc|phd( student)?|doctoral student|clinician|doctor|pi|"
    r"investigator|scientist|research nurse))\b"
)


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower().replace("\u2019", "'")).strip()


def is_unsure(text: str) -> bool:
    """ "not sure", "skip", "anything": an answer that leaves the question open."""
    return bool(_UNSURE_WORDS.match(_normal(text)))


def stages_in(text: str | None) -> list[str]:
    """The stages a message describes, in roadmap order ("we're designing it and will
    recruit in spring" -> design, conduct). A bare stage key counts too (button payloads)."""
    lowered = _normal(text or "")
    if lowered in STAGES:
        return [lowered]
    found = set()
    if _NOT_STARTED.search(lowered):
        found.add("design")
        lowered = _NOT_STARTED.sub(" ", lowered)
    if _INTERIM_RESULTS.search(lowered):
        found.add("conduct")
        lowered = _INTERIM_RESULTS.sub(" ", lowered)
    found |= {stage for stage, words in _STAGE_WORDS.items() if words.search(lowered)}
    return [stage for stage in STAGES if stage in found]


def kind_in(text: str | None) -> str | None:
    """The kind of study a message names; a device trial is a device study."""
    lowered = _normal(text or "")
    if lowered in KINDS:
        return lowered
    return next((kind for kind, words in _KIND_WORDS.items() if words.search(lowered)), None)


def populations_in(text: str | None) -> list[str]:
    lowered = _normal(text or "")
    if lowered in POPULATIONS:
        return [lowered]
    return [key for key in POPULATIONS if _POPULATION_WORDS[key].search(lowered)]


def help_in(text: str | None) -> list[str]:
    lowered = _normal(text or "")
    if lowered in HELP_TOPICS:
        return [lowered]
    return [key for key in HELP_TOPICS if _HELP_WORDS[key].search(lowered)]


_INVOLVEMENT = re.compile(
    r"\b(involv\w*|engag\w*|ppi|patients? (input|partners?|voice|advis\w*|representatives?|"
    r"on board)|advisory)\b"
)


def mentions_involvement(text: str | None) -> bool:
    """ "want patients on board", "patient input", "PPI": involving patients, in words."""
    return bool(_INVOLVEMENT.search(_normal(text or "")))


def describes_own_study(text: str | None) -> bool:
    """Whether a message tells us about the researcher's own study ("how should we pay the
    patient partners on our advisory board?"), not a general question about involvement."""
    lowered = _normal(text or "")
    details = stages_in(lowered) or kind_in(lowered) or populations_in(lowered) or help_in(lowered)
    return bool(details or mentions_involvement(lowered)) and bool(_OWN_STUDY.search(lowered))


# The form's slots for the situation (the country is the conversation's `country` slot).
PLAN_SLOTS = ("research_stage", "study_kind", "population", "help_topics")
# One question asks for both: an answer naming only one settles the other as general.
STUDY_SLOTS = ("study_kind", "population")


def situation_slots(text: str | None) -> dict[str, Any]:
    """Every part of the situation a message describes, as slot values; nothing from a
    message that only says it does not know ("no idea" is not the priorities stage)."""
    if is_unsure(text or ""):
        return {}
    found: dict[str, Any] = {
        "research_stage": stages_in(text) or None,
        "study_kind": kind_in(text),
        "population": populations_in(text) or None,
        "help_topics": help_in(text) or None,
    }
    return {slot: value for slot, value in found.items() if value}


# --- The situation ---------------------------------------------------------------------------


def _known(values: Iterable[str] | None) -> tuple[str, ...]:
    return tuple(value for value in values or () if value != UNSURE)


@dataclass(frozen=True)
class Situation:
    """What the researcher told us; empty parts are "not sure" (the general plan)."""

    stages: tuple[str, ...] = ()
    kind: str | None = None
    populations: tuple[str, ...] = ()
    country: str | None = None  # the country's English name, as the `country` slot holds it
    help: tuple[str, ...] = ()

    @classmethod
    def from_slots(cls, slots: Mapping[str, Any]) -> Situation:
        def listed(name: str) -> list[str]:
            value = slots.get(name)
            return [value] if isinstance(value, str) else list(value or [])

        kind = slots.get("study_kind")
        return cls(
            stages=_known(listed("research_stage")),
            kind=kind if kind in KINDS else None,
            populations=_known(listed("population")),
            country=slots.get("country") or None,
            help=_known(listed("help_topics")),
        )

    def query(self) -> str:
        """The situation as a URL query, so the plan page can be rebuilt from its link."""
        parts = {
            "stage": ",".join(self.stages),
            "kind": self.kind or "",
            "population": ",".join(self.populations),
            "country": self.country or "",
            "help": ",".join(self.help),
        }
        return urlencode({key: value for key, value in parts.items() if value})

    @classmethod
    def from_query(cls, query: str) -> Situation:
        """The situation in a plan link; ValueError names the first part that is wrong."""
        params = parse_qs(query, keep_blank_values=False, strict_parsing=False)
        unknown = set(params) - {"stage", "kind", "population", "country", "help", "made"}
        if unknown:
            raise ValueError(f"unknown parameter: {sorted(unknown)[0]}")

        def values(name: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
            found = [v for raw in params.get(name, []) for v in raw.split(",") if v]
            wrong = [v for v in found if v not in allowed]
            if wrong:
                raise ValueError(f"{name} must be one of {', '.join(allowed)} (got {wrong[0]!r})")
            return tuple(dict.fromkeys(found))

        kinds = values("kind", KINDS)
        country = (params.get("country") or [""])[0]
        if country and gazetteer().resolve(country) is None:
            raise ValueError(f"unknown country: {country[:60]!r}")
        return cls(
            stages=values("stage", STAGES),
            kind=kinds[0] if kinds else None,
            populations=values("population", POPULATIONS),
            country=gazetteer().resolve(country).name if country else None,
            help=values("help", HELP_TOPICS),
        )

    def describe(self) -> str:
        """ "a rare-disease trial with children and young people in Italy" (for headings)."""
        adjectives = [POPULATION_ADJECTIVES.get(p, "") for p in self.populations]
        noun = KIND_NOUNS.get(self.kind or "other", "study")
        words = [*filter(None, adjectives), noun]
        phrases = [POPULATION_PHRASES[p] for p in self.populations if p in POPULATION_PHRASES]
        article = "an" if words[0][0] in "aeiou" else "a"
        text = " ".join([article, *words])
        if phrases:
            text += " with " + " and ".join(phrases)
        country = gazetteer().resolve(self.country) if self.country else None
        return f"{text} in {country.display}" if country else text


# --- Guidance as data ------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    key: str
    title: str
    url: str
    checked: date | None


@dataclass(frozen=True)
class Step:
    text: str
    sources: tuple[str, ...]
    plain: bool = False


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Guidance:
    sources: dict[str, Source]
    stages: dict[str, Section]
    kinds: dict[str, Section]
    populations: dict[str, Section]
    help: dict[str, Section]


def _sections(document: Mapping[str, Any], part: str, keys: tuple[str, ...]) -> dict[str, Section]:
    entries = document.get(part) or {}
    if set(entries) != set(keys):
        raise ValueError(f"guidance {part}: expected exactly {', '.join(keys)}")
    return {
        key: Section(
            key=key,
            title=entry["title"],
            steps=tuple(
                Step(
                    text=" ".join(step["text"].split()),
                    sources=tuple(step["sources"]),
                    plain=bool(step.get("plain")),
                )
                for step in entry["steps"]
            ),
        )
        for key, entry in entries.items()
    }


def read_guidance(path: Path = GUIDANCE_FILE) -> Guidance:
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    sources = {
        key: Source(key, entry["title"], entry["url"], entry.get("checked"))
        for key, entry in (document.get("sources") or {}).items()
    }
    return Guidance(
        sources=sources,
        stages=_sections(document, "stages", STAGES),
        kinds=_sections(document, "kinds", KINDS),
        populations=_sections(document, "populations", POPULATIONS),
        help=_sections(document, "help", HELP_TOPICS),
    )


@lru_cache(maxsize=1)
def guidance() -> Guidance:
    return read_guidance()


# --- The plan --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    situation: Situation
    made: date
    stages: tuple[Section, ...]
    situation_parts: tuple[Section, ...]
    help: tuple[Section, ...]
    contacts: str | None
    sources: tuple[Source, ...] = field(default=())

    @property
    def sections(self) -> tuple[Section, ...]:
        return (*self.stages, *self.situation_parts, *self.help)


def build_plan(
    situation: Situation, contacts: str | None, made: date, data: Guidance | None = None
) -> Plan:
    """The plan for `situation`: its stages (all four when not known), what its kind of
    study and population need, its help topics (all, briefly, when not known), and whom to
    contact (`contacts`, looked up by the caller; None when the look-up failed)."""
    data = data or guidance()
    stages = tuple(data.stages[s] for s in (situation.stages or STAGES))
    parts = []
    if situation.kind and situation.kind != "other":
        parts.append(data.kinds[situation.kind])
    parts += [data.populations[p] for p in situation.populations if p != "adults"]
    help_sections = tuple(data.help[h] for h in (situation.help or HELP_TOPICS))
    used = dict.fromkeys(
        key
        for section in (*stages, *parts, *help_sections)
        for step in section.steps
        for key in step.sources
    )
    return Plan(
        situation=situation,
        made=made,
        stages=stages,
        situation_parts=tuple(parts),
        help=help_sections,
        contacts=contacts,
        sources=tuple(data.sources[key] for key in used if key in data.sources),
    )


def _numbered(steps: Iterable[Step]) -> str:
    return "\n".join(f"{number}. {step.text}" for number, step in enumerate(steps, 1))


# In the chat, a plan for every stage or every help topic shows the first steps of each; the
# page to download has them all.
BRIEF_STEPS = 2


def chat_messages(
    plan: Plan,
    heading: str | None = None,
    also_worth_planning: str = "Also worth planning:",
    whom_to_contact: str = "Whom to contact: {contacts}",
) -> list[str]:
    """The plan as chat messages: one per part, short enough to read on a phone. The
    heading and the two phrases are English unless given (bot/plan_chat.py translates)."""
    situation = plan.situation
    if heading is None:
        where = (
            "at the "
            + " and ".join(STAGE_PHRASES[s] for s in situation.stages)
            + " stage"
            + ("s" if len(situation.stages) > 1 else "")
            if situation.stages
            else "at every stage"
        )
        heading = f"Here is a patient-involvement plan for {situation.describe()}, {where}."
    messages = [heading]
    every_stage = not situation.stages
    for section in plan.stages:
        steps = section.steps[:BRIEF_STEPS] if every_stage else section.steps
        messages.append(f"{section.title}:\n{_numbered(steps)}")
    for section in plan.situation_parts:
        messages.append(f"{section.title}:\n{_numbered(section.steps)}")
    if situation.help:
        messages += [f"{s.title}:\n{_numbered(s.steps)}" for s in plan.help]
    else:
        lines = [f"• {s.title}: {s.steps[0].text}" for s in plan.help if s.steps]
        messages.append(also_worth_planning + "\n" + "\n".join(lines))
    if plan.contacts:
        messages.append(whom_to_contact.format(contacts=plan.contacts))
    return messages
