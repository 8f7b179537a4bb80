"""`python -m bot.rasa_main ARGS`: Rasa's own command line, with the project's changes inside
Rasa applied first (bot/rasa_ext, listed in bot/rasa_ext/PATCHES.md): telemetry and crash
reports off whatever the caller's environment says, and for the Rasa server no silent
tracker-store fallback, bounded action calls, locks that outlast them, action replies
validated once and models loaded for prediction only; for the action server, plain actions
in worker threads.

Every Rasa process the project starts goes through here (`make`, `bot run`, `bot eval`, the
benchmarks; bot.processes.rasa_cli builds the command line), so none runs without them.
"""

from __future__ import annotations

import sys

from bot.rasa_ext import apply_for


def main() -> None:
    apply_for(sys.argv[1:])
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
