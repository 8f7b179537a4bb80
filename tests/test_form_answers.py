"""What a waiting form takes as an answer, and what it leaves to the dialogue rules."""

from __future__ import annotations

import pytest

from bot.form_answers import country_answer, is_done, is_skip, looks_like_question, may_answer


@pytest.mark.parametrize(
    ("text", "intent", "country"),
    [
        ("Ireland", "inform", "Ireland"),
        ("España", "faq_trials", "Spain"),  # a bare answer the classifier filed elsewhere
        ("I'm Swiss", "faq_ecrin", "Switzerland"),
        ("oops, I meant Austria", "inform", "Austria"),
        ("not Greece, Cyprus", "inform", "Cyprus"),
        ("we're a hospital in Kraków", "nlu_fallback", "Poland"),
    ],
)
def test_a_country_given_as_an_answer_is_taken(text: str, intent: str, country: str) -> None:
    found = country_answer(text, intent)
    assert found is not None and found.name == country


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("can you book me a taxi to Lyon?", "out_of_scope"),
        ("my husband in Paris is having a seizure", "emergency"),
        ("do patients get paid in Germany?", "faq_trials"),
        ("tell me about trials in Italy", "faq_trials"),
        ("I want to speak to someone in Madrid", "handoff"),
        ("stop asking about Spain", "stop"),
    ],
)
def test_a_message_about_something_else_is_not_an_answer(text: str, intent: str) -> None:
    assert country_answer(text, intent) is None


@pytest.mark.parametrize(
    ("text", "intent", "skip"),
    [
        ("not sure", "dont_know", True),
        ("/dont_know", "dont_know", True),
        ("no idea", "inform", True),
        ("skip", "inform", True),
        ("skip", "stop", True),
        ("not sure, I feel dizzy", "emergency", False),
        ("we're recruiting", "inform", False),
    ],
)
def test_not_knowing_skips_the_question(text: str, intent: str, skip: bool) -> None:
    assert is_skip(text, intent) is skip


@pytest.mark.parametrize(
    ("text", "intent", "done"),
    [
        ("that's all", "goodbye", True),
        ("nothing else", "thank", True),
        ("that's all I can tell you", "inform", True),
        ("just give me the plan", "plan_involvement", True),
        ("finished", "done", True),
        ("is that all?", "faq_trials", False),
        ("that's all, I can't breathe", "emergency", False),
        ("we're recruiting", "inform", False),
    ],
)
def test_thats_all_ends_the_questions(text: str, intent: str, done: bool) -> None:
    assert is_done(text, intent) is done


def test_a_question_is_never_read_as_an_answer() -> None:
    assert may_answer("we're recruiting", "inform")
    assert not may_answer("what is a protocol?", "faq_trials")
    assert not may_answer("my friend is not breathing, design", "emergency")
    assert may_answer("how do we pay patient partners in our trial?", "plan_involvement")


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("what's a placebo?", True),
        ("tell me about phases", True),
        ("How much does it cost", True),
        ("Poland", False),
        ("we are designing the protocol", False),
    ],
)
def test_looks_like_question(text: str, question: bool) -> None:
    assert looks_like_question(text) is question


def test_the_domain_never_fills_the_country_from_a_message_that_is_never_an_answer() -> None:
    # domain.yml repeats the rule as `not_intent` on the country slot's mappings.
    import yaml

    from bot.form_answers import NEVER_AN_ANSWER
    from bot.settings import PROJECT_ROOT

    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    for mapping in domain["slots"]["country"]["mappings"]:
        assert set(mapping.get("not_intent", [])) <= NEVER_AN_ANSWER
        assert not set(mapping.get("intent", [])) & NEVER_AN_ANSWER


def test_the_safety_intents_are_those_of_the_safety_guard() -> None:
    from bot import form_answers, safety

    assert frozenset(safety.SAFETY_INTENTS) == form_answers.SAFETY_INTENTS
