"""What the web chat's page gets besides Rasa's own reply: each bot message with `rich` (its
text read by bot/presentation.py into a lead, "more", lists, labelled links and cards) and
`answer` (whether it cites its source, in any language: the page asks "Was this helpful?"), an
answer's cards merged into it, and the conversation as the page shows it again (history) or
as a file to keep (transcript). bot/channels/web.py serves them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot import ical
from bot.feedback import FEEDBACK_EMOJI, is_answer
from bot.plan_page import PAYLOAD_KEY
from bot.presentation import PARTNERS_KEY, present, rich_json


def transcript(events: Any) -> list[dict[str, Any]]:
    """User and assistant messages, as the page shows them (button clicks by their title).

    A rating carries its payload as `feedback`, so the page shows the answer before it as
    rated (a typed 👍 is just a message). A message that offered a plan, listed events or
    named a partner carries them as `custom`, checked, as the webhook's reply did, so its
    links and cards come back too."""
    from rasa.shared.core.events import BotUttered, UserUttered

    shown: list[dict[str, Any]] = []
    for event in events:
        if isinstance(event, UserUttered):
            if event.text in FEEDBACK_EMOJI:
                shown.append(
                    {"from": "user", "text": FEEDBACK_EMOJI[event.text], "feedback": event.text}
                )
                continue
            text = (event.metadata or {}).get("display") or event.text or ""
            if text and not text.startswith("/"):
                shown.append({"from": "user", "text": text})
        elif isinstance(event, BotUttered):
            custom = event.data.get("custom")
            kept = {
                PAYLOAD_KEY: _plan_payload(custom),
                ical.PAYLOAD_KEY: ical.read_entries(custom),
                PARTNERS_KEY: _partners_payload(custom),
            }
            kept = {key: value for key, value in kept.items() if value}
            if not (event.text or event.data.get("buttons") or kept):
                continue
            entry = {
                "from": "bot",
                "text": event.text or "",
                "buttons": event.data.get("buttons") or [],
            }
            if kept:
                entry["custom"] = kept
            shown.append(entry)
    return shown


def _partners_payload(custom: Any) -> list[dict[str, str | None]]:
    """The partner cards a message carried, each field a string or None, nothing else."""
    found = custom.get(PARTNERS_KEY) if isinstance(custom, dict) else None
    kept = []
    for entry in found if isinstance(found, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            kept.append(
                {
                    field: value if isinstance(value := entry.get(field), str) else None
                    for field in ("name", "city", "country", "website", "contact")
                }
            )
    return kept


def web_replies(replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The webhook's replies for the page: a custom-only message (an answer's cards, which
    Rasa's output channel sends after the text) merged into the message before it, and
    `rich` added to each. Texts, buttons and payloads are otherwise as Rasa sent them."""
    merged: list[dict[str, Any]] = []
    for reply in replies:
        custom = reply.get("custom")
        custom_only = isinstance(custom, dict) and set(reply) <= {"recipient_id", "custom"}
        previous = merged[-1] if merged else None
        if custom_only and previous is not None and isinstance(previous.get("custom", {}), dict):
            previous["custom"] = {**previous.get("custom", {}), **custom}
            continue
        merged.append(dict(reply))
    for message in merged:
        message["rich"] = _rich(message.get("text"), message.get("custom"))
        message["answer"] = _is_answer(message.get("text"))
    return merged


def with_rich(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The transcript's bot messages with `rich`, as the webhook's reply gave them."""
    return [
        {
            **entry,
            "rich": _rich(entry.get("text"), entry.get("custom")),
            "answer": _is_answer(entry.get("text")),
        }
        if entry.get("from") == "bot"
        else entry
        for entry in entries
    ]


def _is_answer(text: Any) -> bool:
    """Whether the page shows "Was this helpful?" under the message: an answer citing its
    source, in any language (bot.feedback.is_answer; the page's own pattern is English)."""
    return is_answer(text if isinstance(text, str) else None)


def _rich(text: Any, custom: Any) -> dict[str, Any]:
    return rich_json(
        present(text if isinstance(text, str) else "", custom if isinstance(custom, dict) else None)
    )


def transcript_text(entries: list[dict[str, Any]], today: dt.date) -> str:
    """The conversation as plain text to keep: who said what, in order, links as written."""
    lines = [f"Conversation with the ECRIN assistant, downloaded on {today.isoformat()}", ""]
    for entry in entries:
        who = "You" if entry.get("from") == "user" else "Assistant"
        text = (entry.get("text") or "").strip()
        buttons = [b.get("title") for b in entry.get("buttons") or [] if b.get("title")]
        if not text and not buttons:
            continue
        lines.append(f"{who}: {text}" if text else f"{who}:")
        lines += [f"  [{title}]" for title in buttons]
        lines.append("")
    if len(lines) == 2:
        lines.append("This conversation has no messages.")
    return "\n".join(lines).rstrip() + "\n"


def _plan_payload(custom: Any) -> dict[str, str] | None:
    """The plan a message offered (its query and date), and nothing else of its payload."""
    plan = custom.get(PAYLOAD_KEY) if isinstance(custom, dict) else None
    if not isinstance(plan, dict) or not isinstance(plan.get("query"), str):
        return None
    made = plan.get("made")
    return {"query": plan["query"], "made": made if isinstance(made, str) else ""}
