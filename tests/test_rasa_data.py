"""`rasa data validate` and `rasa test` on the real project files."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.processes import QUIET_ENV
from bot.settings import PROJECT_ROOT

# Warnings Rasa 3.6 gives for a correct project, each for a reason we checked:
KNOWN_WARNINGS = [
    # Retrieval intents are listed in domain.yml (as the docs ask) and Rasa also adds them
    # from the NLU files, then reports the merge as a duplicate.
    r"duplicated intents have been found across multiple domain files: faq_",
    # faq_pick is only sent by "did you mean" buttons, never typed.
    r"The intent 'faq_pick' is listed in the domain file, but is not found",
    # Used by Rasa itself (form questions, fallback) or by custom actions, which the
    # validator cannot see.
    r"The utterance .(utter_ask_country|utter_ask_research_stage|utter_default|utter_ask_rephrase"
    r"|utter_lookup_unavailable|utter_ask_country_again|utter_ask_research_stage_again"
    r"|utter_country_noted|utter_place_unknown|utter_nothing_to_repeat"
    r"|utter_ask_country_for_guidance|utter_ask_study_kind|utter_ask_study_kind_again"
    r"|utter_ask_population|utter_ask_population_again|utter_ask_help_topics"
    r"|utter_ask_help_topics_again|utter_plan_to_keep)' is not used",
]


# Each test runs the `rasa` command line (seconds to load, and it reads all the training data).
pytestmark = pytest.mark.slow


def rasa(*args: str, cwd: Path = PROJECT_ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rasa", *args],
        cwd=cwd,
        env={**os.environ, **QUIET_ENV},
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_rasa_data_validate_passes_with_no_unexplained_warning() -> None:
    result = rasa("data", "validate")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    warnings = re.findall(r"UserWarning: (.*)", output)
    unexplained = [w for w in warnings if not any(re.search(k, w) for k in KNOWN_WARNINGS)]
    assert unexplained == []


@pytest.mark.timeout(1200)  # `rasa test core` itself may take up to 900 s (rasa() above)
def test_conversation_stories_pass_with_the_trained_model(
    tmp_path: Path, trained_model: Path
) -> None:
    result = rasa(
        "test",
        "core",
        "--model",
        str(trained_model),
        "--stories",
        "tests/stories",
        "--out",
        str(tmp_path),
        "--fail-on-prediction-errors",
    )
    failed = tmp_path / "failed_test_stories.yml"
    details = (
        failed.read_text() if failed.exists() else result.stdout[-3000:] + result.stderr[-3000:]
    )
    assert result.returncode == 0, details
