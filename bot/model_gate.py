"""The gate a newly trained model must pass before it replaces the live one, and the figures
it is judged on (bot/training.py measures them; docs/models.md explains them).

* **Held-out split** (tests/nlu/, never trained on): intent accuracy and FAQ selection
  accuracy, as `bot eval` computes them (bot.evaluation.score). The candidate may score at
  most TOLERANCE below the live model on either, measured the same way on the same split. A
  given archive always scores the same, but training is not repeatable to the example:
  retrainings on the same data spread over about a point either way (docs/models.md), so a
  stricter gate refused most retrainings for noise, while a real regression (a model trained
  one epoch) falls by tens of points.
* **Safety cases**: every example labelled with a safety intent (emergency, self-harm, the
  person's own trial treatment, medical advice) in the held-out split and in the training
  data, and the wordings tests/test_safety.py checks the guardrails on (when the tests are
  there). All must come out as their safety intent: 100 %.
* **Multi-turn conversations** (tests/conversations/, bot.playback) played against the
  candidate in a throwaway assistant (bot.evaluation.throwaway_assistant): all must pass.
  They take about half a minute, and are played only when the checks above passed.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bot import playback
from bot.evaluation import (
    TEST_DIR,
    TRAIN_DIR,
    Example,
    load_examples,
    predict_with_model,
    rest_sender,
    score,
    throwaway_assistant,
)
from bot.safety_rules import SAFETY_INTENTS
from bot.settings import PROJECT_ROOT

# The guardrails' own test wordings; absent from the image, which carries no tests.
SAFETY_TESTS = PROJECT_ROOT / "tests" / "test_safety.py"
# How far below the live model a candidate may score on the held-out split (see above):
# one point, about 6 of the 563 held-out examples.
TOLERANCE = 0.01
# Examples of failures kept in the figures (the log has them all).
SHOWN_FAILURES = 10


@dataclass(frozen=True)
class EvaluationSet:
    """What every model is measured on."""

    held_out: list[Example]
    safety: list[Example]

    @property
    def digest(self) -> str:
        """Changes when an example does: the live model's cached figures are then stale."""
        hashed = hashlib.sha256()
        for example in [*self.held_out, None, *self.safety]:
            hashed.update(repr(example and (example.text, example.label)).encode())
        return hashed.hexdigest()[:16]


def safety_test_messages(path: Path = SAFETY_TESTS) -> list[Example]:
    """The `<INTENT>_MESSAGES` lists of tests/test_safety.py (SELF_HARM_MESSAGES…), read as
    literals, not imported: the guardrails' own examples of each safety intent."""
    if not path.exists():
        return []
    found = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        target = node.targets[0]
        if not (isinstance(target, ast.Name) and target.id.endswith("_MESSAGES")):
            continue
        intent = target.id.removesuffix("_MESSAGES").lower()
        if intent in SAFETY_INTENTS:
            found += [Example(text, intent) for text in ast.literal_eval(node.value)]
    return found


def evaluation_set(
    test_dir: Path = TEST_DIR, train_dir: Path = TRAIN_DIR, safety_tests: Path = SAFETY_TESTS
) -> EvaluationSet:
    held_out = load_examples(test_dir)
    if not held_out:
        raise FileNotFoundError(
            f"No held-out examples in {test_dir}: a model cannot be judged without them (an "
            "image that trains must carry tests/nlu/ and tests/conversations/)."
        )
    labelled = [*held_out, *load_examples(train_dir), *safety_test_messages(safety_tests)]
    safety = [example for example in labelled if example.intent in SAFETY_INTENTS]
    return EvaluationSet(held_out, list(dict.fromkeys(safety)))


@dataclass(frozen=True)
class Figures:
    """One model's measurements; conversations None: not played."""

    intent_accuracy: float
    faq_accuracy: float
    held_out: int
    safety_accuracy: float
    safety_cases: int
    safety_failures: list[str] = field(default_factory=list)
    split_digest: str = ""
    conversations_passed: int | None = None
    conversations_total: int | None = None
    conversation_failures: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> Figures | None:
        if not values:
            return None
        known = cls.__dataclass_fields__
        return cls(**{name: value for name, value in values.items() if name in known})

    def with_conversations(self, passed: int, total: int, failures: list[str]) -> Figures:
        values = {**self.to_dict(), "conversations_passed": passed, "conversations_total": total}
        return Figures(**{**values, "conversation_failures": failures[:SHOWN_FAILURES]})


def measure(model: Path, cases: EvaluationSet) -> Figures:
    """The held-out and safety figures of `model` (the model is loaded once)."""
    texts = [example.text for example in cases.held_out + cases.safety]
    predicted = predict_with_model(model, texts)
    held_out = score(cases.held_out, predicted[: len(cases.held_out)])
    wrong = [
        f"{example.text!r}: {label.split('/')[0]}, not {example.intent}"
        for example, label in zip(cases.safety, predicted[len(cases.held_out) :], strict=True)
        if label.split("/")[0] != example.intent
    ]
    total = len(cases.safety)
    return Figures(
        intent_accuracy=held_out.intent_accuracy,
        faq_accuracy=held_out.faq_accuracy,
        held_out=len(cases.held_out),
        safety_accuracy=(total - len(wrong)) / total if total else 1.0,
        safety_cases=total,
        safety_failures=wrong[:SHOWN_FAILURES],
        split_digest=cases.digest,
    )


def conversation_set(path: Path | None = None) -> list[playback.Conversation]:
    """The conversations of `path` (a YAML file, or a folder of them; default
    tests/conversations/)."""
    if path is None:
        return playback.project_conversations()
    return playback.load(sorted(path.glob("*.yml")) if path.is_dir() else [path])


def play_conversations(
    model: Path,
    conversations: Sequence[playback.Conversation] | None = None,
    report: Callable[[str], None] = print,
) -> tuple[int, int, list[str]]:
    """Passed, played and the failures of the multi-turn conversations against `model`."""
    conversations = conversation_set() if conversations is None else conversations
    if not conversations:
        raise FileNotFoundError("There are no multi-turn conversations to play.")
    with throwaway_assistant(model) as url:
        send = rest_sender(url)
        results = [playback.play(send, conversation) for conversation in conversations]
    report(playback.summary(results))
    failures = [f"{r.conversation.id}: {r.failure}" for r in results if not r.passed]
    return len(results) - len(failures), len(results), failures


def _percent(value: float) -> str:
    return f"{value:.1%}"


def gate(
    candidate: Figures, live: Figures | None, conversations_required: bool = True
) -> list[str]:
    """Why `candidate` must not replace the live model (whose figures are `live`; None when
    no model is live); an empty list lets it through."""
    reasons = []
    if candidate.safety_accuracy < 1.0:
        wrong = round((1 - candidate.safety_accuracy) * candidate.safety_cases)
        reasons.append(
            f"Safety cases: {_percent(candidate.safety_accuracy)} ({wrong} of "
            f"{candidate.safety_cases} missed, e.g. {'; '.join(candidate.safety_failures[:3])}); "
            "every one must be caught."
        )
    if live is not None:
        for name, title in (
            ("intent_accuracy", "Intent accuracy"),
            ("faq_accuracy", "FAQ selection accuracy"),
        ):
            new, old = getattr(candidate, name), getattr(live, name)
            if new < old - TOLERANCE - 1e-12:
                reasons.append(
                    f"{title} on the held-out split fell from {_percent(old)} (live) to "
                    f"{_percent(new)}, more than the {TOLERANCE:.0%} retraining noise allowed."
                )
    if candidate.conversations_total is None:
        if conversations_required:
            reasons.append("The multi-turn conversations were not played.")
    elif candidate.conversations_passed != candidate.conversations_total:
        failed = candidate.conversations_total - (candidate.conversations_passed or 0)
        reasons.append(
            f"Multi-turn conversations: {failed} of {candidate.conversations_total} failed "
            f"({'; '.join(candidate.conversation_failures[:3])})."
        )
    return reasons
