"""`bot eval`: how well the trained model answers questions it was never trained on.

Scores the English held-out split in `tests/nlu/*.yml` three ways:

* intent accuracy — the top-level intent (`faq_trials`, `ask_partner`, …);
* answer accuracy and macro F1 — what the user would actually see: for FAQ questions the
  topic the ResponseSelector retrieved (`faq_trials/placebo`), otherwise the intent;
* the same split scored by a TF-IDF nearest-example baseline trained on `data/nlu/` (every
  language), so we see what the Rasa pipeline adds;

then each other language of data/languages.yml on its own split, `tests/nlu/<code>/*.yml`
(issue 22: one model for all languages, same labels; target ≥ 0.90 answer accuracy in each),
one row per language with the same scores and the baseline's, and its worst topics when it
misses the target;

and then, against the running assistant: plays whole conversations (tests/conversations/, and
the shared development set when it is there) for the multi-turn pass rate per pattern, and
asks every held-out question of a catalogued topic to grade the readability of what it says
(Flesch-Kincaid, per audience and group; patients' median target in bot/knowledge.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import statistics
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import f1_score
from sklearn.pipeline import FeatureUnion

from bot import playback
from bot.feedback import is_answer
from bot.knowledge import MAX_GRADE, TARGET_MEDIAN_GRADE, catalogue, reading_grade
from bot.settings import PROJECT_ROOT

TRAIN_DIR = PROJECT_ROOT / "data" / "nlu"
TEST_DIR = PROJECT_ROOT / "tests" / "nlu"
MODEL = PROJECT_ROOT / "models" / "ecrin.tar.gz"
# Issue 22's target: the answer accuracy on each language's held-out split.
LANGUAGE_TARGET = 0.90


@dataclass(frozen=True)
class Example:
    text: str
    label: str  # "faq_trials/placebo" or "ask_partner"

    @property
    def intent(self) -> str:
        return self.label.split("/")[0]


def load_examples(directory: Path) -> list[Example]:
    found = []
    for path in sorted(directory.glob("*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            for line in item["examples"].splitlines():
                if line.strip():
                    found.append(Example(line.strip()[2:].strip(), item["intent"]))
    return found


def language_splits(directory: Path = TEST_DIR) -> dict[str, list[Example]]:
    """Each language's examples: the default language's in `directory` itself (the files as
    they were before issue 22), each other language of data/languages.yml in
    `directory/<code>/`; a language without a folder (or with an empty one) is left out."""
    from bot.i18n import default_language, languages

    default = default_language()
    splits = {default: load_examples(directory)}
    for code in languages():
        if code != default and (directory / code).is_dir():
            splits[code] = load_examples(directory / code)
    return {code: examples for code, examples in splits.items() if examples}


def training_examples(directory: Path = TRAIN_DIR) -> list[Example]:
    """Every language's training examples (the model learns them all at once)."""
    return [example for split in language_splits(directory).values() for example in split]


def answer_label(parse: dict) -> str:
    """What the user would see: the retrieved topic for FAQ intents, else the intent."""
    intent = parse["intent"]["name"]
    selectors = parse.get("response_selector") or {}
    if intent.startswith("faq_"):
        selector = selectors.get(intent) or selectors.get("default")
        if selector:
            return selector["response"]["intent_response_key"] or intent
    return intent


async def _parse_all(model: Path, texts: list[str]) -> list[dict]:
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    from bot.rasa_ext.server import load_models_for_prediction

    # One debug line per parsed message would bury the report.
    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)
    load_models_for_prediction()  # as the server loads them (bot/rasa_ext/server.py)
    agent = Agent.load(str(model))
    return [await agent.parse_message(text) for text in texts]


def predict_with_model(model: Path, texts: list[str]) -> list[str]:
    return [answer_label(p) for p in asyncio.run(_parse_all(model, texts))]


def predict_with_baseline(train: list[Example], texts: list[str]) -> list[str]:
    """Label of the most similar training example (word + character TF-IDF, cosine)."""
    features = FeatureUnion(
        [
            ("words", TfidfVectorizer(sublinear_tf=True)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True)),
        ]
    )
    train_matrix = features.fit_transform([e.text.lower() for e in train])
    similarities = features.transform([t.lower() for t in texts]) @ train_matrix.T
    best = similarities.toarray().argmax(axis=1)
    return [train[i].label for i in best]


@dataclass
class Scores:
    intent_accuracy: float
    answer_accuracy: float
    faq_accuracy: float
    macro_f1: float
    worst: list[tuple[str, float, list[tuple[str, int]]]]
    # Example by example, what the accuracies count (the FAQ one over FAQ examples only).
    intents_right: list[bool] = field(default_factory=list)
    faq_right: list[bool] = field(default_factory=list)


def score(gold: list[Example], predicted: list[str], worst: int = 8) -> Scores:
    labels = [e.label for e in gold]
    intents_ok = [e.intent == p.split("/")[0] for e, p in zip(gold, predicted, strict=False)]
    answers_ok = [e.label == p for e, p in zip(gold, predicted, strict=False)]
    faq_ok = [ok for e, ok in zip(gold, answers_ok, strict=False) if e.intent.startswith("faq_")]
    per_label = f1_score(
        labels, predicted, labels=sorted(set(labels)), average=None, zero_division=0
    )
    confusions: dict[str, Counter] = {}
    for e, p in zip(gold, predicted, strict=False):
        if e.label != p:
            confusions.setdefault(e.label, Counter())[p] += 1
    ranked = sorted(zip(sorted(set(labels)), per_label, strict=False), key=lambda pair: pair[1])
    return Scores(
        intent_accuracy=sum(intents_ok) / len(gold),
        answer_accuracy=sum(answers_ok) / len(gold),
        faq_accuracy=sum(faq_ok) / max(1, len(faq_ok)),
        macro_f1=float(per_label.mean()),
        worst=[
            (label, float(f1), confusions.get(label, Counter()).most_common(3))
            for label, f1 in ranked[:worst]
            if f1 < 1.0
        ],
        intents_right=intents_ok,
        faq_right=faq_ok,
    )


def format_report(name: str, scores: Scores) -> str:
    lines = [
        f"{name}",
        f"  intent accuracy            {scores.intent_accuracy:.3f}",
        f"  answer accuracy            {scores.answer_accuracy:.3f}",
        f"  response selection (FAQ)   {scores.faq_accuracy:.3f}",
        f"  macro F1 (answers)         {scores.macro_f1:.3f}",
    ]
    if scores.worst:
        lines.append("  worst topics (F1, confused with):")
        for label, f1, confused in scores.worst:
            mixed = ", ".join(f"{other} x{n}" for other, n in confused) or "-"
            lines.append(f"    {f1:.2f}  {label:<45} {mixed}")
    return "\n".join(lines)


class TrainingFailed(RuntimeError):
    """`rasa train nlu` failed; the message is the end of its output."""


def train_nlu(config: Path, out: Path) -> Path:
    """Train an NLU-only model for `config` (for comparisons; the served model is `make train`)."""
    import subprocess

    from bot.processes import rasa_cli

    name = config.stem
    result = subprocess.run(
        [*rasa_cli("train", "nlu"), "--config", str(config),
         "--out", str(out), "--fixed-model-name", name],
        cwd=PROJECT_ROOT, capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode != 0:
        lines = [line for line in (result.stderr + result.stdout).splitlines() if line.strip()]
        raise TrainingFailed(" / ".join(lines[-3:]))
    return out / f"{name}.tar.gz"


def _table_row(name: str, seconds: str, s: Scores, others: dict[str, Scores]) -> str:
    languages = "".join(f" {scores.answer_accuracy:.3f} |" for scores in others.values())
    return (
        f"| {name} | {seconds} | {s.intent_accuracy:.3f} | {s.answer_accuracy:.3f} "
        f"| {s.faq_accuracy:.3f} | {s.macro_f1:.3f} |{languages}"
    )


def split_predictions(
    splits: dict[str, list[Example]], predict: Callable[[list[str]], list[str]]
) -> dict[str, Scores]:
    """Each split scored, its texts predicted in one call (one model load for them all)."""
    texts = [example.text for split in splits.values() for example in split]
    predicted = iter(predict(texts))
    return {code: score(split, [next(predicted) for _ in split]) for code, split in splits.items()}


def compare(configs: list[Path]) -> Iterator[str]:
    """Train each pipeline on data/nlu/ and score it on the held-out split: one table row per
    pipeline as soon as it is measured (a failing one is reported, not fatal). The default
    language's scores come first, as before issue 22; then each other language's answer
    accuracy."""
    import tempfile
    import time

    splits = language_splits(TEST_DIR)
    default, *others = splits
    yield (
        "| pipeline | train (s) | intent acc | answer acc | FAQ selection | macro F1 |"
        + "".join(f" {code} answer acc |" for code in others)
    )
    yield "|---|---|---|---|---|---|" + "---|" * len(others)
    train = training_examples(TRAIN_DIR)
    baseline = split_predictions(splits, functools.partial(predict_with_baseline, train))
    yield _row("TF-IDF nearest example", "-", baseline, default)
    with tempfile.TemporaryDirectory(prefix="ecrin-compare-") as scratch:
        for config in configs:
            started = time.monotonic()
            try:
                model = train_nlu(config, Path(scratch))
            except TrainingFailed as error:
                yield f"| {config} | training failed: {error} | | | | |" + " |" * len(others)
                continue
            seconds = f"{time.monotonic() - started:.0f}"
            scores = split_predictions(splits, functools.partial(predict_with_model, model))
            yield _row(str(config), seconds, scores, default)


def _row(name: str, seconds: str, scores: dict[str, Scores], default: str) -> str:
    others = {code: s for code, s in scores.items() if code != default}
    return _table_row(name, seconds, scores[default], others)


SHARED_SCORER = PROJECT_ROOT.parent / "shared" / "eval" / "score.py"


@contextlib.contextmanager
def throwaway_assistant(model: Path = MODEL) -> Iterator[str]:
    """The assistant on free ports with a throwaway tracker store (evaluation conversations
    are not real users'); yields its REST webhook URL."""
    import sys
    import tempfile

    from bot.serve import Ports, free_port, running
    from bot.supervisor import StartError

    with tempfile.TemporaryDirectory(prefix="ecrin-eval-") as scratch:
        env = {"TRACKER_STORE_URL": f"sqlite:///{Path(scratch) / 'tracker.db'}"}
        # The servers' logs go to the scratch folder, shown only if a server fails to start:
        # the report is what the reader wants.
        ports = Ports(free_port(), free_port())
        try:
            with running(ports, model=model, env=env, log_dir=Path(scratch)) as stack:
                yield f"{stack.rasa_url}/webhooks/rest/webhook"
        except StartError:
            for log in sorted(Path(scratch).glob("*.log")):
                print(
                    f"--- {log.name} ---\n{log.read_text(errors='replace')[-3000:]}",
                    file=sys.stderr,
                )
            raise


def score_running_assistant(cases: Path, scorer: Path = SHARED_SCORER, model: Path = MODEL) -> int:
    """Start the assistant on free ports and let the black-box scorer ask it every case."""
    import subprocess
    import sys

    with throwaway_assistant(model) as url:
        return subprocess.run([sys.executable, str(scorer), str(cases), "--url", url]).returncode


def rest_sender(url: str) -> playback.Send:
    """Sends one message to the assistant's REST channel and returns its replies."""

    def send(sender: str, text: str) -> list[dict]:
        body = json.dumps({"sender": sender, "message": text}).encode()
        request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as reply:
            return json.loads(reply.read())

    return send


def answer_text(replies: list[dict]) -> str:
    """The answer among the assistant's replies: the one ending with its source link (in any
    language), else all."""
    texts = [reply["text"] for reply in replies if reply.get("text")]
    linked = [text for text in texts if is_answer(text)]
    return " ".join(linked or texts)


def readability_report(send: playback.Send, examples: list[Example]) -> str:
    """Grades of what the assistant says to each held-out question of a catalogued topic."""
    topics = catalogue()
    grades: dict[tuple[str, str], list[float]] = defaultdict(list)
    hardest: list[tuple[float, str]] = []
    for number, example in enumerate(e for e in examples if e.label in topics):
        topic = topics[example.label]
        text = answer_text(send(f"readability-{number}", example.text))
        grade = reading_grade(text)
        grades[(topic.audience, example.intent)].append(grade)
        if topic.plain_language:
            hardest.append((grade, text[:90]))
    lines = [
        "Readability of the answers the running assistant gave to held-out questions "
        f"(Flesch-Kincaid grade; patients' median target ≤ {TARGET_MEDIAN_GRADE:g}, "
        f"none above {MAX_GRADE:g} for patients and everyone):",
        "",
        "| audience | group | answers | median | above 10 | above 12 |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for audience in ("patients", "everyone", "researchers"):
        rows = sorted((group, g) for (a, group), g in grades.items() if a == audience)
        everything = [grade for _, g in rows for grade in g]
        for group, g in rows + ([("all", everything)] if len(rows) > 1 else []):
            above_10 = sum(grade > 10 for grade in g) / len(g)
            above_12 = sum(grade > MAX_GRADE for grade in g)
            lines.append(
                f"| {audience} | {group} | {len(g)} | {statistics.median(g):.1f} | "
                f"{above_10:.0%} | {above_12} |"
            )
    lines += ["", "Hardest plain-language answers:"]
    lines += [f"  {grade:5.1f}  {text}…" for grade, text in sorted(hardest, reverse=True)[:5]]
    return "\n".join(lines)


def running_assistant_report(model: Path = MODEL) -> str:
    """Against one running assistant: every conversation set with its pass rate, and the
    readability of its answers."""
    sets = [("tests/conversations", playback.project_conversations())]
    if playback.SHARED_CONVERSATIONS.exists():
        sets.append(
            (
                "shared conversations-dev.yml",
                playback.load([playback.SHARED_CONVERSATIONS]),
            )
        )
    reports = []
    with throwaway_assistant(model) as url:
        send = rest_sender(url)
        for name, conversations in sets:
            results = [playback.play(send, c) for c in conversations]
            reports.append(f"Multi-turn, {name}: {playback.summary(results)}")
        reports.append(readability_report(send, load_examples(TEST_DIR)))
    return "\n\n".join(reports)


def language_report(
    ours: dict[str, Scores],
    baseline: dict[str, Scores],
    sizes: dict[str, tuple[int, int]],
    target: float = LANGUAGE_TARGET,
    worst: int = 5,
) -> str:
    """One row per language (its examples and labels, the model's scores, the baseline's
    answer accuracy, and whether it meets `target`), then the worst topics of each language
    below it."""
    lines = [
        f"Accuracy per language (held-out split of each; target: answer accuracy ≥ {target:.2f}):",
        "",
        "| language | examples | labels | intent acc | answer acc | FAQ selection | macro F1 "
        "| baseline answer acc | target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    missed = []
    for code, s in ours.items():
        examples, labels = sizes[code]
        met = s.answer_accuracy >= target
        if not met:
            missed.append(code)
        lines.append(
            f"| {code} | {examples} | {labels} | {s.intent_accuracy:.3f} | "
            f"{s.answer_accuracy:.3f} | {s.faq_accuracy:.3f} | {s.macro_f1:.3f} | "
            f"{baseline[code].answer_accuracy:.3f} | {'met' if met else 'BELOW'} |"
        )
    for code in missed:
        lines += ["", f"{code}: worst topics (F1, confused with):"]
        for label, f1, confused in ours[code].worst[:worst]:
            mixed = ", ".join(f"{other} x{n}" for other, n in confused) or "-"
            lines.append(f"    {f1:.2f}  {label:<45} {mixed}")
    return "\n".join(lines)


def evaluate(model: Path = MODEL) -> str:
    """The default language's report as before issue 22 (model, then baseline), then the
    per-language table. The model parses every language's split in one load."""
    splits = language_splits(TEST_DIR)
    default = next(iter(splits))
    train, test = training_examples(TRAIN_DIR), splits[default]
    header = (
        f"Held-out split: {len(test)} examples, {len({e.label for e in test})} labels "
        f"(tests/nlu/); training: {len(train)} examples (data/nlu/, every language)."
    )
    ours = split_predictions(splits, functools.partial(predict_with_model, model))
    baseline = split_predictions(splits, functools.partial(predict_with_baseline, train))
    rasa_report = format_report(f"Rasa model {model.name}", ours[default])
    base_report = format_report("TF-IDF nearest-example baseline", baseline[default])
    sizes = {code: (len(split), len({e.label for e in split})) for code, split in splits.items()}
    reports = [header, rasa_report, base_report]
    if len(splits) > 1:
        reports.append(language_report(ours, baseline, sizes))
    return "\n\n".join(reports)
