"""How fast is personal-data masking on inputs built to make regular expressions backtrack?

Every stored message goes through bot.masking.mask_personal_data before staff see it, so a
pattern that backtracks badly on some input would stall the tracker store and the review app.
This times the masking of long adversarial texts (and of an ordinary message, for scale) and
says which, if any, took longer than the budget. tests/review/test_masking.py checks what the
same inputs are masked to; timings belong here, not in the tests.

    .venv/bin/python bench/masking.py [--repeat 20] [--budget-ms 100]

Exit code 1 when an input's slowest run is over the budget.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.masking import mask_personal_data

# name → text: long runs of what phone, card, ID and e-mail patterns start on, never ending
# the way those patterns need, so a backtracking pattern retries from every position.
PATHOLOGICAL_INPUTS: dict[str, str] = {
    "digits and spaces": "1 " * 5_000 + "a",
    "one long number": "1" * 10_000 + "x",
    "letter, digit, hyphen": "a1-" * 3_000,
    "at signs": "a@" * 5_000,
}
ORDINARY = "Hi, I'm Jane (jane@example.org, 06 12 34 56 78): can I join the trial in Lyon?"


def timings_ms(mask: Callable[[str], str], text: str, repeat: int) -> list[float]:
    """Milliseconds each of `repeat` maskings of `text` took."""
    found = []
    for _ in range(repeat):
        started = time.perf_counter()
        mask(text)
        found.append((time.perf_counter() - started) * 1000)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="runs per input (default 20)")
    parser.add_argument(
        "--budget-ms", type=float, default=100.0, help="slowest run allowed per input (ms)"
    )
    args = parser.parse_args(argv)

    inputs = {**PATHOLOGICAL_INPUTS, "ordinary message": ORDINARY}
    print("| input | characters | median (ms) | slowest (ms) |")
    print("|---|---:|---:|---:|")
    over = []
    for name, text in inputs.items():
        runs = timings_ms(mask_personal_data, text, args.repeat)
        print(f"| {name} | {len(text)} | {statistics.median(runs):.2f} | {max(runs):.2f} |")
        if max(runs) > args.budget_ms:
            over.append(name)
    if over:
        print(f"\nOver the {args.budget_ms:g} ms budget: {', '.join(over)}", file=sys.stderr)
        return 1
    print(f"\nEvery input within the {args.budget_ms:g} ms budget.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
