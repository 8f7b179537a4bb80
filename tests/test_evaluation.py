"""`bot eval`'s arithmetic (bot/evaluation.py) on small inputs worked out by hand, and its
baseline and readability report on the project's real data.

The parts that need the trained model or a running assistant are run through the command
line in tests/test_cli.py (`bot eval --single-only`, `bot score`)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.evaluation import (
    Example,
    answer_label,
    answer_text,
    compare,
    format_report,
    language_report,
    language_splits,
    load_examples,
    predict_with_baseline,
    readability_report,
    rest_sender,
    score,
    split_predictions,
    training_examples,
)

# --- Reading the examples ------------------------------------------------------------------


def test_examples_are_read_from_every_nlu_file_with_their_labels(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(
        "nlu:\n"
        "- intent: faq_trials/placebo\n"
        "  examples: |\n"
        "    - what is a placebo\n"
        "\n"
        "    -   is a placebo a fake pill  \n"
        "- intent: ask_partner\n"
        "  examples: |\n"
        "    - who is the partner in France?\n"
    )
    (tmp_path / "b.yml").write_text("version: '3.1'\nresponses: {}\n")  # no examples in it
    (tmp_path / "notes.txt").write_text("nlu: not read\n")
    found = load_examples(tmp_path)
    assert found == [
        Example("what is a placebo", "faq_trials/placebo"),
        Example("is a placebo a fake pill", "faq_trials/placebo"),
        Example("who is the partner in France?", "ask_partner"),
    ]
    assert [e.intent for e in found] == ["faq_trials", "faq_trials", "ask_partner"]


# --- What the user would see ---------------------------------------------------------------


def parse(intent: str, selectors: dict | None = None) -> dict:
    """A parse result shaped as Rasa's Agent.parse_message returns it."""
    return {"intent": {"name": intent, "confidence": 0.9}, "response_selector": selectors}


def selected(key: str | None) -> dict:
    return {"response": {"intent_response_key": key, "confidence": 0.8}}


@pytest.mark.parametrize(
    ("result", "label"),
    [
        # An FAQ intent: the topic its own selector retrieved, else the default selector's.
        (parse("faq_trials", {"faq_trials": selected("faq_trials/placebo")}), "faq_trials/placebo"),
        (parse("faq_ppi", {"default": selected("faq_ppi/what_is_ppi")}), "faq_ppi/what_is_ppi"),
        # No selector, or one that retrieved nothing: the intent.
        (parse("faq_trials"), "faq_trials"),
        (parse("faq_trials", {"faq_trials": selected(None)}), "faq_trials"),
        # Not an FAQ: the intent, whatever a selector says.
        (parse("ask_partner", {"default": selected("faq_trials/placebo")}), "ask_partner"),
    ],
)
def test_the_answer_label_is_the_retrieved_topic_for_faqs_else_the_intent(
    result: dict, label: str
) -> None:
    assert answer_label(result) == label


def test_the_answer_among_the_replies_is_the_one_with_its_source_link() -> None:
    replies = [
        {"text": "Here is what I found."},
        {"text": "A placebo has no medicine in it. Learn more: https://x.org"},
        {"buttons": [{"title": "More"}]},
    ]
    assert answer_text(replies) == "A placebo has no medicine in it. Learn more: https://x.org"
    assert answer_text([{"text": "Hello!"}, {"text": "How can I help?"}]) == (
        "Hello! How can I help?"
    )
    assert answer_text([]) == ""


# --- Scores ------------------------------------------------------------------------------------

GOLD = [
    Example("what is a placebo", "faq_trials/placebo"),
    Example("placebo meaning", "faq_trials/placebo"),
    Example("partner in France", "ask_partner"),
    Example("hi", "greet"),
]
# Right; the right intent but the wrong topic; right; the wrong intent altogether.
PREDICTED = ["faq_trials/placebo", "faq_trials/costs", "ask_partner", "ask_partner"]


def test_scores_count_intents_answers_and_faq_topics_separately() -> None:
    scores = score(GOLD, PREDICTED)
    assert scores.intent_accuracy == 3 / 4
    assert scores.answer_accuracy == 2 / 4
    assert scores.faq_accuracy == 1 / 2  # of the two FAQ questions
    # What they count, example by example (the gate compares two models on these).
    assert scores.intents_right == [True, True, True, False]
    assert scores.faq_right == [True, False]
    # F1 per gold label: ask_partner 2/3 (one false alarm), placebo 2/3 (one miss), greet 0.
    assert scores.macro_f1 == pytest.approx((2 / 3 + 2 / 3 + 0) / 3)
    assert scores.worst == [
        ("greet", 0.0, [("ask_partner", 1)]),
        ("ask_partner", pytest.approx(2 / 3), []),
        ("faq_trials/placebo", pytest.approx(2 / 3), [("faq_trials/costs", 1)]),
    ]


def test_perfect_predictions_have_no_worst_topics_and_no_faq_means_no_division_by_zero() -> None:
    gold = [Example("hi", "greet"), Example("bye", "goodbye")]
    scores = score(gold, ["greet", "goodbye"])
    assert (scores.intent_accuracy, scores.answer_accuracy, scores.macro_f1) == (1.0, 1.0, 1.0)
    assert scores.faq_accuracy == 0.0 and scores.worst == []


def test_the_report_shows_each_score_and_what_the_worst_topics_are_confused_with() -> None:
    report = format_report("Rasa model test.tar.gz", score(GOLD, PREDICTED))
    lines = report.splitlines()
    assert lines[:5] == [
        "Rasa model test.tar.gz",
        "  intent accuracy            0.750",
        "  answer accuracy            0.500",
        "  response selection (FAQ)   0.500",
        "  macro F1 (answers)         0.444",
    ]
    assert lines[5] == "  worst topics (F1, confused with):"
    assert re.fullmatch(r"\s+0\.00\s+greet\s+ask_partner x1", lines[6])
    assert re.fullmatch(r"\s+0\.67\s+ask_partner\s+-", lines[7])
    assert re.fullmatch(r"\s+0\.67\s+faq_trials/placebo\s+faq_trials/costs x1", lines[8])
    assert "worst topics" not in format_report("perfect", score(GOLD[:1], PREDICTED[:1]))


# --- The TF-IDF baseline ---------------------------------------------------------------------


def test_the_baseline_labels_each_text_as_its_most_similar_training_example() -> None:
    train = [
        Example("what is a placebo", "faq_trials/placebo"),
        Example("who is the ECRIN partner in France", "ask_partner"),
        Example("hello there", "greet"),
    ]
    texts = ["Placebo: what is it?", "partner in france please", "HELLO"]
    assert predict_with_baseline(train, texts) == ["faq_trials/placebo", "ask_partner", "greet"]


def test_compare_scores_the_baseline_on_the_real_held_out_split_first() -> None:
    """With no pipeline to train, the table is the baseline's row alone (each pipeline's row
    follows it once trained: minutes each, so not here)."""
    header, rule, baseline, *rest = compare([])
    others = [code for code in language_splits() if code != "en"]
    assert header.startswith("| pipeline | train (s) | intent acc |")
    # Then each other language's answer accuracy (issue 22).
    assert header.endswith("| macro F1 |" + "".join(f" {code} answer acc |" for code in others))
    assert rule == "|---|---|---|---|---|---|" + "---|" * len(others)
    assert rest == []
    cells = [cell.strip() for cell in baseline.strip("|").split("|")]
    assert cells[:2] == ["TF-IDF nearest example", "-"]
    intent, answer, faq, macro, *languages = map(float, cells[2:])
    assert 0.5 < intent <= 1 and 0 < answer <= intent and 0 < faq <= 1 and 0 < macro <= 1
    assert len(languages) == len(others) and all(0 < value <= 1 for value in languages)


# --- Against the assistant -------------------------------------------------------------------


def test_readability_is_graded_per_audience_and_group_of_the_topics_asked() -> None:
    """Only held-out questions of catalogued topics are asked; each answer is graded."""
    plain = "A placebo is a dummy pill. It has no medicine in it. Learn more: https://x.org"
    hard = (
        "Pharmacovigilance encompasses the systematic identification, characterisation and "
        "evaluation of adverse pharmacological consequences. Learn more: https://x.org"
    )
    answers = {"what is ecrin": plain, "where is ecrin": hard, "cost policy": plain}
    asked: list[tuple[str, str]] = []

    def send(sender: str, text: str) -> list[dict]:
        asked.append((sender, text))
        return [{"text": "Here you are."}, {"text": answers[text]}]

    examples = [
        Example("what is ecrin", "faq_ecrin/what_is_ecrin"),  # everyone
        Example("not catalogued", "greet"),
        Example("where is ecrin", "faq_ecrin/seat"),  # everyone
        Example("cost policy", "faq_ecrin/cost_policy"),  # researchers
    ]
    report = readability_report(send, examples)
    assert asked == [
        ("readability-0", "what is ecrin"),
        ("readability-1", "where is ecrin"),
        ("readability-2", "cost policy"),
    ]
    rows = [line for line in report.splitlines() if line.startswith("| ") and "---" not in line]
    assert [row.split(" | ")[:3] for row in rows[1:]] == [
        ["| everyone", "faq_ecrin", "2"],
        ["| researchers", "faq_ecrin", "1"],
    ]
    everyone, researchers = rows[1], rows[2]
    assert everyone.endswith("| 50% | 1 |")  # one of the two answers above grade 12
    assert researchers.endswith("| 0% | 0 |")
    # The hardest plain-language answer first; researchers' answers are not listed.
    hardest = report.split("Hardest plain-language answers:\n")[1].splitlines()
    assert len(hardest) == 2 and "Pharmacovigilance" in hardest[0]


class RecordingRest:
    """A local REST channel that records each request and answers with one reply."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict]] = []
        rest = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                rest.requests.append((self.headers["Content-Type"], body))
                reply = json.dumps([{"recipient_id": body["sender"], "text": "Hi!"}]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # Polled every 50 ms: shutdown() waits up to one poll interval (0.5 s by default).
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/rest/webhook"


@pytest.fixture
def rest() -> Iterator[RecordingRest]:
    server = RecordingRest()
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_the_rest_sender_posts_each_message_as_the_rest_channel_expects(
    rest: RecordingRest,
) -> None:
    send = rest_sender(rest.url)
    assert send("eval-1", "hello") == [{"recipient_id": "eval-1", "text": "Hi!"}]
    assert rest.requests == [("application/json", {"sender": "eval-1", "message": "hello"})]


# --- Per language (issue 22) -------------------------------------------------------------------


def _nlu_file(path: Path, label: str, *texts: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = "".join(f"    - {text}\n" for text in texts)
    path.write_text(f"nlu:\n- intent: {label}\n  examples: |\n{lines}", encoding="utf-8")


def test_each_language_has_its_own_split_and_the_default_one_is_the_top_folder(
    tmp_path: Path,
) -> None:
    _nlu_file(tmp_path / "faq_trials.yml", "faq_trials/placebo", "what is a placebo")
    _nlu_file(tmp_path / "fr" / "faq_trials.yml", "faq_trials/placebo", "c'est quoi un placebo")
    _nlu_file(tmp_path / "de" / "faq_trials.yml", "faq_trials/placebo", "was ist ein Placebo")
    (tmp_path / "es").mkdir()  # a language whose examples are not written yet: left out
    _nlu_file(tmp_path / "nl" / "x.yml", "greet", "hallo")  # not in data/languages.yml
    splits = language_splits(tmp_path)
    assert list(splits) == ["en", "fr", "de"]  # the order of data/languages.yml
    assert splits["fr"] == [Example("c'est quoi un placebo", "faq_trials/placebo")]
    # The model learns every language at once: so does the baseline.
    assert [e.text for e in training_examples(tmp_path)] == [
        "what is a placebo",
        "c'est quoi un placebo",
        "was ist ein Placebo",
    ]


def test_the_real_held_out_splits_cover_every_label_in_every_written_language() -> None:
    splits = language_splits()
    english = {e.label for e in splits["en"]}
    for code, split in splits.items():
        counts: dict[str, int] = {}
        for example in split:
            counts[example.label] = counts.get(example.label, 0) + 1
        assert set(counts) <= english, (code, set(counts) - english)
        if code != "en":  # the contract: at least 3 unseen examples per topic and language
            thin = {label: n for label, n in counts.items() if n < 3}
            assert not thin, (code, thin)


def test_each_split_is_scored_on_its_own_from_one_call_to_the_predictor() -> None:
    splits = {
        "en": [Example("a", "greet"), Example("b", "faq_trials/placebo")],
        "fr": [Example("c", "greet"), Example("d", "greet"), Example("e", "goodbye")],
    }
    calls: list[list[str]] = []

    def predict(texts: list[str]) -> list[str]:
        calls.append(texts)
        return ["greet", "faq_trials/costs", "greet", "goodbye", "goodbye"]

    scores = split_predictions(splits, predict)
    assert calls == [["a", "b", "c", "d", "e"]]
    assert scores["en"].answer_accuracy == 0.5 and scores["en"].intent_accuracy == 1.0
    assert scores["fr"].answer_accuracy == pytest.approx(2 / 3)


def test_the_language_table_marks_each_language_against_the_target() -> None:
    gold = [Example("a", "greet"), Example("b", "faq_trials/placebo"), Example("c", "goodbye")]
    perfect = score(gold, ["greet", "faq_trials/placebo", "goodbye"])
    weak = score(gold, ["greet", "faq_trials/costs", "greet"])
    report = language_report(
        {"en": perfect, "it": weak}, {"en": weak, "it": weak}, {"en": (3, 3), "it": (3, 3)}
    )
    rows = [line for line in report.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[1] == "| en | 3 | 3 | 1.000 | 1.000 | 1.000 | 1.000 | 0.333 | met |"
    assert rows[2].startswith("| it | 3 | 3 | 0.667 | 0.333 |") and rows[2].endswith("| BELOW |")
    # Only the language below the target lists its worst topics.
    assert "it: worst topics" in report and "en: worst topics" not in report
    assert "faq_trials/placebo" in report.split("it: worst topics")[1]


def test_an_answer_in_another_language_is_found_by_its_source_link() -> None:
    replies = [
        {"text": "Voici ce que je sais."},
        {"text": "Un placebo n'a pas de principe actif. En savoir plus : https://x.org"},
    ]
    assert answer_text(replies).startswith("Un placebo")
