"""Patient-involvement plans given to researchers, as staff see them.

After a plan, the assistant's message carries `{"involvement_plan": {"query": …, "made": …}}`
(actions/involvement.py `say_plan`), stored by Rasa in the bot event's `data.custom`. The query
is the researcher's situation (bot.involvement `Situation.query()`); one that cannot be read
(an old or tampered link) is left out rather than shown wrong.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.involvement import STAGES, Situation

PAYLOAD_KEY = "involvement_plan"

# As the involvement form's buttons say them (domain.yml).
STAGE_LABELS = {
    "priorities": "Setting research priorities",
    "design": "Designing the study",
    "conduct": "Running the study",
    "dissemination": "Sharing the results",
}
KIND_LABELS = {
    "trial": "Trial of a medicine",
    "observational": "Observational study",
    "device": "Medical device study",
    "other": "Another kind of study",
}
POPULATION_LABELS = {
    "adults": "Adults",
    "children": "Children and young people",
    "rare_disease": "Rare disease",
    "underserved": "Under-served groups",
}
HELP_LABELS = {
    "partners": "Finding patient partners",
    "payment": "Paying patient partners",
    "training": "Training",
    "ethics_funding": "Ethics and funding",
    "reporting": "Reporting involvement",
}
EVERY_STAGE = "Not sure (every stage)"
NOT_SAID = "not said"


@dataclass(frozen=True)
class GivenPlan:
    """A plan the assistant gave: the situation it was for and the day it was made."""

    situation: Situation
    made: dt.date | None

    @property
    def stages(self) -> list[str]:
        return [STAGE_LABELS[s] for s in self.situation.stages] or [EVERY_STAGE]

    @property
    def kind(self) -> str:
        kind = self.situation.kind
        return KIND_LABELS[kind] if kind else NOT_SAID

    @property
    def populations(self) -> list[str]:
        return [POPULATION_LABELS[p] for p in self.situation.populations] or [NOT_SAID]

    @property
    def country(self) -> str:
        return self.situation.country or NOT_SAID

    @property
    def help(self) -> list[str]:
        return [HELP_LABELS[h] for h in self.situation.help] or ["Not sure (every topic)"]

    @property
    def situation_label(self) -> str:
        """Kind and population, for counting plans by situation: "Trial of a medicine ·
        Rare disease + Children and young people"."""
        kind = KIND_LABELS[self.situation.kind] if self.situation.kind else "Kind not said"
        populations = [POPULATION_LABELS[p] for p in self.situation.populations]
        return f"{kind} · {' + '.join(populations) or 'population not said'}"


def read_plan(custom: Any) -> GivenPlan | None:
    """The plan in a bot message's custom payload, or None (no plan, or one that cannot be
    read)."""
    payload = custom.get(PAYLOAD_KEY) if isinstance(custom, Mapping) else None
    if not isinstance(payload, Mapping) or not isinstance(payload.get("query"), str):
        return None
    try:
        situation = Situation.from_query(payload["query"])
    except ValueError:
        return None
    made = payload.get("made")
    try:
        day = dt.date.fromisoformat(made) if isinstance(made, str) else None
    except ValueError:
        day = None
    return GivenPlan(situation, day)


def plan_in_event(data: Any) -> GivenPlan | None:
    """The plan in a stored bot event (Rasa's JSON: the payload is under data.custom)."""
    inner = data.get("data") if isinstance(data, Mapping) else None
    return read_plan(inner.get("custom") if isinstance(inner, Mapping) else None)


@dataclass(frozen=True)
class PlanCounts:
    total: int
    by_stage: list[tuple[str, int]]
    by_situation: list[tuple[str, int]]


def count_plans(plans: Iterable[GivenPlan], top: int = 12) -> PlanCounts:
    """Plans by stage (a plan for two stages counts for each; every stage is listed, in the
    roadmap's order) and by situation (kind and population, the most frequent first)."""
    stages: Counter[str] = Counter()
    situations: Counter[str] = Counter()
    total = 0
    for plan in plans:
        total += 1
        stages.update(plan.stages)
        situations[plan.situation_label] += 1
    labels = [STAGE_LABELS[s] for s in STAGES] + [EVERY_STAGE]
    return PlanCounts(
        total=total,
        by_stage=[(label, stages[label]) for label in labels],
        by_situation=sorted(situations.items(), key=lambda item: (-item[1], item[0]))[:top],
    )
