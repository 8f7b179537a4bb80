"""Patient-involvement plans: the situation read from plain words, the plan built from the
guidance data, and the form that asks only what is missing."""

from __future__ import annotations

import datetime
import html
import itertools
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.involvement import ActionInvolvementGuidance, ValidateInvolvementForm
from bot import involvement
from bot.involvement import (
    HELP_TOPICS,
    KINDS,
    POPULATIONS,
    STAGES,
    Situation,
    build_plan,
    chat_messages,
    describes_own_study,
    guidance,
    help_in,
    kind_in,
    populations_in,
    stages_in,
)
from bot.plan_page import linkify, render_html

MADE = datetime.date(2026, 12, 6)


@pytest.mark.parametrize(
    ("text", "stages"),
    [
        ("priorities", ["priorities"]),
        ("we're still choosing the research question", ["priorities"]),
        ("Designing the study", ["design"]),
        ("writing the protocol", ["design"]),
        ("we're at the planning stage", ["design"]),
        ("we are recruiting participants", ["conduct"]),
        ("the trial is finished and we're publishing results", ["dissemination"]),
        # Early results come while the study runs.
        ("we only have early results", ["conduct"]),
        ("we have a research question", ["priorities"]),
        ("we haven't started recruiting yet", ["design"]),
        ("we're analysing the data", ["dissemination"]),
        ("designing it now and recruiting in spring", ["design", "conduct"]),
        ("help me plan patient involvement", []),
        ("I have a question about involving patients", []),
    ],
)
def test_stages_from_plain_words(text: str, stages: list[str]) -> None:
    assert stages_in(text) == stages


@pytest.mark.parametrize(
    ("text", "kind", "populations"),
    [
        ("a randomised trial in kids", "trial", ["children"]),
        ("observational cohort of older people", "observational", ["underserved"]),
        ("a device trial for a rare condition", "device", ["rare_disease"]),
        ("paediatric oncology phase 2", "trial", ["children"]),
        ("adults with asthma", None, ["adults"]),
        ("something else", "other", []),
    ],
)
def test_kind_and_population_from_plain_words(
    text: str, kind: str | None, populations: list[str]
) -> None:
    assert kind_in(text) == kind
    assert populations_in(text) == populations


@pytest.mark.parametrize(
    ("text", "topics"),
    [
        ("how much should we pay them", ["payment"]),
        ("where do we find patient partners", ["partners"]),
        ("training for our patient advisors and ethics approval", ["training", "ethics_funding"]),
        ("how to report involvement in the paper, GRIPP2?", ["reporting"]),
    ],
)
def test_help_topics_from_plain_words(text: str, topics: list[str]) -> None:
    assert help_in(text) == topics


def test_own_study_versus_a_general_question() -> None:
    assert describes_own_study("how much should we pay patient partners? we're in Norway")
    assert describes_own_study("I lead a rare disease trial and want patients to help design it")
    assert not describes_own_study("what is patient involvement?")
    assert not describes_own_study("why should researchers pay patient partners")


def test_a_situation_survives_its_link() -> None:
    situation = Situation(("design", "conduct"), "trial", ("children",), "Italy", ("payment",))
    assert Situation.from_query(situation.query()) == situation
    assert Situation.from_query("") == Situation()


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("stage=launch", "stage must be one of"),
        ("kind=vaccine", "kind must be one of"),
        ("country=Atlantis", "unknown country"),
        ("colour=blue", "unknown parameter"),
    ],
)
def test_a_bad_link_says_what_is_wrong(query: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        Situation.from_query(query)


def test_a_situation_reads_as_a_phrase() -> None:
    situation = Situation(kind="trial", populations=("rare_disease", "children"), country="Italy")
    assert situation.describe() == "a rare-disease trial with children and young people in Italy"
    assert Situation(kind="observational").describe() == "an observational study"


# --- Plans from the real guidance data -----------------------------------------------------


def test_the_guidance_data_covers_every_stage_kind_population_and_topic() -> None:
    data = guidance()
    assert set(data.stages) == set(STAGES) and set(data.help) == set(HELP_TOPICS)
    assert set(data.kinds) == set(KINDS) and set(data.populations) == set(POPULATIONS)
    for section in data.stages.values():
        assert 3 <= len(section.steps) <= 6, section.key
    steps = [
        s
        for part in (data.stages, data.kinds, data.populations, data.help)
        for x in part.values()
        for s in x.steps
    ]
    assert all(set(step.sources) <= set(data.sources) for step in steps)


SITUATIONS = [
    Situation(stages, kind, populations, country, help_topics)
    for stages, kind, populations, country, help_topics in itertools.product(
        [(), ("design",), ("conduct", "dissemination")],
        [None, "trial", "device", "observational"],
        [(), ("children", "rare_disease"), ("underserved",)],
        [None, "Norway"],
        [(), ("payment",), ("reporting", "partners")],
    )
]


@pytest.mark.parametrize("situation", SITUATIONS[::7], ids=lambda s: s.query() or "general")
def test_every_plan_has_its_parts_and_names_its_sources(situation: Situation) -> None:
    plan = build_plan(situation, "ECRIN's national partner in Norway is NorCRIN.", MADE)
    assert [s.key for s in plan.stages] == list(situation.stages or STAGES)
    assert [s.key for s in plan.help] == list(situation.help or HELP_TOPICS)
    expected_parts = [situation.kind] if situation.kind else []
    expected_parts += list(situation.populations)
    assert [s.key for s in plan.situation_parts] == expected_parts
    used = {key for s in plan.sections for step in s.steps for key in step.sources}
    assert {source.key for source in plan.sources} == used
    page = render_html(plan)
    assert "6 December 2026" in page and "NorCRIN" in page
    assert plan.sources and all(html.escape(source.url) in page for source in plan.sources)


def test_a_plan_in_the_chat_is_one_message_per_part() -> None:
    situation = Situation(("design",), "trial", ("rare_disease",), "Italy", ("payment",))
    data = guidance()
    messages = chat_messages(build_plan(situation, "ITACRIN is the partner.", MADE))
    assert messages[0] == (
        "Here is a patient-involvement plan for a rare-disease trial in Italy, at the design stage."
    )
    assert messages[1].startswith(data.stages["design"].title + ":\n1. ")
    assert any(m.startswith(data.populations["rare_disease"].title) for m in messages)
    assert any(m.startswith(data.help["payment"].title) for m in messages)
    assert messages[-1] == "Whom to contact: ITACRIN is the partner."


def test_a_general_plan_is_brief_per_stage_and_lists_every_help_topic() -> None:
    messages = chat_messages(build_plan(Situation(), None, MADE))
    stage_messages = messages[1:5]
    assert all(m.count("\n") == involvement.BRIEF_STEPS for m in stage_messages)
    assert messages[-1].startswith("Also worth planning:")
    assert messages[-1].count("•") == len(HELP_TOPICS)


def test_the_page_escapes_text_and_links_addresses() -> None:
    html = linkify("<b>NorCRIN</b> https://norcrin.no.")
    assert (
        str(html)
        == '&lt;b&gt;NorCRIN&lt;/b&gt; <a href="https://norcrin.no">https://norcrin.no</a>.'
    )


# --- The form -------------------------------------------------------------------------------


def user(text: str, intent: str) -> dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}}


def asked(slot: str) -> list[dict[str, Any]]:
    """A form question, as Rasa records it: the bot's utterance, named in its metadata."""
    return [{"event": "bot", "text": "?", "metadata": {"utter_action": f"utter_ask_{slot}"}}]


ACTIVATED = [{"event": "active_loop", "name": "involvement_form"}]


def tracker(events: list[dict[str, Any]], **slots: Any) -> Tracker:
    latest = next(e for e in reversed(events) if e["event"] == "user")
    message = {"text": latest["text"], "intent": latest["parse_data"]["intent"], "entities": []}
    loop = {"name": "involvement_form"}
    all_slots = {"involvement_skipped": [], **slots}
    return Tracker("t", all_slots, message, events, False, None, loop, "action_listen")


DOMAIN = {
    "forms": {
        "involvement_form": {
            "required_slots": [
                "research_stage",
                "country",
                "study_kind",
                "population",
                "help_topics",
            ]
        }
    },
    "slots": {},
}


async def validate(events: list[dict[str, Any]], **slots: Any) -> dict[str, Any]:
    """The slot updates the form's validation returns for the latest message."""
    returned = await ValidateInvolvementForm().run(
        CollectingDispatcher(), tracker(events, **slots), DOMAIN
    )
    return {event["name"]: event["value"] for event in returned if event["event"] == "slot"}


async def test_the_first_message_fills_everything_it_says() -> None:
    text = "I lead a trial on a rare disease in children and want patients to help design it"
    updates = await validate([*ACTIVATED, user(text, "plan_involvement")])
    assert updates["research_stage"] == ["design"]
    assert updates["study_kind"] == "trial"
    assert updates["population"] == ["children", "rare_disease"]
    # Nothing skipped: Rasa asks the next missing slot (the country) itself.
    assert "requested_slot" not in updates


async def test_not_sure_skips_one_question_and_the_next_is_asked() -> None:
    events = [
        *ACTIVATED,
        user("help me involve patients", "plan_involvement"),
        *asked("research_stage"),
        user("not sure", "dont_know"),
    ]
    updates = await validate(events, requested_slot="research_stage")
    assert updates["involvement_skipped"] == ["research_stage"]
    assert updates["requested_slot"] == "country"


async def test_two_skips_end_the_questions() -> None:
    events = [
        *ACTIVATED,
        user("help me involve patients", "plan_involvement"),
        *asked("research_stage"),
        user("not sure", "dont_know"),
        *asked("country"),
        user("no idea", "dont_know"),
    ]
    updates = await validate(
        events, requested_slot="country", involvement_skipped=["research_stage"]
    )
    assert "*" in updates["involvement_skipped"]
    assert updates["requested_slot"] is None


async def test_thats_all_ends_the_questions_even_when_read_as_goodbye() -> None:
    events = [
        *ACTIVATED,
        user("we're designing a trial", "plan_involvement"),
        *asked("country"),
        user("that's all", "goodbye"),
    ]
    updates = await validate(
        events, requested_slot="country", research_stage=["design"], study_kind="trial"
    )
    assert updates["requested_slot"] is None


async def test_a_question_in_the_form_is_not_an_answer() -> None:
    events = [
        *ACTIVATED,
        user("we're designing a trial", "plan_involvement"),
        *asked("country"),
        user("what is GRIPP2?", "faq_ppi"),
    ]
    updates = await validate(
        events, requested_slot="country", research_stage=["design"], study_kind="trial"
    )
    assert "involvement_skipped" not in updates and "help_topics" not in updates


async def test_the_study_question_takes_a_population_alone() -> None:
    events = [
        *ACTIVATED,
        user("help me involve patients", "plan_involvement"),
        *asked("study_kind"),
        user("children", "inform"),
    ]
    updates = await validate(
        events, requested_slot="study_kind", research_stage=["design"], country="Spain"
    )
    assert updates["population"] == ["children"]
    assert updates["involvement_skipped"] == ["study_kind"]
    assert updates["requested_slot"] == "help_topics"


async def test_a_new_request_without_details_starts_a_new_plan() -> None:
    events = [*ACTIVATED, user("how do I involve patients in research?", "plan_involvement")]
    updates = await validate(
        events, research_stage=["design"], study_kind="trial", involvement_skipped=["*"]
    )
    assert updates["research_stage"] is None and updates["study_kind"] is None
    assert updates["involvement_skipped"] == []


def test_the_plan_action_says_the_plan_and_offers_it_to_keep(database_url: str) -> None:
    dispatcher = CollectingDispatcher()
    slots = {"research_stage": ["dissemination"], "study_kind": "trial", "country": "Portugal"}
    ActionInvolvementGuidance().run(dispatcher, tracker([user("x", "inform")], **slots), {})
    texts = [m.get("text") or "" for m in dispatcher.messages]
    assert texts[0].endswith("a trial in Portugal, at the results stage.")
    assert any("PtCRIN" in text for text in texts)
    keep = dispatcher.messages[-1]
    assert keep["response"] == "utter_plan_to_keep"
    assert keep["custom"]["involvement_plan"]["query"] == (
        "stage=dissemination&kind=trial&country=Portugal"
    )


async def test_a_long_first_message_the_model_found_unclear_still_counts() -> None:
    text = "I lead a trial on a rare muscle disease in Italy and want patients to help design it"
    updates = await validate([*ACTIVATED, user(text, "nlu_fallback")])
    assert updates["research_stage"] == ["design"] and updates["study_kind"] == "trial"
    assert updates["population"] == ["rare_disease"]


async def test_three_questions_are_enough() -> None:
    events = [
        *ACTIVATED,
        user("help me involve patients", "plan_involvement"),
        *asked("research_stage"),
        user("design", "inform"),
        *asked("country_for_guidance"),
        *asked("country_again"),
        user("Spain", "inform"),
        *asked("study_kind"),
        user("an observational study", "inform"),
    ]
    updates = await validate(
        events, requested_slot="study_kind", research_stage=["design"], country="Spain"
    )
    assert updates["study_kind"] == "observational"
    assert "*" in updates["involvement_skipped"] and updates["requested_slot"] is None


async def test_a_long_statement_answers_the_question_whatever_the_model_said() -> None:
    text = "it's a randomised trial of a new inhaler in teenagers with severe asthma"
    events = [
        *ACTIVATED,
        user("help me involve patients", "plan_involvement"),
        *asked("study_kind"),
        user(text, "faq_trials"),
    ]
    updates = await validate(events, requested_slot="study_kind", research_stage=["design"])
    assert updates["study_kind"] == "trial" and updates["population"] == ["children"]


async def test_no_idea_is_a_skip_not_the_priorities_stage() -> None:
    events = [
        *ACTIVATED,
        user("help me involve patients", "plan_involvement"),
        *asked("research_stage"),
        user("no idea", "dont_know"),
    ]
    updates = await validate(events, requested_slot="research_stage")
    assert "research_stage" not in updates
    assert updates["involvement_skipped"] == ["research_stage"]
