"""The safety guardrails' patterns in the languages the assistant answers in besides English.

One module per language (`fr`, `de`, `es`, `it`), each with the same shape, so adding a
language is one more module listed in `LANGUAGES`:

- `PERSON`: words that name someone (the writer, a relative) — a `personal` rule counts only
  when the message names someone or is not a question about research;
- `GENERAL`: words of a question about research, reporting or definitions;
- `CONSENT`: a question about consent to or eligibility for research ("mon père a eu un AVC,
  peut-il participer ?"), never an emergency;
- `RULES`: `(intent, pattern, personal)` in the priority order of `bot.safety_rules`.

The patterns are matched against `fold(text)`: lower case, accents dropped, curly apostrophes
straightened, so "idées suicidaires" and "idees suicidaires" are the same. German also folds
"ae", "oe", "ue" and "ß" (people type "moechte", "Fuesse", "Strasse" without the keys), and its
patterns are folded the same way (`bot.safety_rules` does both). The modules import nothing of
the bot: `bot.safety_rules` builds its `Rule`s from them.
"""

from __future__ import annotations

from types import ModuleType

from bot.safety_langs import de, es, fr, it

LANGUAGES: dict[str, ModuleType] = {"fr": fr, "de": de, "es": es, "it": it}
