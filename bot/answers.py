"""FAQ answers: the texts in data/nlu/faq_*.yml, checked and read while the assistant runs.

The answers sit beside their training examples (`responses:` in each faq_*.yml file), but
they are content, not training data: the response selector learns answer keys, never their
text. So a changed answer goes live without training (bot/rasa_ext/nlg.py): Rasa trains on one
placeholder for every answer and its server says the text read here, re-read when a file
changes. Every answer must pass `answer_problems` to go live; a broken edit keeps the
answers served before it and says why in the log (`bot answers check` says it up front).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from bot import i18n
from bot.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

ANSWERS_DIR = PROJECT_ROOT / "data" / "nlu"
ANSWER_FILES = "faq_*.yml"
FAQ_RESPONSE_PREFIX = "utter_faq_"

LINK_AT_END = re.compile(r"Learn more: https?://\S+$")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
PHONE_LIKE = re.compile(r"\+?\d[\d ()]{4,}\d")
URL = re.compile(r"https?://\S+")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
CRISIS_LINES_FILE = PROJECT_ROOT / "data" / "db" / "crisis_lines.yml"


def _crisis_line_phones(path: Path = CRISIS_LINES_FILE) -> frozenset[str]:
    """The numbers of the checked crisis-line table, as `phone_numbers` reads them back."""
    if not path.exists():
        return frozenset()
    rows = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("crisis_lines") or []
    return frozenset(
        number for row in rows for number in PHONE_LIKE.findall(str(row.get("phone") or ""))
    )


# The only phone numbers we give: vetted crisis lines (docs/safety.md: 116 123 and the
# checked crisis-line table). Anything else that looks like one would be invented or unchecked.
ALLOWED_PHONES = frozenset({"116 123"}) | _crisis_line_phones()
MAX_SENTENCES = 5

Responses = dict[str, list[dict[str, Any]]]
# Name, inode, modification time and size of each answer file: a new inode catches editors
# that save by replacing the file, the size catches two saves within one clock tick.
FilesState = tuple[tuple[str, int, int, int], ...]


class AnswerError(ValueError):
    """The answer files cannot go live; the message names the file, the answer and why."""


def phone_numbers(text: str) -> set[str]:
    """Phone-number-like digit runs outside links (years and counts are too short)."""
    return {
        match
        for match in PHONE_LIKE.findall(URL.sub("", text))
        if sum(character.isdigit() for character in match) >= 6
    }


def link_at_end(language: str | None = None) -> re.Pattern[str]:
    """LINK_AT_END in `language`: its learn_more phrase (data/languages.yml) and a link."""
    if i18n.supported(language) in (None, i18n.SOURCE):
        return LINK_AT_END
    return re.compile(rf"{re.escape(i18n.learn_more(language))} https?://\S+$")


def answer_problems(text: str, language: str | None = None) -> list[str]:
    """Why an answer text may not be said to a patient; empty when it may. A translation
    (`language`) ends with that language's phrase ("En savoir plus : <URL>")."""
    problems = []
    link = link_at_end(language)
    if not link.search(text):
        phrase = i18n.learn_more(language)
        problems.append(f"it must end with '{phrase} <URL>' (the authoritative page)")
    body = link.sub("", text).strip()
    sentences = [sentence for sentence in SENTENCE_END.split(body) if sentence]
    if not 1 <= len(sentences) <= MAX_SENTENCES:
        problems.append(f"it has {len(sentences)} sentences (1 to {MAX_SENTENCES})")
    if EMAIL.search(text):
        problems.append("it contains an e-mail address")
    unvetted = phone_numbers(text) - ALLOWED_PHONES
    if unvetted:
        problems.append(f"it contains an unvetted phone number: {', '.join(sorted(unvetted))}")
    return problems


def answer_files(directory: Path = ANSWERS_DIR) -> list[Path]:
    return sorted(directory.glob(ANSWER_FILES))


def _variants(where: str, variants: Any) -> list[dict[str, Any]]:
    if not isinstance(variants, list) or not variants:
        raise AnswerError(f"{where}: expected a list of variants like `- text: ...`")
    for variant in variants:
        text = variant.get("text") if isinstance(variant, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise AnswerError(f"{where}: every variant needs a `text`")
        problems = answer_problems(text)
        if problems:
            raise AnswerError(f"{where}: {'; '.join(problems)}")
    return variants


def read_answers(paths: Iterable[Path]) -> Responses:
    """Every FAQ answer in `paths`, by response name (`utter_faq_trials/placebo`).

    Raises AnswerError at the first file that does not parse, duplicate, or answer that
    breaks a rule, so that nothing half-checked goes live.
    """
    answers: Responses = {}
    for path in paths:
        try:
            document = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
            raise AnswerError(f"{path.name}: cannot be read: {error}") from error
        responses = (document or {}).get("responses") if isinstance(document, dict) else None
        if not isinstance(responses, dict):
            raise AnswerError(f"{path.name}: no `responses:` mapping")
        for name, variants in responses.items():
            where = f"{path.name}: {name}"
            if not str(name).startswith(FAQ_RESPONSE_PREFIX) or "/" not in str(name):
                raise AnswerError(f"{where}: only FAQ answers (utter_faq_<group>/<topic>) go here")
            if name in answers:
                raise AnswerError(f"{where}: answered twice")
            answers[name] = _variants(where, variants)
    if not answers:
        raise AnswerError("no FAQ answers found")
    return answers


def trained_topics(directory: Path = ANSWERS_DIR) -> set[str]:
    """The answer every FAQ topic with training examples in `directory` needs."""
    names = set()
    for path in answer_files(directory):
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader) or {}
        for item in document.get("nlu") or []:
            if str(item.get("intent", "")).startswith("faq_"):
                names.add(f"utter_{item['intent']}")
    return names


def check(directory: Path = ANSWERS_DIR, required: Iterable[str] = ()) -> Responses:
    """The answers in `directory`, if every one passes and none of `required` is missing."""
    answers = read_answers(answer_files(directory))
    missing = sorted(set(required) - set(answers))
    if missing:
        raise AnswerError(f"no answer for {', '.join(missing)}")
    return answers


class LiveAnswers:
    """The answers as they are on disk, re-read when an answer file changes.

    `current()` costs a few `stat` calls when nothing changed. A change that fails `check`
    (a typo in the YAML, a missing link, an answer deleted that the model can still pick) is
    not taken: the previous answers stay live and the reason is logged.
    """

    def __init__(self, directory: Path = ANSWERS_DIR, required: Iterable[str] = ()) -> None:
        self.directory = directory
        self.required = frozenset(required)
        self._answers: Responses = {}
        self._seen: FilesState | None = None
        self._lock = threading.Lock()
        self.current()

    def require(self, names: Iterable[str]) -> None:
        """From now on, refuse answers that lack one of `names` (checked on the next read)."""
        self.required = frozenset(names)
        self._seen = None

    def _files_state(self) -> FilesState:
        state = []
        for path in answer_files(self.directory):
            try:
                stat = path.stat()
            except OSError:  # removed between the listing and the stat
                continue
            state.append((path.name, stat.st_ino, stat.st_mtime_ns, stat.st_size))
        return tuple(state)

    def current(self) -> Responses:
        state = self._files_state()
        if state != self._seen:
            with self._lock:
                if state != self._seen:
                    self._reload(state)
        return self._answers

    def _reload(self, state: FilesState) -> None:
        self._seen = state
        try:
            answers = check(self.directory, self.required)
        except AnswerError as error:
            kept = f"still serving the {len(self._answers)} previous answers"
            logger.error("FAQ answers in %s not loaded, %s: %s", self.directory, kept, error)
            return
        changed = sorted(name for name in answers if answers[name] != self._answers.get(name))
        if not self._answers:
            logger.info("FAQ answers loaded: %d from %s", len(answers), self.directory)
        elif changed:
            logger.info("FAQ answers changed in %s: %s", self.directory, ", ".join(changed))
        self._answers = answers
