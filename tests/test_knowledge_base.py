"""The knowledge base keeps its promises: enough varied examples, a held-out split that was
never trained on, and answers that are short, sourced and end with a link."""

from __future__ import annotations

import re
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

import pytest
import yaml

from bot.answers import ALLOWED_PHONES, answer_files, answer_problems, phone_numbers, read_answers
from bot.knowledge import catalogue, content_problems
from bot.settings import PROJECT_ROOT
from bot.suggestions import faq_titles

TRAIN_DIR = PROJECT_ROOT / "data" / "nlu"
TEST_DIR = PROJECT_ROOT / "tests" / "nlu"


def normalise(text: str) -> str:
    return re.sub(r"[^\w ]+", "", text.lower()).strip()


def examples(directory: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(directory.glob("*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            lines = item["examples"].splitlines()
            found[item["intent"]] += [line.strip()[2:].strip() for line in lines if line.strip()]
    return found


@lru_cache(maxsize=1)
def responses() -> dict[str, str]:
    """Each topic's answer; read_answers fails on any answer that breaks a rule."""
    found = {}
    for name, variants in read_answers(answer_files(TRAIN_DIR)).items():
        assert len(variants) == 1, name
        found[name.removeprefix("utter_")] = variants[0]["text"]
    return found


TRAIN = examples(TRAIN_DIR)
TEST = examples(TEST_DIR)
FAQ_KEYS = sorted(key for key in TRAIN if key.startswith("faq_"))


def test_at_least_80_faq_topics_in_four_retrieval_intents() -> None:
    assert len(FAQ_KEYS) >= 80
    assert {key.split("/")[0] for key in FAQ_KEYS} == {
        "faq_ecrin",
        "faq_eupati",
        "faq_trials",
        "faq_ppi",
    }


@pytest.mark.parametrize("key", FAQ_KEYS)
def test_every_topic_has_examples_a_held_out_split_and_a_title(key: str) -> None:
    assert len(set(map(normalise, TRAIN[key]))) >= 12
    assert len(TEST[key]) >= 3
    assert key in faq_titles()


def test_every_intent_has_a_held_out_split() -> None:
    assert set(TEST) == set(TRAIN)


def test_the_held_out_split_is_never_trained_on() -> None:
    trained = {normalise(e) for exs in TRAIN.values() for e in exs}
    leaked = [e for exs in TEST.values() for e in exs if normalise(e) in trained]
    assert leaked == []


def test_no_example_is_labelled_with_two_intents() -> None:
    owners: dict[str, set[str]] = defaultdict(set)
    for intent, exs in TRAIN.items():
        for example in exs:
            owners[normalise(example)].add(intent)
    assert {e: o for e, o in owners.items() if len(o) > 1} == {}


def test_every_topic_has_exactly_one_answer() -> None:
    assert sorted(responses()) == FAQ_KEYS


@pytest.mark.parametrize("key", FAQ_KEYS)
def test_answers_are_short_plain_and_end_with_a_link(key: str) -> None:
    assert answer_problems(responses()[key]) == []


@pytest.mark.parametrize("key", FAQ_KEYS)
def test_answers_keep_the_content_rules(key: str) -> None:
    """Trusted link, a source and a check date, dated facts dated, plain enough to read."""
    assert content_problems(catalogue().get(key), responses()[key]) == []


def test_the_catalogue_names_only_existing_topics() -> None:
    assert set(catalogue()) <= set(FAQ_KEYS)


def test_no_invented_phone_numbers_in_any_response() -> None:
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    texts = [v[0]["text"] for v in domain["responses"].values()] + list(responses().values())
    assert set().union(*map(phone_numbers, texts)) <= ALLOWED_PHONES
