"""Safety guardrails that win over any FAQ match.

The classifier learns safety intents from examples, but a statistical model can still send
"can I take ibuprofen with my study drug?" to an FAQ. These patterns are the floor under it:
when one matches, its intent replaces whatever the classifier said. Order is priority —
self-harm, then emergencies, then requests for medical advice.

`SafetyGuard` runs them inside Rasa's NLU pipeline (after the FallbackClassifier), so rules,
stories, the review logs and `rasa test` all see the corrected intent.
"""

from __future__ import annotations

import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

SELF_HARM, EMERGENCY, MEDICAL_ADVICE = "self_harm", "emergency", "medical_advice"

_MEDICINE = (
    r"(medicines?|medications?|meds|drugs?|pills?|tablets?|doses?|dosage|treatments?|"
    r"chemo\w*|insulin|inhaler|injections?|antibiotics?|ibuprofen|paracetamol|aspirin|"
    r"acetaminophen|painkillers?|steroids?|antidepressants?|antihistamines?|statins?|"
    r"blood thinners?|supplements?|vitamins?|vaccines?|study drug|"
    r"trial drug|placebo)"
)
_MY = r"(my|the|our|his|her|this|these|those)"

PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        SELF_HARM,
        re.compile(
            r"\b(kill(ing)? ?(my ?self|me)|suicid\w*|end(ing)? (it all|my life|things)|"
            r"take my (own )?life|(so|then) i (can|could) die|want(ed)? to die|"
            r"(don'?t|do not|dont) (want|wanna) to (live|be alive|be here|exist|wake up)|"
            r"(no|nothing to|no point|no reason to|point in|reason to keep) (point )?(in )?liv(e|ing)|"
            r"better (off )?(dead|without me)|wish i (was|were) dead|self[- ]?harm\w*|"
            r"(cut|cutting|burn|burning|hurt|hurting|harm|harming) my ?self|"
            r"(can'?t|cannot|cant) go on|giv(e|ing) up on life|tired of (living|life)|"
            r"(life|living) (is ?n'?t|is not|isnt) worth|jump off|not safe with my ?self|"
            r"(nobody|no one|no-one) would (miss|care)|goodbye (letters?|notes?) to|"
            r"want (it all|everything) to (be over|end)|disappear forever)\b"
        ),
    ),
    (
        EMERGENCY,
        re.compile(
            r"\b((can'?t|cannot|can not|cant|unable to|struggling to|hardly|barely) (breathe?|get air)|"
            r"(not|isn'?t|stopped) breathing|chest pains?|pain in (my|his|her|their) chest|"
            r"heart attack|overdos\w*|took too many|swallowed (a|the) (whole|bottle)|"
            r"took (loads|lots|a lot) of (pills|tablets)|"
            r"(he|she|they|someone|somebody|my \w+) (is|are|'s|has|have) (gone |been )?unconscious|"
            r"passed out|(won'?t|will not|not) wak(e|ing) up|(not|isn'?t) responding|unresponsive|"
            r"having a (stroke|seizure|fit)|stroke symptoms|slurred|face (has |is )?(dropp|droop)\w*|"
            r"arm (went|is|has gone) numb|anaphyla\w*|allergic reaction|throat (is )?(closing|swelling)|"
            r"(lips|tongue|face) (is |are )?(swollen|swelling)|wheezing|turning blue|fitting|"
            r"bleeding (heavily|badly|a lot|(won'?t|will not|wont|doesn'?t) stop)|severe bleeding|"
            r"blood everywhere|lots of blood(?! (samples?|tests?|draws?|taken))|choking|call an ambulance|worst headache|^emergency\W*$)"
        ),
    ),
    (
        MEDICAL_ADVICE,
        re.compile(
            # "can I keep taking the trial drug after the study?" asks about access, not advice.
            rf"\b((?!.*after the (study|trial))(can|could|should|shall|may|must) i (still |safely |keep )?"
            rf"(take|taking|stop|skip|double|increase|reduce|lower|change|switch|mix|combine|drink|eat|give|have)\b.*\b{_MEDICINE}|"
            rf"do i need to (take|stop|skip|change|increase|reduce|switch)\b.*\b{_MEDICINE}|should i stop (them|it|taking)|"
            rf"(stop|stopping|quit|quitting|skip|skipping|double|doubling) (taking )?{_MY} {_MEDICINE}|"
            rf"(keep|carry on|continue) taking (my|his|her|their) |come off (my|his|her)|"
            rf"is it (ok|okay|safe|dangerous|fine|bad|alright) (for me )?to (take|skip|drink|eat|stop|mix|combine)\b.*\b{_MEDICINE}|"
            rf"(swollen|dizzy|rash|pain|sick|fever|headache|itch\w*|nause\w*|vomit\w*).*what should i do|"
            rf"(what|which|how much|how many) (dose|dosage|mg|pills|tablets)\b.*\b(i|me)\b|too much for me|"
            rf"(which|what) (treatment|medicine|medication|drug|therapy|painkiller) (is (best|safest|right|better)|should i)|"
            rf"(best|safest|better) for (me|my)\b|is (it|this) safe for me|should i (join|enrol|enroll|sign up for) (this|that)|"
            rf"(would|will|is) (this|the|that) (\w+ )?trial (be )?(safe|right|good) for me|"
            rf"(is|are) (this|my \w+) (serious|dangerous|something to worry about)|is (that|it) serious|"
            rf"(reading|result|level|pressure|sugar|count|temperature)s? (is|was|of) .*is (that|this|it) (bad|normal|high|low|dangerous)|"
            rf"normal for me|should i be worried|diagnose (me|my)|recommend .* (or|for my)|"
            rf"should i (have|try|do) the (surgery|operation|trial)|test results normal)"
        ),
    ),
]


def normalise(text: str) -> str:
    """Lower-case, straight apostrophes, single spaces."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    return re.sub(r"\s+", " ", text).strip()


def guard(text: str) -> str | None:
    """The safety intent `text` calls for, or None when no guardrail applies."""
    normalised = normalise(text)
    for intent, pattern in PATTERNS:
        if pattern.search(normalised):
            return intent
    return None


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class SafetyGuard(GraphComponent):
    """Pipeline component: `- name: bot.safety.SafetyGuard`, last in the NLU pipeline."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SafetyGuard:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if text.startswith("/"):  # button payloads say exactly what they mean
                continue
            intent = guard(text)
            if intent is None:
                continue
            ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != intent]
            message.set(INTENT, {"name": intent, "confidence": 1.0}, add_to_output=True)
            message.set(
                INTENT_RANKING_KEY,
                [{"name": intent, "confidence": 1.0}, *ranking],
                add_to_output=True,
            )
        return messages
