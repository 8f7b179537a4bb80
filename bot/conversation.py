"""What the conversation so far says: the last answer, what it was about, and what a short
message means in its light.

People do not ask isolated questions: "say that again", "tell me more", "that's not what I
asked", "and Austria?" or "is it free?" only make sense against the previous answer. These
functions read Rasa's serialised events (the dicts that rasa-sdk's `Tracker.events` holds and
that the tracker store keeps), so the action server, the dialogue policy and tests share them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.answers import FAQ_RESPONSE_PREFIX

Event = Mapping[str, Any]

# What the forms say when they ask: a turn that only asks is not an answer to repeat.
ASK_RESPONSES = frozenset(
    {
        "utter_ask_country",
        "utter_ask_country_again",
        "utter_ask_country_for_guidance",
        "utter_ask_research_stage",
        "utter_ask_research_stage_again",
        "utter_ask_study_kind",
        "utter_ask_study_kind_again",
        "utter_ask_population",
        "utter_ask_population_again",
        "utter_ask_help_topics",
        "utter_ask_help_topics_again",
    }
)
# Replies about the conversation itself, never "the answer" a follow-up refers to.
REPAIR_RESPONSES = frozenset(
    {
        "utter_feedback_positive",
        "utter_nothing_to_repeat",
        "utter_cannot_handle_in_form",
        "utter_stop",
        "utter_dont_know",
    }
)
# Intents whose messages are about the previous answer, not a new question.
REPAIR_INTENTS = frozenset({"repeat", "more", "feedback_negative", "feedback_positive"})

# The look-ups a follow-up such as "and Austria?" continues.
PARTNER, INVOLVEMENT, EVENTS, FAQ = "partner", "involvement", "events", "faq"
EUPATI_PLATFORM = "eupati_platform"
TOPIC_ACTIONS = {
    "action_find_partner": PARTNER,
    "action_involvement_guidance": INVOLVEMENT,
    "action_find_events": EVENTS,
    "action_eupati_platform": EUPATI_PLATFORM,
}


@dataclass
class Turn:
    """One user message and everything the assistant did and said in reply."""

    user: Event
    actions: list[str] = field(default_factory=list)
    bot: list[Event] = field(default_factory=list)

    @property
    def intent(self) -> str | None:
        return ((self.user.get("parse_data") or {}).get("intent") or {}).get("name")

    @property
    def text(self) -> str:
        return self.user.get("text") or ""

    @property
    def responses(self) -> list[str]:
        """The response names the assistant used ("utter_faq_trials/placebo", …)."""
        return [(b.get("metadata") or {}).get("utter_action") or "" for b in self.bot]

    @property
    def faq_key(self) -> str | None:
        """The FAQ topic this turn answered ("faq_trials/placebo"), if it answered one."""
        for name in self.responses:
            if name.startswith(FAQ_RESPONSE_PREFIX):
                return name.removeprefix("utter_")
        return None

    @property
    def topic(self) -> str | None:
        """The look-up or kind of answer this turn gave, if any."""
        for action in reversed(self.actions):
            if action in TOPIC_ACTIONS:
                return TOPIC_ACTIONS[action]
        return FAQ if self.faq_key else None

    def answer_messages(self) -> list[Event]:
        """What the assistant said, less the forms' questions and the repair replies."""
        return [
            b
            for b in self.bot
            if (b.get("metadata") or {}).get("utter_action") not in ASK_RESPONSES | REPAIR_RESPONSES
            and (b.get("text") or b.get("data", {}).get("buttons"))
        ]

    @property
    def is_answer(self) -> bool:
        return bool(self.answer_messages()) and self.intent not in REPAIR_INTENTS


def turns(events: Iterable[Event]) -> list[Turn]:
    """The conversation as turns; events before the first user message are dropped."""
    result: list[Turn] = []
    for event in events:
        kind = event.get("event")
        if kind == "user":
            result.append(Turn(user=event))
        elif not result:
            continue
        elif kind == "bot":
            result[-1].bot.append(event)
        elif kind == "action" and event.get("name") != "action_listen":
            result[-1].actions.append(event["name"])
    return result


def previous_answer(events: Sequence[Event]) -> Turn | None:
    """The last turn before the current message in which the assistant answered something.

    Repeats and "tell me more" replies are skipped, so "say that again" twice still repeats
    the answer, not the repetition's preface.
    """
    for turn in reversed(turns(events)[:-1]):
        if turn.is_answer:
            return turn
    return None


def last_topic(events: Sequence[Event]) -> Turn | None:
    """The last earlier turn that looked something up or answered an FAQ."""
    for turn in reversed(turns(events)[:-1]):
        if turn.topic:
            return turn
    return None


def since_activation(events: Sequence[Event], form: str) -> list[Event]:
    """The events after `form` last started, oldest first."""
    later: list[Event] = []
    for event in reversed(events):
        if event.get("event") == "active_loop" and event.get("name") == form:
            break
        later.append(event)
    return later[::-1]


def asked_since_activation(events: Sequence[Event], form: str, responses: Iterable[str]) -> bool:
    """Whether the active `form` already asked one of `responses` since it last started."""
    wanted = set(responses)
    return any(
        event.get("event") == "bot" and (event.get("metadata") or {}).get("utter_action") in wanted
        for event in since_activation(events, form)
    )


# --- Questions that point back at the previous answer --------------------------------------------

# "is it free?", "who runs it?", "where are they based?", "any courses there?"
_REFERRING = re.compile(
    r"\b(it|its|it's|they|them|their|theirs|this|that|these|those|there|the course|"
    r"the training|the programme|the program|the organi[sz]ation|the network|the foundation|"
    r"that phase|this phase|the same)\b"
)
# Naming the subject makes the question stand on its own: no context needed.
_SUBJECTS = {
    "faq_ecrin": re.compile(r"\becrin\b"),
    "faq_eupati": re.compile(r"\b(eupati|patients'? academy|toolbox|open classroom)\b"),
    "faq_trials": re.compile(r"\b(trials?|studies|study|placebo|phases?|randomi[sz]\w*)\b"),
    "faq_ppi": re.compile(r"\b(ppi|patient (and public )?involvement|patient partners?)\b"),
}


def faq_group(faq_key: str | None) -> str | None:
    """ "faq_eupati/training_cost" -> "faq_eupati"."""
    return faq_key.split("/", 1)[0] if faq_key else None


def refers_back(text: str) -> bool:
    """A question that leans on the previous answer: a pronoun, and no subject named."""
    lowered = text.lower().replace("\u2019", "'")
    if any(subject.search(lowered) for subject in _SUBJECTS.values()):
        return False
    return bool(_REFERRING.search(lowered))


def faq_ranking(parse_data: Mapping[str, Any]) -> list[tuple[str, float]]:
    """The response selector's candidates for a message, most likely first."""
    selectors = parse_data.get("response_selector") or {}
    ranking: list[tuple[str, float]] = []
    for selector in selectors.values():
        if not isinstance(selector, Mapping):
            continue
        for entry in selector.get("ranking") or []:
            key = entry.get("intent_response_key")
            if key:
                ranking.append((key, float(entry.get("confidence") or 0.0)))
    ranking.sort(key=lambda item: item[1], reverse=True)
    return ranking


# A question that points back and names no subject stays on the previous answer's subject
# when the selector ranks one of its topics at all (its top ten); "is it free?" after EUPATI's
# training ranks EUPATI's training cost at 0.01 behind a trial's costs at 0.84.
MIN_CONTEXT_CONFIDENCE = 0.005
# A message the classifier did not take for an FAQ question ("where is it based?" falls back,
# "who runs it?" reads like a partner question) is answered from context only when the
# previous subject's best topic is this plausible; else the rules handle it as classified.
MIN_UNCLEAR_CONTEXT_CONFIDENCE = 0.03
UNCLEAR_INTENT = "nlu_fallback"
FAQ_INTENT_PREFIX = "faq_"


def faq_in_context(
    text: str, parse_data: Mapping[str, Any], previous_key: str | None
) -> str | None:
    """The FAQ topic a follow-up question means, when context changes the model's choice.

    "is it free?" after an answer about EUPATI's training means EUPATI's training cost, not
    what a trial costs a patient; "where is it based?", too unclear on its own, means where
    EUPATI is. Returns None when the model's own reading stands.
    """
    ranking = faq_ranking(parse_data)
    group = faq_group(previous_key)
    if not ranking or group is None or not refers_back(text):
        return None
    intent = (parse_data.get("intent") or {}).get("name") or ""
    read_as_faq = intent.startswith(FAQ_INTENT_PREFIX)
    if read_as_faq and faq_group(ranking[0][0]) == group:
        return None
    minimum = MIN_CONTEXT_CONFIDENCE if read_as_faq else MIN_UNCLEAR_CONTEXT_CONFIDENCE
    for key, confidence in ranking:
        if faq_group(key) == group and key != previous_key:
            return key if confidence >= minimum else None
    return None


def related_faq_keys(parse_data: Mapping[str, Any], answered: str, limit: int = 3) -> list[str]:
    """Other topics the question behind `answered` could have meant, most likely first."""
    return [key for key, _ in faq_ranking(parse_data) if key != answered][:limit]


LINK = re.compile(r"https?://\S+")


def source_link(text: str) -> str | None:
    """The last link in an answer: by the content rules, its authoritative page."""
    links = LINK.findall(text or "")
    return links[-1].rstrip(".,;)") if links else None


def previous_faq_key(events: Sequence[Event]) -> str | None:
    """The FAQ topic of the previous answer, if that answer was an FAQ: what a follow-up
    such as "is it free?" can point back to (an older answer is too far back)."""
    previous = previous_answer(events)
    return previous.faq_key if previous else None
