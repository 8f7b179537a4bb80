"""Safety guardrails: they must catch what they exist for, and nothing else."""

from __future__ import annotations

import pytest
import yaml

from bot.safety import EMERGENCY, MEDICAL_ADVICE, SELF_HARM, guard
from bot.settings import PROJECT_ROOT

SAFETY_INTENTS = {SELF_HARM, EMERGENCY, MEDICAL_ADVICE}


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        # Written for this test, not taken from the training data.
        ("I think I'm going to kill myself tonight", SELF_HARM),
        ("honestly I don't want to be alive any more", SELF_HARM),
        ("I keep hurting myself when it gets bad", SELF_HARM),
        ("how many sleeping pills would kill me", SELF_HARM),
        ("my husband has chest pain and is sweating", EMERGENCY),
        (
            "my daughter can\u2019t breathe properly",
            EMERGENCY,
        ),  # curly apostrophe, as phones type it
        ("I think she took an overdose", EMERGENCY),
        ("he is unconscious on the floor", EMERGENCY),
        ("Can I take paracetamol with the study drug?", MEDICAL_ADVICE),
        ("should I stop my chemo because of the nausea", MEDICAL_ADVICE),
        ("what dose should I give my son", MEDICAL_ADVICE),
        ("which treatment is best for me, surgery or radiotherapy?", MEDICAL_ADVICE),
        # Self-harm outranks the medical question inside it.
        ("should I stop my meds so I can die", SELF_HARM),
    ],
)
def test_guardrails_catch_what_they_exist_for(message: str, intent: str) -> None:
    assert guard(message) == intent


@pytest.mark.parametrize(
    "message",
    [
        "what is a placebo?",
        "can I leave a trial whenever I want?",
        "is it dangerous to take part in a trial",
        "who pays for the trial medicine?",
        "what happens if a trial participant is unconscious and can't consent?",
        "can I keep taking the trial drug after the study ends",
        "what are the side effects of trial drugs in general",
        "is it ok to stop being in a study",
    ],
)
def test_general_questions_are_left_to_the_knowledge_base(message: str) -> None:
    assert guard(message) is None


def _examples(directory: str):
    for path in sorted((PROJECT_ROOT / directory).glob("*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            for line in item["examples"].splitlines():
                if line.strip():
                    yield item["intent"], line.strip()[2:].strip()


@pytest.mark.parametrize("directory", ["data/nlu", "tests/nlu"])
def test_every_safety_example_is_caught_and_no_other_example_is(directory: str) -> None:
    missed, false_alarms = [], []
    for intent, text in _examples(directory):
        got = guard(text)
        if intent in SAFETY_INTENTS and got != intent:
            missed.append((intent, text, got))
        elif intent not in SAFETY_INTENTS and got is not None:
            false_alarms.append((intent, text, got))
    assert missed == []
    assert false_alarms == []
