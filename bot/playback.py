"""Play scripted multi-turn conversations against a running assistant; check every turn.

Conversations are YAML (tests/conversations/*.yml), in the format of the shared yardstick
(`../shared/eval/converse.py`), so both sets play the same way:

    - id: partner-digression-faq
      pattern: digression            # what it tests; pass rates are reported per pattern
      turns:
        - user: whom should I contact?
        - user: wait, what's a placebo?
          expect: dummy|inactive ; country     # groups ` ; ` all needed, `|` alternatives,
          reject: recognise                    # `re:` a regular expression
        - user: Ireland
          expect: ncto
      expect_all: ...    # optional: checked against all replies together
      reject_all: ...

A reply is every text and button title the assistant sent for a turn, lower-cased. A turn
without `expect`/`reject` is sent and not checked. Each play uses a new sender id.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.settings import PROJECT_ROOT

CONVERSATIONS_DIR = PROJECT_ROOT / "tests" / "conversations"
SHARED_CONVERSATIONS = PROJECT_ROOT.parent / "shared" / "eval" / "conversations-dev.yml"

# sender id, message -> the assistant's replies (Rasa REST output: dicts with text/buttons)
Send = Callable[[str, str], list[dict[str, Any]]]


@dataclass(frozen=True)
class Turn:
    user: str
    expect: str = ""
    reject: str = ""


@dataclass(frozen=True)
class Conversation:
    id: str
    pattern: str
    turns: tuple[Turn, ...]
    expect_all: str = ""
    reject_all: str = ""


@dataclass
class Result:
    conversation: Conversation
    failure: str = ""
    replies: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failure


def load(paths: Iterable[Path]) -> list[Conversation]:
    conversations = []
    for path in paths:
        for item in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            conversations.append(
                Conversation(
                    id=str(item["id"]),
                    pattern=str(item.get("pattern", "")),
                    turns=tuple(
                        Turn(str(t["user"]), str(t.get("expect", "")), str(t.get("reject", "")))
                        for t in item["turns"]
                    ),
                    expect_all=str(item.get("expect_all", "")),
                    reject_all=str(item.get("reject_all", "")),
                )
            )
    return conversations


def project_conversations() -> list[Conversation]:
    return load(sorted(CONVERSATIONS_DIR.glob("*.yml")))


def normalise(text: str) -> str:
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    return re.sub(r"\s+", " ", text)


def _alternatives(group: str) -> list[str]:
    """`a|b|re:(x|y)`: split on `|` outside a regular expression's parentheses."""
    alternatives, depth, current = [], 0, ""
    for character in group:
        depth += (character == "(") - (character == ")")
        if character == "|" and depth == 0:
            alternatives.append(current.strip())
            current = ""
        else:
            current += character
    alternatives.append(current.strip())
    return [a for a in alternatives if a]


def _found(alternative: str, reply: str) -> bool:
    if alternative.startswith("re:"):
        return re.search(alternative[3:], reply) is not None
    return alternative in reply


def missing_groups(reply: str, expect: str) -> list[str]:
    """The ` ; `-separated groups of `expect` of which no alternative is in `reply`."""
    groups = [g.strip() for g in expect.lower().split(" ; ") if g.strip()]
    return [g for g in groups if not any(_found(a, reply) for a in _alternatives(g))]


def rejected(reply: str, reject: str) -> list[str]:
    return [a for a in _alternatives(reject.lower()) if _found(a, reply)]


def reply_text(replies: Sequence[dict[str, Any]]) -> str:
    parts = []
    for reply in replies:
        if reply.get("text"):
            parts.append(reply["text"])
        parts += [button.get("title", "") for button in reply.get("buttons") or []]
    return normalise(" \n".join(parts))


def play(send: Send, conversation: Conversation) -> Result:
    sender = f"play-{conversation.id}-{uuid.uuid4().hex[:8]}"
    result = Result(conversation)
    for number, turn in enumerate(conversation.turns, 1):
        reply = reply_text(send(sender, turn.user))
        result.replies.append(reply)
        missing = missing_groups(reply, turn.expect) if turn.expect else []
        bad = rejected(reply, turn.reject) if turn.reject else []
        if missing or bad:
            why = f"missing {missing[0]!r}" if missing else f"said {bad[0]!r}"
            result.failure = f"turn {number} {turn.user!r}: {why} in {reply[:300]!r}"
            return result
    everything = " \n".join(result.replies)
    missing = missing_groups(everything, conversation.expect_all)
    bad = rejected(everything, conversation.reject_all) if conversation.reject_all else []
    if missing:
        result.failure = f"the conversation never said {missing[0]!r}"
    elif bad:
        result.failure = f"the conversation said {bad[0]!r}"
    return result


def summary(results: Sequence[Result]) -> str:
    """Pass rate overall and per pattern, then each failure."""
    passed, total = Counter(), Counter()
    for result in results:
        total[result.conversation.pattern] += 1
        passed[result.conversation.pattern] += result.passed
    rate = sum(passed.values()) / len(results) if results else 0.0
    lines = [
        f"{sum(passed.values())}/{len(results)} conversations pass ({rate:.3f})",
        "by pattern: " + ", ".join(f"{p} {passed[p]}/{total[p]}" for p in sorted(total)),
    ]
    lines += [f"FAIL {r.conversation.id}: {r.failure}" for r in results if not r.passed]
    return "\n".join(lines)
