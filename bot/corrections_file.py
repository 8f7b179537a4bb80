"""Staff's corrections as training data: the NLU file a training job adds to its copy of
data/nlu/ (`corrections.yml`, kept beside the model as `<id>.corrections.yml`, bot/training.py)
and which corrections a model has not learnt yet (the /models page, the job).

The file is plain Rasa NLU YAML, so a reviewer can read it, diff it against the live model's
and merge it into data/nlu/ by hand when the examples should stay for good.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import yaml

from bot.corrections import Correction, normalise


def corrections_yaml(examples: Iterable[tuple[str, str]]) -> str:
    """Corrected examples as a Rasa NLU file (data/nlu/corrections.yml's format), grouped by
    label in label order, each text once."""
    by_label: dict[str, list[str]] = {}
    for text, label in examples:
        texts = by_label.setdefault(label, [])
        one_line = " ".join(text.split())  # a literal block holds one example per line
        if one_line not in texts:
            texts.append(one_line)
    lines = ['version: "3.1"', "nlu:"]
    for label in sorted(by_label):
        lines += [f"- intent: {label}", "  examples: |"]
        lines += [f"    - {text}" for text in by_label[label]]
    return "\n".join(lines) + "\n"


def read_corrections_file(path: Path | None) -> list[tuple[str, str]]:
    """(text, label) of every example in a corrections file; none when it is missing."""
    if path is None or not path.exists():
        return []
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    found = []
    for item in document.get("nlu") or []:
        for line in str(item.get("examples", "")).splitlines():
            if line.strip().startswith("- "):
                found.append((line.strip()[2:].strip(), str(item["intent"])))
    return found


def not_yet_trained(
    corrections: Sequence[Correction],
    example_texts: Iterable[str],
    trained: Iterable[tuple[str, str]] = (),
) -> list[Correction]:
    """Of `corrections`, those a model trained on `example_texts` (the wording of data/nlu's
    examples) and the corrections file `trained` has not learnt. Wordings compare normalised
    (bot.corrections.normalise); one already in data/nlu counts as trained whatever its label,
    as the NLU export treats it: a different label there is fixed in data/nlu, by hand."""
    in_data = {normalise(text) for text in example_texts}
    in_file = {(normalise(text), label) for text, label in trained}
    return [
        correction
        for correction in corrections
        if correction.normalised not in in_data
        and (correction.normalised, correction.label) not in in_file
    ]
