"""Safety guardrails: they must catch what they exist for, in the many ways people write it,
and nothing else. The wordings below were written for these tests (typos, indirect phrasing,
people writing about someone else), not taken from the training data."""

from __future__ import annotations

import pytest
import yaml

from bot.form_answers import NEVER_AN_ANSWER
from bot.safety import (
    EMERGENCY,
    MEDICAL_ADVICE,
    RULES,
    SAFETY_INTENTS,
    SELF_HARM,
    TRIAL_TREATMENT,
    guard,
    normalise,
)
from bot.settings import PROJECT_ROOT

SELF_HARM_MESSAGES = [
    "I think I'm going to kill myself tonight",
    "honestly I don't want to be alive any more",
    "I keep hurting myself when it gets bad",
    "how many sleeping pills would kill me",
    "should I stop my meds so I can die",
    "should I stop my study drug so I can die",
    "i want to kil myself",
    "thinking about killing myself alot lately",
    "i dont wanna live anymore",
    "I don't want to wake up tomorrow",
    "i wish i was dead",
    "I wish I'd never been born",
    "everyone would be better off if I was gone",
    "im a burden to everyone",
    "i feel like such a burden to my kids",
    "ive got pills saved up for when i end it",
    "I have been stockpiling my tablets",
    "what's the most painless way to die",
    "how much paracetamol would it take to die",
    "I'm going to take an overdose on purpose",
    "i'm planning to overdose myself",
    "I want to hang myself",
    "i'm going to throw myself in front of a train",
    "i want to jump off the roof",
    "having suicidal thoughts again",
    "suicide",
    "i'm thinking of committing suicide",
    "Is there a suicide helpline I can call",
    "I can't take it anymore, I want it all to end",
    "i cant do this anymore",
    "what's the point of living",
    "I see no reason to go on",
    "life isn't worth living with this disease",
    "I'm so tired of life",
    "nobody would even notice if I disappeared forever",
    "I just want the pain to stop forever",
    "i've been self-harming since the diagnosis",
    "I cut myself last night",
    "i'm not safe around myself right now",
    "I've said my goodbyes",
    "I feel suicidal since starting the trial",
    "I'm in the trial and I'm thinking about suicide",
    "kms",
    "i want to unalive myself",
    "I'd rather be dead than go through more chemo",
    "I don't want to exist",
    "I self-harm, can I still join a trial?",
    "i've been self harming, am I eligible for the study",
]

EMERGENCY_MESSAGES = [
    "my husband has chest pain and is sweating",
    "my daughter can\u2019t breathe properly",  # a phone's curly apostrophe
    "I think she took an overdose",
    "he is unconscious on the floor",
    "cant breath",
    "I can barely breathe and my chest hurts",
    "he's having trouble breathing",
    "my son is struggling to breathe after the injection",
    "she stopped breathing",
    "i think i'm having a heart attack",
    "my dad is having a heart attack",
    "tight chest and pain down my left arm",
    "crushing pressure in my chest",
    "my friend OD'd",
    "my brother overdosed on heroin",
    "I took too many of my study pills",
    "i accidentally took a whole bottle of painkillers",
    "she swallowed a handful of tablets",
    "my toddler drank bleach",
    "my son is having an allergic reaction",
    "I'm having an allergic reaction to the trial drug",
    "think im going into anaphylaxis",
    "his throat is closing up",
    "her lips are swelling after the injection",
    "i'm wheezing and covered in hives",
    "my mum's face is drooping on one side",
    "dad's speech is slurred and his arm went numb",
    "I think my wife is having a stroke",
    "my baby is having a seizure",
    "my husband collapsed in the kitchen",
    "found my dad unconscious",
    "my grandma won't wake up",
    "he is not responding",
    "she passed out and hit her head",
    "there's blood everywhere",
    "the bleeding won't stop",
    "my son is choking",
    "call an ambulance",
    "should i call 112",
    "worst headache of my life",
    "emergency",
    "his lips are turning blue",
]

TRIAL_TREATMENT_MESSAGES = [
    "Can I take paracetamol with the study drug?",
    "I missed my dose of the study drug yesterday",
    "forgot to take my trial pill this morning, should I take it now?",
    "I accidentally took my study tablets twice today",
    "i took 2 doses of the trial medicine by mistake",
    "i doubled my trial dose by accident",
    "I vomited after my study pill, should I take another",
    "I feel ill since the trial injection",
    "i feel sick since my study jab",
    "ive had diarrhoea ever since i started the study",
    "my arm is really swollen since the trial vaccine",
    "since the study drug I get headaches every day",
    "the trial medication makes me so tired I can't work",
    "I got pregnant during my trial",
    "just found out im pregnant and im on the trial drug",
    "my girlfriend is pregnant and I'm taking the study tablets",
    "I want to stop the study drug",
    "i want to stop taking my trial medication",
    "I'm going to stop the trial injections, they make me feel awful",
    "I don't want the study treatment anymore",
    "can I have a glass of wine while on the trial drug",
    "is it safe to drink alcohol during the study",
    "can I take my hay fever tablets while I'm in the trial",
    "should i keep taking my usual meds during the trial",
    "can I give my son ibuprofen with his trial medicine",
    "how many of the study tablets should I take",
    "what dose of the trial drug should I be on",
    "can I skip the study injection this week",
    "do I need to stop the trial drug before surgery",
    "Can I take ibuprofen with my study drug",
    "my trial meds make me dizzy, can I take them at night instead",
    "I'm on the trial and my rash keeps getting worse",
]

MEDICAL_ADVICE_MESSAGES = [
    "should I stop my chemo because of the nausea",
    "what dose should I give my son",
    "which treatment is best for me, surgery or radiotherapy?",
    "can i take ibuprofen with my blood pressure pills",
    "is it safe for me to drink alcohol with antibiotics",
    "how much paracetamol can i take in a day",
]

# General questions, research topics, eligibility and consent, idioms: the knowledge base
# (or the other dialogue rules) answer these.
NOT_SAFETY_MESSAGES = [
    "what is a placebo?",
    "can I leave a trial whenever I want?",
    "is it dangerous to take part in a trial",
    "who pays for the trial medicine?",
    "what happens if a trial participant is unconscious and can't consent?",
    "can I keep taking the trial drug after the study ends",
    "what are the side effects of trial drugs in general",
    "is it ok to stop being in a study",
    "what is an overdose study?",
    "allergic reaction as a side effect in trials — how are they reported?",
    "how are overdoses recorded in clinical trials",
    "are there clinical trials on suicide prevention?",
    "what does suicide prevention research involve",
    "how do trials handle participants who self-harm",
    "how are serious adverse events like anaphylaxis reported to the EMA",
    "what counts as a serious adverse reaction",
    "trials for stroke patients in Europe",
    "are there heart attack studies recruiting in Spain",
    "what is a seizure threshold study",
    "can I take part in a trial if I had a stroke last year",
    "how long does the study drug stay in your body",
    "what happens if participants miss a dose in a trial",
    "what if someone gets pregnant during a trial",
    "can pregnant women take part in trials",
    "why do trials need contraception",
    "can I stop the trial at any time",
    "will I get the study drug for free",
    "is the trial drug approved yet",
    "what is a double-blind trial",
    "how are doses chosen in a phase 1 study",
    "who decides the dose in a clinical trial",
    "I'm going on holiday, can I still be in the study",
    "can I take part in the study if I'm on other medication",
    "do I have to pay for the trial medicine",
    "I don't want to go on with the trial, how do I leave",
    "I can't go on holiday during the trial, can I?",
    "my mum would kill me if I missed the study visit",
    "this heat is killing me",
    "I wish I was in the placebo group",
    "what is an overdose of paracetamol considered in research",
    "the study site is not responding to my emails",
    "help me find a trial",
    "who do I tell about a side effect from my study drug",
    "where do I report a reaction to the trial medicine",
    "how do I jump from one study to another",
    "what is pharmacovigilance",
]


@pytest.mark.parametrize("message", SELF_HARM_MESSAGES)
def test_self_harm_is_caught_in_many_wordings(message: str) -> None:
    assert guard(message) == SELF_HARM


@pytest.mark.parametrize("message", EMERGENCY_MESSAGES)
def test_emergencies_are_caught_in_many_wordings(message: str) -> None:
    assert guard(message) == EMERGENCY


@pytest.mark.parametrize("message", TRIAL_TREATMENT_MESSAGES)
def test_questions_about_ones_own_trial_treatment_go_to_the_study_team(message: str) -> None:
    assert guard(message) == TRIAL_TREATMENT


@pytest.mark.parametrize("message", MEDICAL_ADVICE_MESSAGES)
def test_medical_advice_outside_a_trial_is_never_given(message: str) -> None:
    assert guard(message) == MEDICAL_ADVICE


@pytest.mark.parametrize("message", NOT_SAFETY_MESSAGES)
def test_general_questions_are_left_to_the_knowledge_base(message: str) -> None:
    assert guard(message) is None


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        # Priority: self-harm, then emergencies, then the trial treatment, then advice.
        ("should I stop my study drug so I can die", SELF_HARM),
        ("I took too many of my trial pills on purpose, I want to die", SELF_HARM),
        ("I took too many of my trial pills", EMERGENCY),
        ("I have chest pain since the trial injection", EMERGENCY),
        ("can I take ibuprofen with my study drug", TRIAL_TREATMENT),
        ("can I take ibuprofen with my blood pressure pills", MEDICAL_ADVICE),
    ],
)
def test_priority_order(message: str, intent: str) -> None:
    assert guard(message) == intent


def test_the_rules_run_in_the_priority_order_safety_intents_declares() -> None:
    """guard() tries RULES in order and the first match wins; SAFETY_INTENTS, "highest
    priority first", must be that order, with each intent's rules together."""
    order = [rule.intent for rule in RULES]
    runs = [intent for i, intent in enumerate(order) if i == 0 or order[i - 1] != intent]
    assert runs == list(SAFETY_INTENTS)


def test_phone_apostrophes_and_spacing_do_not_matter() -> None:
    assert normalise("I don\u2019t   want to\nlive") == "i don't want to live"
    assert guard("I DON\u2019T WANT TO BE ALIVE") == SELF_HARM


def _examples(directory: str):
    for path in sorted((PROJECT_ROOT / directory).glob("*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            for line in item.get("examples", "").splitlines():
                if line.strip():
                    yield path.name, item["intent"], line.strip()[2:].strip()


@pytest.mark.parametrize("directory", ["data/nlu", "tests/nlu"])
def test_every_safety_example_is_caught_and_no_other_example_is(directory: str) -> None:
    missed, false_alarms = [], []
    for name, intent, text in _examples(directory):
        got = guard(text)
        if intent in SAFETY_INTENTS and got != intent:
            missed.append((name, intent, text, got))
        elif intent not in SAFETY_INTENTS and got is not None:
            false_alarms.append((name, intent, text, got))
    assert missed == []
    assert false_alarms == []


def test_each_safety_intent_has_enough_varied_examples() -> None:
    counts = {intent: set() for intent in SAFETY_INTENTS}
    held_out = {intent: set() for intent in SAFETY_INTENTS}
    for _, intent, text in _examples("data/nlu"):
        if intent in counts:
            counts[intent].add(text.lower())
    for _, intent, text in _examples("tests/nlu"):
        if intent in held_out:
            held_out[intent].add(text.lower())
    for intent in SAFETY_INTENTS:
        assert len(counts[intent]) >= 20, intent
        assert len(held_out[intent]) >= 3, intent
        assert not counts[intent] & held_out[intent], intent


def _yaml(name: str) -> dict:
    return yaml.safe_load((PROJECT_ROOT / name).read_text(encoding="utf-8"))


REPLY = {
    SELF_HARM: "action_self_harm",
    EMERGENCY: "utter_emergency",
    TRIAL_TREATMENT: "utter_trial_treatment",
    MEDICAL_ADVICE: "utter_medical_advice",
}


def test_every_safety_intent_is_answered_at_once_and_ends_a_form() -> None:
    domain = _yaml("domain.yml")
    assert set(SAFETY_INTENTS) <= set(domain["intents"])
    assert set(SAFETY_INTENTS) <= NEVER_AN_ANSWER
    for mapping in domain["slots"]["country"]["mappings"]:
        if "not_intent" in mapping:
            assert set(SAFETY_INTENTS) <= set(mapping["not_intent"])
    rules = _yaml("data/rules.yml")["rules"]
    for intent, reply in REPLY.items():
        assert reply in domain["responses"] or reply in domain["actions"], reply
        top = [r for r in rules if "condition" not in r and r["steps"][0] == {"intent": intent}]
        assert [r["steps"][1:] for r in top] == [[{"action": reply}]], intent
        for form in domain["forms"]:
            inside = [
                r
                for r in rules
                if r.get("condition") == [{"active_loop": form}]
                and r["steps"][0] == {"intent": intent}
            ]
            assert [r["steps"][1:] for r in inside] == [
                [
                    {"action": reply},
                    {"action": "action_deactivate_loop"},
                    {"active_loop": None},
                ]
            ], (intent, form)


def test_the_self_harm_reply_is_the_action_not_a_fixed_text() -> None:
    domain = _yaml("domain.yml")
    assert "utter_self_harm" not in domain["responses"]
    assert "action_self_harm" in domain["actions"]


def test_the_trial_treatment_reply_gives_no_advice_and_sends_to_the_study_team() -> None:
    text = _yaml("domain.yml")["responses"]["utter_trial_treatment"][0]["text"]
    for words in (
        "study team",
        "participant information sheet",
        "trial card",
        "112",
        "Don't stop, skip or change anything",
        "doctor",
    ):
        assert words in text
