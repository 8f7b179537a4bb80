"""Reading the conversation so far: turns, the previous answer, follow-ups in context."""

from __future__ import annotations

from bot import conversation
from tests.dialogue_events import action, bot, user

EUPATI_ANSWER = [
    user("what is EUPATI?", "faq_eupati", [("faq_eupati/what_is_eupati", 0.9)]),
    action("utter_faq_eupati"),
    bot(
        "EUPATI is … Learn more: https://eupati.eu/about-us/faq/", "utter_faq_eupati/what_is_eupati"
    ),
    action("action_listen"),
]


def test_turns_group_each_message_with_its_reply() -> None:
    turns = conversation.turns([action("action_session_start"), *EUPATI_ANSWER])
    assert len(turns) == 1
    assert turns[0].faq_key == "faq_eupati/what_is_eupati"
    assert turns[0].topic == conversation.FAQ
    assert turns[0].actions == ["utter_faq_eupati"]


def test_previous_answer_skips_repeats_and_the_forms_questions() -> None:
    events = [
        *EUPATI_ANSWER,
        user("say that again", "repeat"),
        action("action_repeat"),
        bot("EUPATI is …", "utter_faq_eupati/what_is_eupati"),
        user("who is my partner?", "ask_partner"),
        action("partner_form"),
        bot("Which country?", "utter_ask_country"),
        user("once more", "repeat"),
    ]
    previous = conversation.previous_answer(events)
    assert previous is not None and previous.text == "what is EUPATI?"


def test_last_topic_is_the_last_look_up() -> None:
    events = [
        *EUPATI_ANSWER,
        user("partner in Spain", "ask_partner"),
        action("partner_form"),
        action("action_find_partner"),
        bot("ECRIN's national partner in Spain is SCReN. Learn more: https://www.scren.eu"),
        user("and Italy?", "inform"),
    ]
    assert conversation.last_topic(events).topic == conversation.PARTNER
    # "and Italy?" points back at the partner answer, not at the older FAQ answer.
    assert conversation.previous_faq_key(events) is None
    follow_up = [*EUPATI_ANSWER, user("who funds it?", "faq_ecrin")]
    assert conversation.previous_faq_key(follow_up) == "faq_eupati/what_is_eupati"


def test_asked_since_activation_counts_only_the_current_form_run() -> None:
    asks = ("utter_ask_country", "utter_ask_country_again")
    events = [
        {"event": "active_loop", "name": "partner_form"},
        bot("Which country?", "utter_ask_country"),
        {"event": "active_loop", "name": None},
        {"event": "active_loop", "name": "partner_form"},
    ]
    assert not conversation.asked_since_activation(events, "partner_form", asks)
    assert conversation.asked_since_activation(events[:2], "partner_form", asks)


def test_a_follow_up_is_answered_in_the_previous_answers_subject() -> None:
    parse = user(
        "is it free?",
        "faq_trials",
        [("faq_trials/costs", 0.6), ("faq_eupati/training_cost", 0.2), ("faq_ecrin/funding", 0.1)],
    )["parse_data"]
    assert (
        conversation.faq_in_context("is it free?", parse, "faq_eupati/what_is_eupati")
        == "faq_eupati/training_cost"
    )
    # A question that names its subject, or no previous answer: the model's choice stands.
    assert conversation.faq_in_context("is a trial free?", parse, "faq_eupati/toolbox") is None
    assert conversation.faq_in_context("is it free?", parse, None) is None
    # The model already chose the same subject.
    assert conversation.faq_in_context("is it free?", parse, "faq_trials/placebo") is None


def test_context_does_not_overrule_a_clear_reading() -> None:
    parse = user(
        "what is that?", "faq_trials", [("faq_trials/placebo", 0.99), ("faq_eupati/toolbox", 0.001)]
    )["parse_data"]
    assert conversation.faq_in_context("what is that?", parse, "faq_eupati/what_is_eupati") is None


def test_source_link_is_the_last_link() -> None:
    text = "See https://a.example/x and more. Learn more: https://b.example/y."
    assert conversation.source_link(text) == "https://b.example/y"


def test_an_unclear_follow_up_is_read_in_the_previous_answers_subject() -> None:
    parse = user(
        "where is it based?",
        "nlu_fallback",
        [("faq_eupati/who_runs_eupati", 0.07), ("faq_ecrin/seat", 0.07)],
    )["parse_data"]
    previous = "faq_eupati/what_is_eupati"
    assert conversation.faq_in_context("where is it based?", parse, previous) == (
        "faq_eupati/who_runs_eupati"
    )
    # Too faint a candidate: better to ask "did you mean …?".
    faint = user("where is it?", "nlu_fallback", [("faq_eupati/history", 0.01)])["parse_data"]
    assert conversation.faq_in_context("where is it?", faint, previous) is None
