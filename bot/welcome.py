"""The greeting and the questions offered to start with, from data/welcome.yml.

A first-time user does not know what to ask; a few buttons ("What is a clinical trial?",
"Whom can I contact in my country?") show what the assistant is for and start a
conversation in one tap. Staff edit the file, so it is read live (again when it changes), and
checked: a button whose payload names no intent of domain.yml or no FAQ answer would start a
conversation the assistant cannot follow. A broken edit keeps the welcome served before it
and says why in the log; `bot answers check` and tests/test_welcome.py say it up front.

Used by the web chat (`GET /webhooks/web/welcome`, bot/channels/web.py) and as the buttons of
utter_greet and utter_capabilities (bot/rasa_ext/nlg.py), which Telegram's /start and /help
and "what can you do?" say.

In another language (`welcome_in`) the file stays the source: the greeting is utter_greet's
translation (its English is the file's text), and each button keeps its payload with its FAQ
topic's or intent's title in the language (`faq_title.<key>`, `intent_title.<intent>`,
data/i18n/<code>/), so staff edit one file and no title has to be translated twice. A title
the language lacks is said in the file's English, logged once.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from bot import i18n
from bot.settings import PROJECT_ROOT
from bot.suggestions import FAQ_TITLE, faq_key_of

logger = logging.getLogger(__name__)

WELCOME_FILE = PROJECT_ROOT / "data" / "welcome.yml"
DOMAIN_FILE = PROJECT_ROOT / "domain.yml"
AUDIENCES = ("patients", "researchers", "everyone")
MIN_SUGGESTIONS, MAX_SUGGESTIONS = 4, 6
# A button must fit a phone's inline keyboard and the chat's chips.
MAX_TITLE_CHARS = 60
PAYLOAD = re.compile(r"/(?P<intent>[a-z_]+)(?P<entities>\{.*\})?", re.S)
FAQ_PICK = "faq_pick"
# The response the greeting is (tests/test_welcome.py checks the English is the same): another
# language says its translation, data/i18n/<code>/responses.yml.
GREETING_RESPONSE = "utter_greet"
# The message id of an intent button's title in a language: "intent_title.ask_partner".
INTENT_TITLE = "intent_title."


class WelcomeError(ValueError):
    """data/welcome.yml cannot be served; the message says which entry and why."""


@dataclass(frozen=True)
class Suggestion:
    title: str
    payload: str
    audience: str

    def as_button(self) -> dict[str, str]:
        """As Rasa's and the web chat's buttons are: title and payload only."""
        return {"title": self.title, "payload": self.payload}


@dataclass(frozen=True)
class Welcome:
    text: str
    suggestions: tuple[Suggestion, ...]

    def buttons(self) -> list[dict[str, str]]:
        return [s.as_button() for s in self.suggestions]

    def as_json(self) -> dict[str, Any]:
        return {"text": self.text, "buttons": self.buttons()}


def parse(data: Any) -> Welcome:
    """The file's content as a Welcome, its shape checked (not yet its payloads' targets)."""
    if not isinstance(data, dict):
        raise WelcomeError("welcome.yml must be a mapping with `text` and `suggestions`")
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        raise WelcomeError("welcome.yml: `text` must be the greeting, a non-empty string")
    rows = data.get("suggestions")
    if not isinstance(rows, list) or not MIN_SUGGESTIONS <= len(rows) <= MAX_SUGGESTIONS:
        raise WelcomeError(
            f"welcome.yml: `suggestions` must list {MIN_SUGGESTIONS} to {MAX_SUGGESTIONS} buttons"
        )
    suggestions = []
    for number, row in enumerate(rows, start=1):
        where = f"welcome.yml suggestion {number}"
        if not isinstance(row, dict):
            raise WelcomeError(f"{where}: must have title, payload and audience")
        title, payload, audience = row.get("title"), row.get("payload"), row.get("audience")
        if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE_CHARS:
            raise WelcomeError(f"{where}: title must be 1 to {MAX_TITLE_CHARS} characters")
        if not isinstance(payload, str) or not PAYLOAD.fullmatch(payload.strip()):
            raise WelcomeError(f'{where}: payload must be "/<intent>" or /faq_pick{{...}}')
        if audience not in AUDIENCES:
            raise WelcomeError(f"{where}: audience must be one of {', '.join(AUDIENCES)}")
        suggestions.append(Suggestion(title.strip(), payload.strip(), audience))
    payloads = [s.payload for s in suggestions]
    if len(set(payloads)) != len(payloads):
        raise WelcomeError("welcome.yml: two suggestions send the same payload")
    return Welcome(text.strip(), tuple(suggestions))


def domain_intents(path: Path = DOMAIN_FILE) -> set[str]:
    domain = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(i) if not isinstance(i, dict) else str(next(iter(i))) for i in domain["intents"]}


def faq_keys() -> set[str]:
    """Every FAQ answer's key ("faq_trials/placebo"), from the catalogue in data/faq/."""
    from bot.knowledge import catalogue

    return set(catalogue())


def payload_problems(
    welcome: Welcome, intents: set[str] | None = None, keys: set[str] | None = None
) -> list[str]:
    """Why each button would not work: an intent domain.yml lacks, or an FAQ key no answer
    has; empty when every button leads somewhere."""
    intents = domain_intents() if intents is None else intents
    keys = faq_keys() if keys is None else keys
    problems = []
    for suggestion in welcome.suggestions:
        found = PAYLOAD.fullmatch(suggestion.payload)
        assert found is not None  # parse() checked it
        intent, entities = found["intent"], found["entities"]
        if intent not in intents:
            problems.append(f"{suggestion.title!r}: no intent {intent!r} in domain.yml")
            continue
        try:
            values = json.loads(entities) if entities else {}
        except json.JSONDecodeError:
            problems.append(f"{suggestion.title!r}: the payload's {{...}} is not JSON")
            continue
        if not isinstance(values, dict):
            problems.append(f"{suggestion.title!r}: the payload's {{...}} is not an object")
        elif intent == FAQ_PICK and values.get("faq_key") not in keys:
            problems.append(f"{suggestion.title!r}: no FAQ answer {values.get('faq_key')!r}")
    return problems


def check(path: Path = WELCOME_FILE) -> Welcome:
    """The welcome as the server will serve it, or WelcomeError with every problem."""
    try:
        welcome = parse(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError) as error:
        raise WelcomeError(f"{path.name} cannot be read: {error}") from error
    problems = payload_problems(welcome)
    if problems:
        raise WelcomeError(f"{path.name}: " + "; ".join(problems))
    return welcome


def report(path: Path = WELCOME_FILE) -> int:
    """`bot answers check`'s part: 0 when the welcome is live-ready, else 1 and why."""
    try:
        checked = check(path)
    except WelcomeError as error:
        print(f"Not live-ready: {error}", file=sys.stderr)
        return 1
    print(f"{len(checked.suggestions)} welcome suggestions in {path.name} lead somewhere.")
    return 0


class LiveWelcome:
    """The file, re-read when it changes; a broken edit keeps the last good welcome."""

    def __init__(self, path: Path = WELCOME_FILE) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._state: tuple[int, int, int] | None = None
        self._good: Welcome | None = None
        self._error: WelcomeError | None = None

    def current(self) -> Welcome:
        """The welcome to serve; WelcomeError only while no version of the file was good."""
        try:
            stat = self.path.stat()
            state = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        except OSError:
            state = None
        with self._lock:
            if state is None or state != self._state:
                self._state = state
                try:
                    self._good, self._error = check(self.path), None
                except WelcomeError as error:
                    self._error = error
                    kept = "the previous welcome stays" if self._good else "no welcome"
                    logger.error("%s (%s)", error, kept)
            if self._good is None:
                raise self._error or WelcomeError(f"{self.path.name} was never read")
            return self._good


_live = LiveWelcome()


def welcome() -> Welcome:
    """The current greeting and suggestions (see LiveWelcome)."""
    return _live.current()


def title_key(payload: str) -> str:
    """The message id of a button's title in another language: its FAQ topic's question
    (`faq_title.<key>`, faq_titles.yml) or its intent's (`intent_title.<intent>`,
    messages.yml)."""
    faq_key = faq_key_of(payload)
    if faq_key is not None:
        return FAQ_TITLE + faq_key
    found = PAYLOAD.fullmatch(payload.strip())
    return INTENT_TITLE + (found["intent"] if found else payload.strip().lstrip("/"))


def _title_in(suggestion: Suggestion, code: str) -> str:
    """The button's title in language `code`, else the file's English (logged once)."""
    return i18n.translation(title_key(suggestion.payload), code) or suggestion.title


def welcome_in(language: str | None) -> Welcome:
    """The current welcome in `language` ("fr", "fr-CH"; None or one the assistant does not
    speak: the default language): the greeting and the button titles translated, payloads
    and audiences unchanged; for English, the file as staff wrote it. WelcomeError as
    `welcome()`."""
    shown = welcome()
    code = i18n.supported(language) or i18n.default_language()
    if code == i18n.SOURCE:
        return shown
    try:
        greeting = i18n.response(GREETING_RESPONSE, code)  # None (logged) when it has none
        suggestions = tuple(replace(s, title=_title_in(s, code)) for s in shown.suggestions)
    except (OSError, yaml.YAMLError, i18n.I18nError):
        # A broken translation file must not take the greeting with it: English instead.
        logger.exception("The %s welcome cannot be read: saying it in English", code)
        return shown
    text = greeting.get("text") if greeting else None
    return Welcome(str(text) if text else shown.text, suggestions)


def welcome_buttons(language: str | None = None) -> list[dict[str, str]]:
    """The suggestions as buttons in `language` (see welcome_in), or none (logged) while the
    file has never been good: a greeting without buttons is better than no greeting."""
    try:
        return welcome_in(language).buttons()
    except WelcomeError:
        return []
