"""The NLU inbox: user messages the model was unsure about, labelled by staff, and exported
as Rasa NLU training data — the loop that improves the model.

An open item is a typed user message whose intent confidence is below the threshold (which
includes every `nlu_fallback`) and that nobody has labelled yet. Staff mark it correct,
relabel it with a known intent or retrieval key (e.g. `faq_trials/placebo`), or dismiss it.
A relabelled message also becomes a live correction (bot.tracker_db.corrections): the
assistant answers the same wording with the new label at once, unless the guardrails refuse
it (bot.corrections.check_correction), in which case nothing is saved.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine

from bot.corrections import Correction, CorrectionRefused
from bot.tracker_db.corrections import add_correction, undo_corrections_of_message
from bot.tracker_db.messages import sync_messages
from bot.tracker_db.paging import Page, clamp_page
from bot.tracker_db.schema import events, messages, nlu_labels
from bot.tracker_db.transcript import NluLabel, read_nlu_labels
from bot.tracker_db.user_messages import FALLBACK_INTENT, UserMessage, read_user_message

VIEWS = ("open", "labelled", "dismissed")
EXPORTED_STATUSES = ("correct", "relabelled")


class LabelError(ValueError):
    """A label cannot be saved; the message says why."""


@dataclass(frozen=True)
class NluItem:
    message: UserMessage
    label: NluLabel | None


# --- Known labels ----------------------------------------------------------------------------


def known_labels(nlu_dir: Path) -> list[str]:
    """Every intent and retrieval key in the training data (data/nlu/*.yml and each
    language's data/nlu/<code>/*.yml: the same labels in every language), sorted."""
    files = sorted(nlu_dir.rglob("*.yml"))
    return list(_labels_in(tuple((path, path.stat().st_mtime) for path in files)))


@lru_cache(maxsize=4)
def _labels_in(files: tuple[tuple[Path, float], ...]) -> tuple[str, ...]:
    # Keyed by modification times, so an edited data/nlu file is read again.
    labels: set[str] = set()
    for path, _ in files:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in document.get("nlu") or []:
            if isinstance(item, dict) and isinstance(item.get("intent"), str):
                labels.add(item["intent"])
    return tuple(sorted(labels))


def training_examples(nlu_dir: Path) -> set[str]:
    """The normalised text of every training example, in every language, to avoid exporting
    duplicates."""
    found: set[str] = set()
    for path in sorted(nlu_dir.rglob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in document.get("nlu") or []:
            if isinstance(item, dict) and isinstance(item.get("examples"), str):
                for line in item["examples"].splitlines():
                    line = line.strip()
                    if line.startswith("- "):
                        found.add(_normalise(_strip_annotations(line[2:])))
    return found


# "[text](entity)", "[text]{…}" and "[text][…]": how Rasa marks entities inside an example.
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\}|\[[^\]]*\])")


def _strip_annotations(text: str) -> str:
    return _ANNOTATION.sub(r"\1", text)


def _normalise(text: str) -> str:
    return " ".join(text.lower().split())


# --- The inbox ------------------------------------------------------------------------------


class NluInbox:
    def __init__(self, engine: Engine, low_confidence: float = 0.7) -> None:
        self.engine = engine
        self.low_confidence = low_confidence

    def items(self, view: str = "open", page: int = 1, size: int = 25, language: str = "") -> Page:
        """One page of `view`: "open" (unsure and not yet labelled), "labelled" (correct or
        relabelled) or "dismissed", the newest message first; only messages detected in
        `language` when one is given (a reviewer who reads French takes the French ones)."""
        if view not in VIEWS:
            view = "open"
        sync_messages(self.engine)
        labelled = sa.select(nlu_labels.c.event_id)
        if view == "open":
            query = sa.select(messages.c.event_id, messages.c.timestamp).where(
                sa.or_(
                    messages.c.intent == FALLBACK_INTENT,
                    messages.c.confidence < self.low_confidence,
                ),
                messages.c.event_id.not_in(labelled),
            )
        else:
            statuses = ("dismissed",) if view == "dismissed" else EXPORTED_STATUSES
            query = sa.select(messages.c.event_id, messages.c.timestamp).where(
                messages.c.event_id.in_(labelled.where(nlu_labels.c.status.in_(statuses)))
            )
        if language:
            query = query.where(messages.c.language == language)
        matching = query.subquery()
        with self.engine.connect() as connection:
            total = connection.execute(sa.select(sa.func.count()).select_from(matching)).scalar()
            page = clamp_page(page, total or 0, size)
            ids = (
                connection.execute(
                    sa.select(matching.c.event_id)
                    .order_by(matching.c.timestamp.desc(), matching.c.event_id.desc())
                    .limit(size)
                    .offset((page - 1) * size)
                )
                .scalars()
                .all()
            )
            # The full prediction (best guess, entities) is only in Rasa's JSON: read it for
            # the page shown.
            found = {
                row.id: read_user_message(*row)
                for row in connection.execute(
                    sa.select(
                        events.c.id, events.c.sender_id, events.c.timestamp, events.c.data
                    ).where(events.c.id.in_(ids))
                )
            }
            labels = read_nlu_labels(connection, nlu_labels.c.event_id.in_(ids))
        items = [NluItem(found[i], labels.get(i)) for i in ids if i in found]
        return Page(items, page, size, total or 0)

    def label(
        self, event_id: int, action: str, by: str, known: Iterable[str], label: str = ""
    ) -> Correction | None:
        """Record staff's verdict on one message: "correct", "relabel" (to `label`),
        "dismiss", or "reopen" (forget the verdict). A relabel also makes the live correction
        it returns; a verdict replacing it undoes the correction the previous one made."""
        with self.engine.begin() as connection:
            row = connection.execute(
                sa.select(events.c.id, events.c.sender_id, events.c.timestamp, events.c.data).where(
                    events.c.id == event_id, events.c.type_name == "user"
                )
            ).first()
            if row is None:
                raise LabelError("That message does not exist (any more).")
            message = read_user_message(*row)
            connection.execute(nlu_labels.delete().where(nlu_labels.c.event_id == event_id))
            undo_corrections_of_message(connection, event_id, by)
            if action == "reopen":
                return None
            correction = None
            predicted = message.prediction.label
            known = set(known)
            if action == "correct":
                if predicted not in known:
                    # nlu_fallback, or an FAQ intent without its topic: not a training label.
                    raise LabelError(
                        f"{predicted or 'No intent'} is not a label in data/nlu/: "
                        "relabel the message or dismiss it."
                    )
                status, chosen = "correct", predicted
            elif action == "relabel":
                chosen = label.strip()
                if chosen not in known:
                    raise LabelError(f"{chosen!r} is not an intent or retrieval key in data/nlu/.")
                status = "relabelled"
                try:  # in this transaction: a refused correction saves no label either
                    correction = add_correction(
                        connection, message.text, chosen, by, predicted, event_id
                    )
                except CorrectionRefused as refused:
                    raise LabelError(str(refused)) from refused
            elif action == "dismiss":
                status, chosen = "dismissed", None
            else:
                raise LabelError(f"Unknown action {action!r}.")
            connection.execute(
                nlu_labels.insert().values(
                    event_id=event_id,
                    sender_id=message.sender_id,
                    text=message.text,
                    predicted=predicted,
                    label=chosen,
                    status=status,
                    labelled_by=by,
                    labelled_at=time.time(),
                    language=message.language,
                )
            )
        return correction


# --- Export ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NluExport:
    yaml: str
    examples: int
    skipped_known: int
    # How many examples each language got ("" for messages whose language is not known).
    languages: dict[str, int] = field(default_factory=dict)


UNKNOWN_LANGUAGE = ""


def export_nlu(
    engine: Engine,
    nlu_dir: Path,
    today: dt.date | None = None,
    language: str | None = None,
    default_language: str = "en",
) -> NluExport:
    """The corrected examples (relabelled, and confirmed as correct) as Rasa NLU YAML 3.1,
    grouped by language, then by intent; examples already in the training data (any
    language) are left out. `language` keeps one language only.

    Each language's part starts with a `# language: <code>` comment naming the folder its
    examples belong in (data/nlu/ for the default language, data/nlu/<code>/ for the others),
    so the file stays one valid YAML document Rasa can read as it is, and nobody merges a
    French example into the English data. Messages too short for the NLU to tell their
    language (and those labelled before issue 22) come last, under `# language: unknown`."""
    with engine.connect() as connection:
        query = (
            sa.select(nlu_labels.c.label, nlu_labels.c.text, nlu_labels.c.language)
            .where(nlu_labels.c.status.in_(EXPORTED_STATUSES), nlu_labels.c.label.is_not(None))
            .order_by(nlu_labels.c.label, nlu_labels.c.labelled_at, nlu_labels.c.id)
        )
        if language:
            query = query.where(nlu_labels.c.language == language)
        rows = connection.execute(query).all()
    existing = training_examples(nlu_dir)
    by_language: dict[str, dict[str, list[str]]] = {}
    seen: set[str] = set()
    skipped = 0
    for label, text, code in rows:
        example = _as_example(text)
        key = _normalise(example)
        if not example or example.startswith("/") or key in seen:
            continue
        if key in existing:
            skipped += 1
            continue
        seen.add(key)
        by_language.setdefault(code or UNKNOWN_LANGUAGE, {}).setdefault(label, []).append(example)
    day = (today or dt.date.today()).isoformat()
    lines = [
        f"# Corrected in the staff review app (bot review export-nlu), {day}.",
        "# Check each example, then merge it into the matching file of its language's folder",
        "# (named by the `# language:` line above it).",
        'version: "3.1"',
    ]
    if not by_language:
        lines.append("nlu: []")
    else:
        lines.append("nlu:")
        # The default language first, then the others by code, unknown last.
        order = sorted(
            by_language,
            key=lambda code: (code == UNKNOWN_LANGUAGE, code != default_language, code),
        )
        for code in order:
            lines.append(_language_comment(code, default_language))
            for label, examples in by_language[code].items():
                lines.append(f"- intent: {label}")
                lines.append("  examples: |")
                lines.extend(f"    - {example}" for example in examples)
    text = "\n".join(lines) + "\n"
    counts = {code: sum(map(len, labels.values())) for code, labels in sorted(by_language.items())}
    return NluExport(text, sum(counts.values()), skipped, counts)


def _language_comment(code: str, default_language: str) -> str:
    if code == UNKNOWN_LANGUAGE:
        return "# language: unknown (too short to tell): check each example's language first"
    folder = "data/nlu/" if code == default_language else f"data/nlu/{code}/"
    return f"# language: {code} (merge into {folder})"


def _as_example(text: str) -> str:
    """One line of a literal block; brackets that Rasa would read as an entity annotation
    (e.g. two masks in a row, "[email][phone]") become parentheses."""
    example = " ".join(text.split())
    if _ANNOTATION.search(example):
        example = example.replace("[", "(").replace("]", ")")
    return example
