"""FollowUpPolicy on real Rasa trackers: it steps in only for follow-ups in context."""

from __future__ import annotations

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.policies import FollowUpPolicy
from bot.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(PROJECT_ROOT / "domain.yml")


@pytest.fixture
def policy(tmp_path) -> FollowUpPolicy:
    return FollowUpPolicy.create(
        FollowUpPolicy.get_default_config(),
        LocalModelStorage(tmp_path),
        Resource("follow_up"),
        ExecutionContext(GraphSchema({})),
    )


def message(text: str, intent: str, ranking: list[tuple[str, float]]) -> UserUttered:
    parse_data = {
        "intent": {"name": intent, "confidence": 0.9},
        "entities": [],
        "response_selector": {
            "default": {
                "ranking": [{"intent_response_key": k, "confidence": c} for k, c in ranking]
            }
        },
    }
    return UserUttered(text, parse_data["intent"], [], parse_data)


def after_eupati_answer(domain: Domain, follow_up: UserUttered) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(
        "t",
        [
            ActionExecuted("action_listen"),
            message("what is EUPATI?", "faq_eupati", [("faq_eupati/what_is_eupati", 0.9)]),
            ActionExecuted("utter_faq_eupati"),
            BotUttered("EUPATI is …", metadata={"utter_action": "utter_faq_eupati/what_is_eupati"}),
            ActionExecuted("action_listen"),
            follow_up,
        ],
        slots=domain.slots,
    )


def predicted(policy: FollowUpPolicy, tracker: DialogueStateTracker, domain: Domain) -> str | None:
    probabilities = policy.predict_action_probabilities(tracker, domain).probabilities
    best = max(range(len(probabilities)), key=probabilities.__getitem__)
    return domain.action_names_or_texts[best] if probabilities[best] > 0 else None


def test_a_follow_up_that_leaves_the_subject_is_answered_in_context(policy, domain) -> None:
    free = message(
        "is it free?", "faq_trials", [("faq_trials/costs", 0.8), ("faq_eupati/training_cost", 0.01)]
    )
    tracker = after_eupati_answer(domain, free)
    assert predicted(policy, tracker, domain) == "action_answer_faq"
    tracker.update(ActionExecuted("action_answer_faq"))
    assert predicted(policy, tracker, domain) == "action_listen"


def test_a_misread_short_question_is_answered_in_context(policy, domain) -> None:
    funds = message(
        "who funds it?",
        "dont_know",
        [("faq_ecrin/funding", 0.2), ("faq_eupati/who_runs_eupati", 0.1)],
    )
    assert predicted(policy, after_eupati_answer(domain, funds), domain) == "action_answer_faq"


@pytest.mark.parametrize(
    ("text", "intent", "ranking"),
    [
        # The model's choice stays on the subject: the rules answer it.
        ("how long does it take?", "faq_eupati", [("faq_eupati/expert_training_programme", 0.7)]),
        # A question that names its own subject.
        (
            "is a trial free?",
            "faq_trials",
            [("faq_trials/costs", 0.9), ("faq_eupati/training_cost", 0.05)],
        ),
        # Not a question about the answer at all.
        ("say that again", "repeat", [("faq_eupati/training_cost", 0.05)]),
        ("I don't know", "dont_know", [("faq_eupati/training_cost", 0.05)]),
    ],
)
def test_everything_else_is_left_to_the_rules(policy, domain, text, intent, ranking) -> None:
    assert (
        predicted(policy, after_eupati_answer(domain, message(text, intent, ranking)), domain)
        is None
    )


def test_and_in_another_country_after_events_continues_the_events_question(policy, domain) -> None:
    parse_data = {
        "intent": {"name": "ask_partner", "confidence": 0.8},
        "entities": [{"entity": "country", "value": "Italy", "start": 7, "end": 12}],
    }
    tracker = DialogueStateTracker.from_events(
        "t",
        [
            ActionExecuted("action_listen"),
            message("any webinars?", "ask_events", []),
            ActionExecuted("action_find_events"),
            BotUttered("I couldn't find any webinars coming up. Learn more: https://ecrin.org"),
            ActionExecuted("action_listen"),
            UserUttered("and in Italy?", parse_data["intent"], parse_data["entities"], parse_data),
        ],
        slots=domain.slots,
    )
    assert predicted(policy, tracker, domain) == "action_follow_up"
    # Asked first, the same words are a partner question: left to the rules.
    first = DialogueStateTracker.from_events("t", list(tracker.events)[-2:], slots=domain.slots)
    assert predicted(policy, first, domain) is None


def researcher_says(
    domain: Domain, text: str, intent: str, place: str | None = None, in_form: bool = False
) -> DialogueStateTracker:
    entities = [{"entity": "country", "value": place}] if place else []
    parse_data = {"intent": {"name": intent, "confidence": 0.6}, "entities": entities}
    events = [ActionExecuted("action_listen")]
    if in_form:
        events += [ActionExecuted("involvement_form"), ActiveLoop("involvement_form")]
        events += [SlotSet("requested_slot", "study_kind"), ActionExecuted("action_listen")]
    events.append(UserUttered(text, parse_data["intent"], entities, parse_data))
    return DialogueStateTracker.from_events("t", events, slots=domain.slots)


@pytest.mark.parametrize(
    ("text", "intent", "place", "plan"),
    [
        # Their own study, and where it is: a plan, whatever FAQ topic the model saw.
        (
            "how should we pay the patient partners on our board? we're in Norway",
            "faq_ppi",
            "Norway",
            True,
        ),
        # Too unclear for the model, but plainly about their study.
        (
            "I lead a rare disease trial and want patients to help design it",
            "nlu_fallback",
            None,
            True,
        ),
        ("we run a registry study in Norway and want patients on board", "inform", "Norway", True),
        ("we're based in Norway", "inform", "Norway", False),
        ("help me get patients involved in my research", "faq_ppi", None, True),
        # A clear PPI question keeps its answer, though it says "our".
        ("how should we report patient involvement in our paper?", "faq_ppi", None, False),
        ("what is patient involvement?", "nlu_fallback", None, False),
        ("how do we register our trial?", "faq_trials", "Spain", False),
    ],
)
def test_a_researcher_describing_their_study_gets_the_plan(
    policy: FollowUpPolicy, domain: Domain, text: str, intent: str, place: str | None, plan: bool
) -> None:
    tracker = researcher_says(domain, text, intent, place)
    assert (predicted(policy, tracker, domain) == "involvement_form") is plan


@pytest.mark.parametrize("intent", ["goodbye", "thank", "deny", "done"])
def test_thats_all_in_the_involvement_form_gives_the_plan_not_a_goodbye(
    policy: FollowUpPolicy, domain: Domain, intent: str
) -> None:
    tracker = researcher_says(domain, "that's all", intent, in_form=True)
    assert predicted(policy, tracker, domain) == "involvement_form"
    tracker = researcher_says(domain, "that's all", intent)
    assert predicted(policy, tracker, domain) is None


@pytest.mark.parametrize(
    ("text", "intent", "to_form"),
    [
        ("skip", "stop", True),
        ("no idea", "dont_know", True),
        ("it's a randomised trial of a new inhaler in teenagers", "faq_trials", True),
        ("stop", "stop", False),
        ("can children take part in trials?", "faq_trials", False),
        ("my colleague collapsed", "emergency", False),
    ],
)
def test_an_answer_the_model_misread_still_reaches_the_form(
    policy: FollowUpPolicy, domain: Domain, text: str, intent: str, to_form: bool
) -> None:
    tracker = researcher_says(domain, text, intent, in_form=True)
    assert (predicted(policy, tracker, domain) == "involvement_form") is to_form


def test_a_correction_right_after_the_plan_plans_again(
    policy: FollowUpPolicy, domain: Domain
) -> None:
    def after_plan(text: str, intent: str) -> DialogueStateTracker:
        return DialogueStateTracker.from_events(
            "t",
            [
                ActionExecuted("action_listen"),
                UserUttered("help me involve patients", {"name": "plan_involvement"}),
                ActionExecuted("action_involvement_guidance"),
                BotUttered("Here is a patient-involvement plan for a trial in Spain."),
                ActionExecuted("action_listen"),
                UserUttered(text, {"name": intent}),
            ],
            slots=domain.slots,
        )

    assert predicted(policy, after_plan("actually it's in children", "inform"), domain) == (
        "involvement_form"
    )
    assert predicted(policy, after_plan("what is a placebo?", "faq_trials"), domain) is None


def test_an_unclear_message_naming_a_place_continues_with_it(
    policy: FollowUpPolicy, domain: Domain
) -> None:
    entities = [
        {"entity": "organisation", "value": "ECRIN"},
        {"entity": "country", "value": "Deutschland"},
    ]
    parse_data = {"intent": {"name": "nlu_fallback", "confidence": 0.45}, "entities": entities}
    tracker = DialogueStateTracker.from_events(
        "t",
        [
            ActionExecuted("action_listen"),
            UserUttered("ECRIN in Deutschland", parse_data["intent"], entities, parse_data),
        ],
        slots=domain.slots,
    )
    assert predicted(policy, tracker, domain) == "action_follow_up"


def opening(domain: Domain, *texts: str) -> DialogueStateTracker:
    """A conversation whose user messages are `texts`, each read as goodbye."""
    events: list = [ActionExecuted("action_session_start"), ActionExecuted("action_listen")]
    for number, text in enumerate(texts):
        if number:
            events += [ActionExecuted("utter_goodbye"), ActionExecuted("action_listen")]
        events.append(message(text, "goodbye", []))
    return DialogueStateTracker.from_events("t", events, slots=domain.slots)


@pytest.mark.parametrize("text", ["Ciao", "salut !", "Servus"])
def test_a_hello_or_bye_word_opening_the_conversation_is_a_hello(policy, domain, text) -> None:
    tracker = opening(domain, text)
    assert predicted(policy, tracker, domain) == "utter_greet"
    tracker.update(ActionExecuted("utter_greet"))
    assert predicted(policy, tracker, domain) == "action_listen"


@pytest.mark.parametrize(
    "texts",
    [
        ("bye",),  # only a goodbye: the rules say goodbye
        ("ok thanks, ciao",),  # more than a greeting
        ("what is a placebo", "ciao"),  # later on, "ciao" leaves
    ],
)
def test_a_goodbye_is_left_to_the_rules(policy, domain, texts) -> None:
    assert predicted(policy, opening(domain, *texts), domain) is None
