"""The "Was this helpful? 👍 / 👎" control under each answer: the rule and payloads channels share.

An *answer* is a bot message that cites its source: every FAQ and look-up answer ends with
`Learn more: <URL>` (bot/answers.py checks the FAQ files for it), while the questions the
assistant asks, greetings and acknowledgements have no such link. Rating those would mean
nothing, so only answers get the control.

A rating is sent as an ordinary user message (the payloads below are Rasa intents), so it is
stored in the conversation right after the answer it rates.

bot/web/static/chat.js mirrors SOURCE_LINK and the payloads; tests/test_feedback.py checks that
the two stay the same.
"""

from __future__ import annotations

import re
from functools import lru_cache

from bot.i18n import learn_more_phrases

# The intents a rating is; typed praise and complaints are classified as the same intents.
POSITIVE_INTENT = "feedback_positive"
NEGATIVE_INTENT = "feedback_negative"
POSITIVE = f"/{POSITIVE_INTENT}"
NEGATIVE = f"/{NEGATIVE_INTENT}"
# What each rating shows as: on its button, and as the user's message in the web transcript.
FEEDBACK_EMOJI = {POSITIVE: "👍", NEGATIVE: "👎"}
QUESTION = "Was this helpful?"
THANKS = "Thanks for your feedback"

SOURCE_LINK = re.compile(r"Learn more: https?://\S")


@lru_cache(maxsize=1)
def source_links() -> re.Pattern[str]:
    """SOURCE_LINK in every language the assistant answers in: each language's learn_more
    phrase of data/languages.yml ("En savoir plus :") before the link (issue 22). The web
    chat gets the verdict from the server (bot/channels/web_messages.py `answer`)."""
    phrases = sorted({"Learn more:", *learn_more_phrases()}, key=len, reverse=True)
    return re.compile(f"(?:{'|'.join(map(re.escape, phrases))}) https?://\\S")


def is_answer(text: str | None) -> bool:
    """Whether a bot message is an answer, i.e. gets a "Was this helpful?" control."""
    return text is not None and source_links().search(text) is not None


def is_feedback(payload: str | None) -> bool:
    """Whether a user message is a rating given with the control."""
    return payload in FEEDBACK_EMOJI
