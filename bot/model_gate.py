"""The gate a newly trained model must pass before it replaces the live one, and the figures
it is judged on (bot/training.py measures them; docs/models.md explains them).

* **Held-out split** (tests/nlu/ and each language's tests/nlu/<code>/, never trained on):
  intent accuracy and FAQ selection accuracy, as `bot eval` computes them
  (bot.evaluation.score). A given archive always scores the same, but training is not
  repeatable to the example: two trainings on the same data each get a few dozen examples
  right that the other gets wrong, and the totals move by a point or more either way
  (docs/models.md). So the candidate is compared with the live model example by example, and
  refused when the examples it lost outnumber those it gained by more than such a coin-toss
  split explains (McNemar's exact test, one-sided, at ALPHA): a fixed tolerance was either
  tighter than the noise (one point refused a retraining of the same data in CI) or looser
  than a real loss over a few thousand examples. A real regression (a model trained one
  epoch) loses hundreds.
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
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bot import playback
from bot.evaluation import (
    TEST_DIR,
    TRAIN_DIR,
    Example,
    language_splits,
    predict_with_model,
    rest_sender,
    score,
    throwaway_assistant,
    training_examples,
)
from bot.safety_rules import SAFETY_INTENTS
from bot.settings import PROJECT_ROOT

# The guardrails' own test wordings; absent from the image, which carries no tests.
SAFETY_TESTS = PROJECT_ROOT / "tests" / "test_safety.py"
# The chance, for a candidate as good as the live model, of being refused for the luck of one
# training (see above): one in a hundred for each of the two accuracies.
ALPHA = 0.01
# The held-out accuracies the gate compares (Figures.<name>_accuracy, <name>_outcomes).
ACCURACIES = {"intent": "Intent accuracy", "faq": "FAQ selection accuracy"}
# Examples of failures kept in the figures (the log has them all).
SHOWN_FAILURES = 10


@dataclass(frozen=True)
class EvaluationSet:
    """What every model is measured on; `languages[i]` is the language of `held_out[i]`."""

    held_out: list[Example]
    safety: list[Example]
    languages: list[str] = field(default_factory=list)

    @property
    def digest(self) -> str:
        """Changes when an example does: the live model's cached figures are then stale."""
        hashed = hashlib.sha256()
        for examples in (self.held_out, self.safety):
            hashed.update(repr([(example.text, example.label) for example in examples]).encode())
        hashed.update(repr(self.languages).encode())
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
    splits = language_splits(test_dir)
    if not splits:
        raise FileNotFoundError(
            f"No held-out examples in {test_dir}: a model cannot be judged without them (an "
            "image that trains must carry tests/nlu/ and tests/conversations/)."
        )
    held_out = [example for examples in splits.values() for example in examples]
    languages = [code for code, examples in splits.items() for _ in examples]
    labelled = [*held_out, *training_examples(train_dir), *safety_test_messages(safety_tests)]
    safety = [example for example in labelled if example.intent in SAFETY_INTENTS]
    return EvaluationSet(held_out, list(dict.fromkeys(safety)), languages)


@dataclass(frozen=True)
class Figures:
    """One model's measurements; conversations None: not played.

    `intent_outcomes` and `faq_outcomes` say, held-out example by example ("1" right, "0"
    wrong; the FAQ one over the FAQ examples only), what the accuracies count: the gate
    compares two models on them. `by_language` holds each language's accuracies."""

    intent_accuracy: float
    faq_accuracy: float
    held_out: int
    safety_accuracy: float
    safety_cases: int
    safety_failures: list[str] = field(default_factory=list)
    split_digest: str = ""
    intent_outcomes: str = ""
    faq_outcomes: str = ""
    by_language: dict[str, dict[str, float]] = field(default_factory=dict)
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
    by_language: dict[str, dict[str, float]] = {}
    for code in dict.fromkeys(cases.languages):
        indices = [i for i, language in enumerate(cases.languages) if language == code]
        scores = score([cases.held_out[i] for i in indices], [predicted[i] for i in indices])
        by_language[code] = {
            "intent_accuracy": scores.intent_accuracy,
            "faq_accuracy": scores.faq_accuracy,
            "answer_accuracy": scores.answer_accuracy,
            "examples": len(indices),
        }
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
        intent_outcomes=_outcomes(held_out.intents_right),
        faq_outcomes=_outcomes(held_out.faq_right),
        by_language=by_language,
    )


def _outcomes(right: list[bool]) -> str:
    return "".join("1" if ok else "0" for ok in right)


@dataclass(frozen=True)
class Comparison:
    """Two models' outcomes on the same examples: `lost` the live model got right and the
    candidate wrong, `gained` the other way round."""

    lost: int
    gained: int

    @property
    def chance(self) -> float:
        """How likely a split at least this lopsided is when each of the `lost + gained`
        disagreements is a coin toss, as between two trainings equally good (McNemar's exact
        test, one-sided)."""
        disagreements = self.lost + self.gained
        tail = sum(math.comb(disagreements, k) for k in range(self.lost, disagreements + 1))
        return tail / 2**disagreements

    @classmethod
    def of(cls, live: str, candidate: str) -> Comparison:
        if len(live) != len(candidate):
            raise ValueError(
                f"The two models were measured on different examples ({len(live)} and "
                f"{len(candidate)} outcomes)."
            )
        pairs = list(zip(live, candidate, strict=True))
        return cls(lost=pairs.count(("1", "0")), gained=pairs.count(("0", "1")))


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


def compare(candidate: Figures, live: Figures) -> dict[str, Comparison]:
    """Each accuracy of ACCURACIES compared example by example."""
    return {
        name: Comparison.of(
            getattr(live, f"{name}_outcomes"), getattr(candidate, f"{name}_outcomes")
        )
        for name in ACCURACIES
    }


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
        for name, compared in compare(candidate, live).items():
            if compared.chance < ALPHA:
                old = getattr(live, f"{name}_accuracy")
                new = getattr(candidate, f"{name}_accuracy")
                reasons.append(
                    f"{ACCURACIES[name]} on the held-out split fell from {_percent(old)} (live) to "
                    f"{_percent(new)}: {compared.lost} examples the live model got right are "
                    f"wrong now and {compared.gained} the other way round, more than retraining "
                    f"noise explains (chance {compared.chance:.1g}, below {ALPHA:g})."
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
