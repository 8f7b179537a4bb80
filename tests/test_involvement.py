"""Patient-involvement guidance: stages from plain words, and the tailored answer."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.involvement import ActionInvolvementGuidance, ValidateInvolvementForm
from bot.involvement import STAGES, stage_from_text


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        ("priorities", "priorities"),
        ("we're still choosing the research question", "priorities"),
        ("Designing the study", "design"),
        ("writing the protocol", "design"),
        ("we are recruiting participants", "conduct"),
        ("the trial is finished and we're publishing results", "dissemination"),
        ("we only have early results", "dissemination"),
        ("we have a research question", "priorities"),
        ("we haven't started recruiting yet", "design"),
        ("we're analysing the data", "dissemination"),
    ],
)
def test_stage_from_plain_words(text: str, stage: str) -> None:
    found = stage_from_text(text)
    assert found is not None and found.key == stage


def test_unknown_stage_is_refused_without_echoing_it() -> None:
    dispatcher = CollectingDispatcher()
    result = ValidateInvolvementForm().validate_research_stage("banana", dispatcher, _tracker(), {})
    assert result == {"research_stage": None}
    assert dispatcher.messages == []


def _tracker(**slots) -> Tracker:
    return Tracker("t", slots, {"text": "", "intent": {}, "entities": []}, [], False, None, {}, "")


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_guidance_is_tailored_and_names_whom_to_contact(database_url: str, stage: str) -> None:
    dispatcher = CollectingDispatcher()
    ActionInvolvementGuidance().run(
        dispatcher, _tracker(research_stage=stage, country="Belgium"), {}
    )
    text = dispatcher.messages[0]["text"]
    assert text.startswith(STAGES[stage].title)
    assert "ECRIN has no national partner in Belgium yet" in text
    assert (
        "EUPATI National Platform there is EUPATI BE (EUPATI Belgium) (https://eupati.be)" in text
    )
    assert "Learn more: https://" in text


def test_asking_for_a_plan_is_not_a_stage() -> None:
    # "plan" is how people ask for this guidance, not where their research is.
    assert stage_from_text("help me plan patient involvement") is None


def test_guidance_without_stage_or_country_covers_every_stage_and_the_office(
    database_url: str,
) -> None:
    dispatcher = CollectingDispatcher()
    ActionInvolvementGuidance().run(dispatcher, _tracker(), {})
    text = dispatcher.messages[0]["text"]
    assert text.startswith("Every stage") and "four stages" in text
    assert "coordination office" in text and text.endswith("Learn more: https://ecrin.org")
