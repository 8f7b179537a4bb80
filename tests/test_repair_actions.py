"""The repair actions on rasa-sdk trackers: repeat, more, feedback and follow-ups, against a
real seeded database where they look something up."""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher

from actions.repair import ActionFeedback, ActionFollowUp, ActionMore, ActionRepeat
from tests.dialogue_events import action, bot, tracker_after, user

PLACEBO_QUESTION = user(
    "what is a placebo?",
    "faq_trials",
    [
        ("faq_trials/placebo", 0.8),
        ("faq_trials/blinding", 0.1),
        ("faq_eupati/glossary", 0.05),
        ("faq_trials/control_group", 0.03),
    ],
)
PLACEBO_ANSWER = [
    PLACEBO_QUESTION,
    action("utter_faq_trials"),
    bot(
        "A placebo looks like … Learn more: https://example.org/placebo",
        "utter_faq_trials/placebo",
    ),
]


def run(action_class, events, **kwargs):
    dispatcher = CollectingDispatcher()
    returned = action_class().run(dispatcher, tracker_after(events, **kwargs), {})
    return dispatcher.messages, returned


def test_repeat_says_the_last_answer_again_by_its_response() -> None:
    messages, _ = run(ActionRepeat, [*PLACEBO_ANSWER, user("say that again", "repeat")])
    assert [m["response"] for m in messages] == ["utter_faq_trials/placebo"]


def test_repeat_with_nothing_said_yet_says_so_but_not_inside_a_form() -> None:
    messages, _ = run(ActionRepeat, [user("pardon?", "repeat")])
    assert messages[0]["response"] == "utter_nothing_to_repeat"
    messages, _ = run(ActionRepeat, [user("pardon?", "repeat")], active_loop="partner_form")
    assert messages == []


def test_more_gives_the_link_and_the_next_question_on_the_same_subject() -> None:
    messages, _ = run(ActionMore, [*PLACEBO_ANSWER, user("tell me more", "more")])
    assert "https://example.org/placebo" in messages[0]["text"]
    assert messages[1]["response"] == "utter_faq_trials/blinding"
    # Other topics of the same subject as buttons; none from another subject.
    payloads = [b["payload"] for b in messages[1]["buttons"]]
    assert payloads == ['/faq_pick{"faq_key":"faq_trials/control_group"}']


def test_feedback_apologises_and_offers_other_topics_and_a_person() -> None:
    messages, _ = run(
        ActionFeedback, [*PLACEBO_ANSWER, user("/feedback_negative", "feedback_negative")]
    )
    text, buttons = messages[0]["text"], messages[0]["buttons"]
    assert text.startswith("Sorry") and "another way" in text
    assert [b["payload"] for b in buttons][-1] == "/handoff"
    assert '/faq_pick{"faq_key":"faq_trials/blinding"}' in [b["payload"] for b in buttons]
    assert '/faq_pick{"faq_key":"faq_trials/placebo"}' not in [b["payload"] for b in buttons]


def in_language(event: dict, language: str) -> dict:
    """A user event as the NLU pipeline marks it when the message is in `language`."""
    return {**event, "parse_data": {**event["parse_data"], "language": {"code": language}}}


def test_more_names_the_topics_in_the_conversations_language() -> None:
    question = in_language(PLACEBO_QUESTION, "fr")
    more = in_language(user("dis-m'en plus sur ce sujet", "more"), "fr")
    messages, _ = run(ActionMore, [question, *PLACEBO_ANSWER[1:], more])
    assert "« Qu'est-ce qu'un placebo ? »" in messages[0]["text"]
    assert messages[0]["text"].endswith("Qu'est-ce qu'un essai en aveugle ?")
    assert messages[1]["buttons"] == [
        {
            "title": "Qu'est-ce qu'un groupe témoin ?",
            "payload": '/faq_pick{"faq_key":"faq_trials/control_group"}',
        }
    ]


def test_feedback_offers_the_other_topics_in_the_conversations_language() -> None:
    question = in_language(PLACEBO_QUESTION, "de")
    feedback = in_language(user("/feedback_negative", "feedback_negative"), "de")
    messages, _ = run(ActionFeedback, [question, *PLACEBO_ANSWER[1:], feedback])
    titles = {b["payload"]: b["title"] for b in messages[0]["buttons"]}
    assert titles['/faq_pick{"faq_key":"faq_trials/blinding"}'] == "Was ist Verblindung?"


def test_a_country_after_a_partner_answer_looks_up_that_country(database_url: str) -> None:
    events = [
        user("partner in France", "ask_partner"),
        action("partner_form"),
        action("action_find_partner"),
        bot("ECRIN's national partner in France is F-CRIN. Learn more: https://www.fcrin.org"),
        user("not Greece, Hungary", "inform"),
    ]
    messages, returned = run(ActionFollowUp, events)
    assert "HECRIN" in messages[0]["text"]
    assert {"event": "slot", "timestamp": None, "name": "country", "value": "Hungary"} in returned


def test_a_correction_of_stage_after_the_plan_gives_the_plan_again(database_url: str) -> None:
    events = [
        user("help me involve patients", "plan_involvement"),
        action("involvement_form"),
        action("action_involvement_guidance"),
        bot("Here is a patient-involvement plan for a trial in Ireland, at the design stage."),
        user("actually we've started recruiting", "inform"),
    ]
    messages, _ = run(
        ActionFollowUp,
        events,
        slots={"research_stage": ["design"], "study_kind": "trial", "country": "Ireland"},
    )
    texts = [m.get("text") or "" for m in messages]
    assert texts[0].endswith("a trial in Ireland, at the running stage.")
    assert texts[1].startswith("Running the study:")
    assert any("NCTO" in text for text in texts)


def test_a_country_out_of_the_blue_is_remembered_and_never_echoed() -> None:
    messages, returned = run(ActionFollowUp, [user("I live in the Netherlands", "inform")])
    assert messages[0]["response"] == "utter_country_noted"
    assert messages[0]["country"] == "the Netherlands"
    assert [e["value"] for e in returned] == ["Netherlands"]
    messages, returned = run(ActionFollowUp, [user("I live in Atlantis", "inform")])
    assert messages[0]["response"] == "utter_place_unknown" and returned == []


def test_a_stage_out_of_the_blue_starts_the_involvement_plan() -> None:
    _, returned = run(ActionFollowUp, [user("we're recruiting in Norway", "inform")])
    assert returned[-1] == {"event": "followup", "timestamp": None, "name": "involvement_form"}
    assert {e.get("name"): e.get("value") for e in returned[:-1]} == {
        "country": "Norway",
        "research_stage": ["conduct"],
    }


def test_ecrin_and_a_country_alone_is_a_partner_question(database_url: str) -> None:
    messages, returned = run(ActionFollowUp, [user("ECRIN in Deutschland", "inform")])
    assert "KKS" in messages[0]["text"]
    assert [e["value"] for e in returned] == ["Germany"]
