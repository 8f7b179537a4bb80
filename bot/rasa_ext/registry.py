"""The list of every change the project makes inside Rasa, filled by the changes themselves.

Each patch function or class in bot/rasa_ext is decorated with `@patch(...)`, which records
why it exists, the Rasa definitions it replaces, copies or relies on, and the tests that show
it works. tests/test_rasa_ext.py then checks that

* the installed Rasa and rasa-sdk are the pinned releases (bot.rasa_ext.upstream);
* each of those definitions still has the SHA-256 recorded in bot/rasa_ext/PATCHES.md when
  the patch was last reviewed: a changed function fails the test even under the same version
  string;
* PATCHES.md lists exactly the registered patches, with the links and tests recorded here,
  and each patch's docstring links to the Rasa file it changes.

So an upgrade of Rasa fails the tests until each patch has been reviewed against the new code
and its hashes recorded again (the failure prints the new ones).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Patch:
    name: str  # the patch's own dotted path, e.g. "bot.rasa_ext.server.bound_action_calls"
    why: str
    # The Rasa definitions it replaces, copies or relies on, as dotted paths
    # (bot.rasa_ext.upstream.definition finds each in the installed source).
    upstream: tuple[str, ...]
    tests: tuple[str, ...]  # "tests/test_faults.py::test_…"


PATCHES: dict[str, Patch] = {}


def patch(*, why: str, upstream: Sequence[str], tests: Sequence[str]) -> Callable[[T], T]:
    """Register the decorated function or class as a patch of Rasa.

    `upstream` names each Rasa definition the patch replaces, copies or relies on (dotted
    paths, "rasa.core.agent.Agent._create_tracker_store"); `tests` names the tests that fail
    when the patch stops doing its job ("tests/test_faults.py::test_…")."""

    def register(changed: T) -> T:
        name = f"{changed.__module__}.{changed.__qualname__}"  # type: ignore[attr-defined]
        PATCHES[name] = Patch(
            name=name,
            why=why,
            upstream=tuple(upstream),
            tests=tuple(tests),
        )
        return changed

    return register
