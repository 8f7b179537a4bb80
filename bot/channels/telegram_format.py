"""A presented answer (bot/presentation.Rich) as Telegram HTML, and HTML split under 4096.

Why HTML and not MarkdownV2: Telegram's HTML subset needs only `<`, `>` and `&` escaped in
text, while MarkdownV2 needs a dozen punctuation marks escaped in every FAQ answer; and
`<a href>` gives the labelled link the issue asks for, its address shown on long-press.
Only tags Telegram accepts are produced (`<b>`, `<a href>`), always balanced, so Telegram
never rejects a reply with "can't parse entities" (tests/telegram_fake.py checks each one).

Telegram counts the 4096-character limit in UTF-16 code units of the text after its
entities are parsed; the HTML itself is measured here, which is never shorter, so a chunk
that fits here fits there.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from telegram.constants import MessageLimit

from bot.presentation import Block, EventCard, Link, PartnerCard, Rich, Run, link_label

LIMIT = MessageLimit.MAX_TEXT_LENGTH
BULLET = "• "
# Addresses Telegram opens from a link; anything else is shown as text, never as a link.
LINK_SCHEMES = ("http://", "https://")


def escape(text: str) -> str:
    """Text for Telegram's HTML: only `&`, `<` and `>` need escaping outside a tag."""
    return html.escape(text, quote=False)


def link_html(link: Link) -> str:
    """`<a href="url">label</a>`: the label is what people read, never the bare address."""
    label = escape(link.label or link_label(link.url))
    if not link.url.lower().startswith(LINK_SCHEMES):
        return label
    href = escape(link.url).replace('"', "&quot;")
    return f'<a href="{href}">{label}</a>'


def runs_html(runs: Iterable[Run]) -> str:
    return "".join(link_html(run) if isinstance(run, Link) else escape(run) for run in runs)


def block_html(block: Block) -> str:
    """A paragraph as it reads; a list as "• item" lines (Telegram has no list markup)."""
    if block.kind == "list":
        return "\n".join(BULLET + runs_html(item).strip() for item in block.items)
    return runs_html(block.runs).strip()


def _day(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _date_text(day: dt.date) -> str:
    # As bot/events.py writes dates in answers: "12 May 2027", the same in every locale.
    return f"{day.day} {day:%B %Y}"


def event_when(card: EventCard) -> str:
    """ "12 May 2027, 10:00 to 12:00 CEST (Brussels time)", as the text answer says it."""
    starts = _day(card.starts_on)
    if starts is None:
        return "Self-paced, start any time"
    when = _date_text(starts)
    ends = _day(card.ends_on)
    if ends is not None and ends > starts:
        when += f" to {_date_text(ends)}"
    if not card.all_day and card.time_label:
        when += f", {card.time_label}"
    if card.yearly:
        when += " (held every year)"
    return when


def event_where(card: EventCard) -> str:
    if card.attendance == "online":
        return "Online"
    if card.attendance == "hybrid":
        return f"{card.place or 'In person'} or online (a hybrid event)"
    return card.place or "Place to be announced"


def event_card_html(card: EventCard) -> str:
    lines = [
        f"<b>{escape(card.title)}</b>",
        f"When: {escape(event_when(card))}",
        f"Where: {escape(event_where(card))}",
    ]
    if card.audience:
        lines.append(f"For: {escape(card.audience)}")
    link = card.link or (Link(card.url, link_label(card.url)) if card.url else None)
    if link is not None:
        lines.append(link_html(link))
    return "\n".join(lines)


def partner_card_html(card: PartnerCard) -> str:
    lines = [f"<b>{escape(card.name)}</b>"]
    where = ", ".join(part for part in (card.city, card.country) if part)
    if where:
        lines.append(escape(where))
    lines += [link_html(link) for link in (card.website, card.contact) if link is not None]
    return "\n".join(lines)


def card_html(card: EventCard | PartnerCard) -> str:
    return event_card_html(card) if isinstance(card, EventCard) else partner_card_html(card)


@dataclass(frozen=True)
class Rendered:
    """A reply as Telegram messages: `lead` is sent at once; `more` (possibly empty) when
    the "More" button under the lead's last message is pressed."""

    lead: tuple[str, ...]
    more: tuple[str, ...] = ()


def render(rich: Rich, limit: int = LIMIT) -> Rendered:
    """The lead's blocks, then the cards, then the source link, as one message (split only
    when too long); the rest of a long answer waits behind "More". The source stays with the
    lead: every answer shows where it comes from without a press."""
    pieces = [block_html(block) for block in rich.lead]
    pieces += [card_html(card) for card in rich.cards]
    if rich.source is not None:
        pieces.append(link_html(rich.source))
    more = [block_html(block) for block in rich.more]
    return Rendered(tuple(join_and_split(pieces, limit)), tuple(join_and_split(more, limit)))


def join_and_split(pieces: Sequence[str], limit: int = LIMIT) -> list[str]:
    return split_html("\n\n".join(piece for piece in pieces if piece.strip()), limit)


def utf16_len(text: str) -> int:
    """Telegram's measure of length: UTF-16 code units (an emoji counts two)."""
    return len(text.encode("utf-16-le")) // 2


# A tag, an entity, or one character of text: a chunk only ever ends between two tokens.
_TOKEN = re.compile(r"<(/?)([a-zA-Z][\w-]*)[^<>]*>|&#?\w+;|[^<&]|.", re.S)


def split_html(text: str, limit: int = LIMIT) -> list[str]:
    """`text` (well-formed Telegram HTML) in chunks of at most `limit`, each well-formed on
    its own: cuts fall between tags and entities, at a paragraph, line or word boundary in
    the second half of a chunk when there is one, preferably outside any tag; a tag still
    open at a cut is closed there and opened again at the start of the next chunk."""
    text = text.strip()
    if utf16_len(text) <= limit:
        return [text] if text else []
    offsets, sizes, stacks = [0], [0], [()]  # per boundary between tokens
    stack: list[tuple[str, str]] = []  # (name, opening tag) of the tags open there
    for match in _TOKEN.finditer(text):
        closing, name = match.group(1), match.group(2)
        if name and closing:
            if stack and stack[-1][0] == name.lower():
                stack.pop()
        elif name:
            stack.append((name.lower(), match.group(0)))
        offsets.append(match.end())
        sizes.append(sizes[-1] + utf16_len(match.group(0)))
        stacks.append(tuple(stack))

    def closers(at: int) -> str:
        return "".join(f"</{name}>" for name, _ in reversed(stacks[at]))

    chunks, start, last = [], 0, len(offsets) - 1
    while start < last:
        opening = "".join(tag for _, tag in stacks[start])
        room = limit - utf16_len(opening)
        if sizes[last] - sizes[start] <= room:
            end = last
        else:
            end, best = start + 1, None
            for at in range(start + 1, last + 1):
                used = sizes[at] - sizes[start]
                if used > room:
                    break
                if used + utf16_len(closers(at)) > room:
                    continue
                rank = _cut_rank(text[offsets[max(at - 2, 0)] : offsets[at]])
                key = (used * 2 >= room, rank, not stacks[at], at)
                if best is None or key > best:
                    best, end = key, at
        chunk = opening + text[offsets[start] : offsets[end]].strip() + closers(end)
        if _visible(chunk):
            chunks.append(chunk)
        start = end
    return chunks


def _cut_rank(before: str) -> int:
    """How well a cut after `before` (the last two tokens) reads: after a blank line best,
    then after a line, then after a word; mid-word worst."""
    if before.endswith("\n\n"):
        return 3
    return 2 if before.endswith("\n") else 1 if before.endswith(" ") else 0


def _visible(chunk: str) -> bool:
    return bool(re.sub(r"<[^<>]*>", "", chunk).strip())
