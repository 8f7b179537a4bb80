"""What counts as the same wording for a live correction, and which corrections the guardrails
refuse (bot.corrections)."""

from __future__ import annotations

import pytest

from bot.corrections import CorrectionRefused, check_correction, normalise
from bot.safety_rules import SAFETY_INTENTS, guard

KNOWN = {"faq_trials/placebo", "faq_trials/costs", "faq_trials/side_effects", "ask_events", "greet"}


@pytest.mark.parametrize(
    "variant",
    [
        "what is a placebo",
        "What is a PLACEBO?!",
        "  what   is a placebo ",
        "What is a placébo?",
        "what, is a placebo...",
        "WHAT IS A PLACEBO\u00a0?",  # a non-breaking space before the question mark
        "what_is a placebo",
    ],
)
def test_case_spaces_punctuation_and_accents_do_not_count(variant: str) -> None:
    assert normalise(variant) == "what is a placebo"


@pytest.mark.parametrize(
    "other", ["what is a placebo trial", "what is placebo", "whats a placebo", "was ist placebo"]
)
def test_other_words_are_another_wording(other: str) -> None:
    assert normalise(other) != normalise("What is a placebo?")


def test_letters_of_other_scripts_and_digits_are_words() -> None:
    assert normalise("Что такое плацебо?") == "что такое плацебо"
    assert normalise("Phase-3 trials") == "phase 3 trials"
    assert normalise("STRASSE") == normalise("straße")  # case-folded, not only lower-cased


def test_an_ordinary_relabel_is_allowed() -> None:
    check_correction("do trials pay for my bus ticket", "faq_trials/costs", "ask_events", KNOWN)
    check_correction("zzqx blorf wibble", "nlu_fallback", "faq_trials/placebo", KNOWN)
    check_correction("hi there", None, "greet")  # no `known`: the caller checked the label


def test_an_unknown_label_is_refused() -> None:
    with pytest.raises(CorrectionRefused, match="not an intent or retrieval key"):
        check_correction("what is a placebo", "nlu_fallback", "faq_trials/made_up", KNOWN)


@pytest.mark.parametrize(
    "text",
    [
        "I want to kill myself",
        "my dad collapsed and is not breathing",
        "can I take ibuprofen with my study drug?",
        "should I stop my medication",
    ],
)
def test_a_message_the_guardrails_flag_is_never_corrected(text: str) -> None:
    flagged = guard(text)
    assert flagged in SAFETY_INTENTS
    with pytest.raises(CorrectionRefused, match=f"guardrails answer this message as {flagged}"):
        check_correction(text, "faq_trials/side_effects", "faq_trials/side_effects", KNOWN)


@pytest.mark.parametrize("predicted", sorted(SAFETY_INTENTS))
def test_a_message_read_as_a_safety_intent_is_never_routed_elsewhere(predicted: str) -> None:
    # Words no guardrail pattern knows, which the model still took for a safety message.
    text = "everything feels grey and heavy lately"
    assert guard(text) is None
    with pytest.raises(CorrectionRefused, match=f"read this message as {predicted}"):
        check_correction(text, predicted, "greet", KNOWN)


def test_button_payloads_and_wordless_messages_are_refused() -> None:
    with pytest.raises(CorrectionRefused, match="button payload"):
        check_correction("/feedback_negative", "feedback_negative", "greet", KNOWN)
    with pytest.raises(CorrectionRefused, match="no words"):
        check_correction("?!…", "nlu_fallback", "greet", KNOWN)
