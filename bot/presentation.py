"""How an answer looks, whatever the channel: its text cut into a lead, the rest ("more"),
lists, readable links and cards, for the web chat (JSON) and Telegram (HTML) to render.

The text itself never changes (the REST channel and the evaluation read it as it is); this
module only reads it. A bare address is hard to read aloud and to trust, so every link gets
a label naming its site (data/sites.yml, which staff edit without a code change); a long
answer shows its first sentence and keeps the rest one tap away; the events and partners an
answer names come as cards from the action's custom payload (actions/events.py,
actions/partners.py), and the bullet list they duplicate is then left out.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml

from bot.i18n import learn_more_phrases
from bot.settings import PROJECT_ROOT

SITES_FILE = PROJECT_ROOT / "data" / "sites.yml"

# Any address in an answer (its source link: sources_at_end).
URL = re.compile(r"https?://[^\s<>\"]+")
# Characters that end a sentence or a clause right after an address, not part of it.
URL_TRAILING = ".,;:!?)]}'\""
LIST_MARKERS = ("• ", "- ")
# A sentence ends at . ! or ? followed by space and what can start one; not after the
# abbreviations our answers use ("e.g. a placebo", "Dr. Smith").
SENTENCE_BREAK = re.compile(r"(?<=[.!?])[\"”)]?\s+(?=[A-Z0-9\"“('•])")
ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "Dr.", "St.", "No.", "vs.", "approx.", "Mr.", "Ms.")
# Longer than this (characters of body), or more sentences than this, is a long answer.
LONG_BODY_CHARS = 220
LONG_SENTENCES = 2
# An event's attendance, as cards name it (bot.models.Attendance values, and the card's).
ATTENDANCE_NAMES = {"in_person": "in person", "online": "online", "hybrid": "hybrid"}


@dataclass(frozen=True)
class Link:
    """An address with the words a reader sees; `label` is never the bare address."""

    url: str
    label: str


Run = str | Link


@dataclass(frozen=True)
class Block:
    """A paragraph (`runs`) or a bulleted list (`items`, each a sequence of runs)."""

    kind: Literal["paragraph", "list"]
    runs: tuple[Run, ...] = ()
    items: tuple[tuple[Run, ...], ...] = ()


@dataclass(frozen=True)
class EventCard:
    """One listed event. `calendar_url` is the "Add to calendar" file beside the web chat page
    (bot/ical.py), None for a past event or a self-paced course, which have no date to add."""

    title: str
    starts_on: str | None
    ends_on: str | None
    all_day: bool
    time_label: str | None
    yearly: bool
    place: str | None
    attendance: Literal["online", "hybrid", "in person"]
    audience: str | None
    url: str | None
    link: Link | None
    calendar_url: str | None


@dataclass(frozen=True)
class PartnerCard:
    """The organisation to contact in a country, with its website and contact page."""

    name: str
    city: str | None
    country: str | None
    website: Link | None
    contact: Link | None


Card = EventCard | PartnerCard


@dataclass(frozen=True)
class Rich:
    """An answer ready to render: `lead` always shown, `more` behind a "More" control,
    `source` the page the answer comes from, `cards` the events or partners it names."""

    lead: tuple[Block, ...]
    more: tuple[Block, ...] = ()
    source: Link | None = None
    cards: tuple[Card, ...] = ()


# --- Site names -----------------------------------------------------------------------------

_sites_lock = threading.Lock()
_sites_cache: tuple[tuple[int, int], dict[str, str]] | None = None


def load_sites(path: Path = SITES_FILE) -> dict[str, str]:
    """data/sites.yml as {host: name}, hosts lower-case; re-read when the file changes, so a
    staff edit shows at the next answer. A missing or broken file gives no names (links then
    fall back to their host), never an error in a user's answer."""
    global _sites_cache
    try:
        stat = path.stat()
        state = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        return {}
    with _sites_lock:
        if _sites_cache is not None and _sites_cache[0] == state and path == SITES_FILE:
            return _sites_cache[1]
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            return {}
        table = loaded.get("sites", loaded) if isinstance(loaded, dict) else {}
        sites = {
            str(host).strip().lower(): str(name).strip()
            for host, name in (table.items() if isinstance(table, dict) else [])
            if str(name or "").strip()
        }
        if path == SITES_FILE:
            _sites_cache = (state, sites)
        return sites


def host_of(url: str) -> str:
    """The address's host, lower-case, without "www." ("www.ema.europa.eu" → "ema.europa.eu")."""
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def site_name(url: str, sites: Mapping[str, str] | None = None) -> str | None:
    """The readable name of the site `url` is on: its host in data/sites.yml, else the
    nearest parent domain listed there ("at.eupati.eu" → the name of "eupati.eu"); None when
    neither is listed."""
    sites = load_sites() if sites is None else sites
    host = host_of(url)
    parts = host.split(".")
    for start in range(len(parts) - 1):
        candidate = ".".join(parts[start:])
        for key in (candidate, "www." + candidate):
            if key in sites:
                return sites[key]
    return None


def link_label(url: str) -> str:
    """What a link to `url` says: "Read more on the EMA website", or "Read more on <host>"
    for a site data/sites.yml does not name."""
    name = site_name(url)
    if name:
        return f"Read more on the {name} website"
    return f"Read more on {host_of(url) or 'the linked page'}"


def inline_label(url: str) -> str:
    """A link's words inside a sentence ("its website, F-CRIN, or …"): the site's name, else
    its host; never the whole address."""
    return site_name(url) or host_of(url) or "the linked page"


# --- Text → blocks ---------------------------------------------------------------------------


def _split_url(candidate: str) -> tuple[str, str]:
    """An address found in text and the punctuation after it that belongs to the sentence."""
    url = candidate.rstrip(URL_TRAILING)
    # A closing bracket the address opened is part of it (Wikipedia-style addresses).
    while candidate[len(url) : len(url) + 1] == ")" and url.count("(") > url.count(")"):
        url += ")"
    return url, candidate[len(url) :]


def runs_of(text: str) -> tuple[Run, ...]:
    """`text` as runs: plain text, and each address as a Link with a readable label."""
    runs: list[Run] = []
    position = 0
    for found in URL.finditer(text):
        url, _ = _split_url(found.group())  # the punctuation after it stays in the text
        if found.start() > position:
            runs.append(text[position : found.start()])
        runs.append(Link(url, inline_label(url)))
        position = found.start() + len(url)
    if position < len(text):
        runs.append(text[position:])
    return _merged(runs)


def _merged(runs: Iterable[Run]) -> tuple[Run, ...]:
    """Adjacent text runs joined, empty ones dropped."""
    out: list[Run] = []
    for run in runs:
        if isinstance(run, str):
            if not run:
                continue
            if out and isinstance(out[-1], str):
                out[-1] = out[-1] + run
                continue
        out.append(run)
    return tuple(out)


def sentences(text: str) -> list[str]:
    """`text` cut into sentences, every character but the spaces between them kept."""
    pieces: list[str] = []
    start = 0
    for found in SENTENCE_BREAK.finditer(text):
        before = text[start : found.start()]
        closing = found.group().rstrip()  # a closing quote or bracket stays with its sentence
        if before.endswith(ABBREVIATIONS) or _inside_url(text, found.start()):
            continue
        pieces.append((before + closing).strip())
        start = found.end()
    rest = text[start:].strip()
    if rest:
        pieces.append(rest)
    return [p for p in pieces if p]


def _inside_url(text: str, index: int) -> bool:
    """Whether `index` falls inside an address (a "." in it is no sentence end)."""
    for found in URL.finditer(text):
        url, _ = _split_url(found.group())
        if found.start() <= index < found.start() + len(url) - 1:
            return True
    return False


@dataclass(frozen=True)
class _Piece:
    """A line group of the body before it becomes a Block: paragraph text or list items."""

    kind: Literal["paragraph", "list"]
    lines: tuple[str, ...]


def _pieces(body: str) -> list[_Piece]:
    """The body's lines grouped: consecutive "• "/"- " lines form one list, other lines one
    paragraph each (blank lines only separate)."""
    pieces: list[_Piece] = []
    for raw in body.splitlines():
        line = raw.strip()
        if not line:
            continue
        marker = next((m for m in LIST_MARKERS if line.startswith(m)), None)
        if marker is not None:
            item = line[len(marker) :].strip()
            if pieces and pieces[-1].kind == "list":
                pieces[-1] = _Piece("list", (*pieces[-1].lines, item))
            else:
                pieces.append(_Piece("list", (item,)))
        else:
            pieces.append(_Piece("paragraph", (line,)))
    return pieces


def _block(piece: _Piece) -> Block:
    if piece.kind == "list":
        return Block("list", items=tuple(runs_of(item) for item in piece.lines))
    return Block("paragraph", runs=runs_of(" ".join(piece.lines)))


@lru_cache(maxsize=1)
def sources_at_end() -> re.Pattern[str]:
    """The source link answers end with (bot/answers.py), in any language: phrase, address."""
    phrases = sorted({"Learn more:", *learn_more_phrases()}, key=len, reverse=True)
    pattern = "|".join(re.escape(phrase.rstrip(":").rstrip()) for phrase in phrases)
    return re.compile(rf"\s*({pattern})\s*:\s*(https?://\S+)\s*$")


def split_source(text: str) -> tuple[str, Link | None]:
    """The body and its source link (None without one); "En savoir plus : EMA" in French."""
    found = sources_at_end().search(text)
    if not found:
        return text.strip(), None
    url, trailing = _split_url(found.group(2))
    body = text[: found.start()].rstrip()
    if trailing.strip():  # punctuation after the address: keep it, it is the answer's
        body = f"{body} {trailing.strip()}".strip()
    if found.group(1) == "Learn more":
        return body, Link(url, link_label(url))
    phrase = text[found.start(1) : found.start(2)].strip()
    return body, Link(url, f"{phrase} {site_name(url) or host_of(url) or url}")


def is_long(pieces: list[_Piece]) -> bool:
    """Long enough to show the first sentence and keep the rest behind "More"."""
    paragraphs = [line for p in pieces if p.kind == "paragraph" for line in p.lines]
    visible = " ".join(line for p in pieces for line in p.lines)
    count = sum(len(sentences(line)) for line in paragraphs)
    count += sum(len(p.lines) for p in pieces if p.kind == "list")
    return len(visible) > LONG_BODY_CHARS or count > LONG_SENTENCES


def present(text: str, custom: dict[str, Any] | None = None) -> Rich:
    """The answer `text` (and its custom payload) as a Rich answer; see the module docstring.

    Every sentence of the text is in `lead` or `more`, in order, except the bullet list that
    cards stand for; the source link moves to `source`."""
    body, source = split_source(text or "")
    cards = cards_from(custom)
    if source is not None and source.url in card_urls(cards):
        source = None  # the card that names the page already links it, by its own name
    pieces = _pieces(body)
    if any(isinstance(c, EventCard) for c in cards) and any(p.kind == "list" for p in pieces):
        # The cards carry the events the list names, one line each: drop that list (the first).
        first_list = next(i for i, p in enumerate(pieces) if p.kind == "list")
        pieces = pieces[:first_list] + pieces[first_list + 1 :]
    if not pieces:
        return Rich(lead=(), source=source, cards=cards)
    # Only an answer (it cites its source) keeps a rest behind "More": a question ends with
    # what it asks and a safety message with whom to call, so those are always whole.
    if source is None or not is_long(pieces):
        return Rich(lead=tuple(_block(p) for p in pieces), source=source, cards=cards)
    first, rest = pieces[0], pieces[1:]
    lead: list[Block]
    more: list[Block] = []
    if first.kind == "paragraph":
        said = sentences(first.lines[0])
        lead = [Block("paragraph", runs=runs_of(said[0]))]
        if len(said) > 1:
            more.append(Block("paragraph", runs=runs_of(" ".join(said[1:]))))
    else:
        lead = [_block(first)]
    more += [_block(p) for p in rest]
    return Rich(lead=tuple(lead), more=tuple(more), source=source, cards=cards)


# --- Cards from a custom payload --------------------------------------------------------------

EVENTS_KEY = "events"  # bot.ical.PAYLOAD_KEY
PARTNERS_KEY = "partners"


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _web_url(value: Any) -> str | None:
    """An http(s) address from a payload, else None (a payload comes back from storage)."""
    url = _text(value)
    if url is None or not URL.fullmatch(url):
        return None
    return url


def _calendar_url(value: Any) -> str | None:
    from bot.ical import SLUG_PATTERN

    path = _text(value)
    if path is None or not path.startswith("events/") or not path.endswith(".ics"):
        return None
    slug = path.removeprefix("events/").removesuffix(".ics")
    return path if SLUG_PATTERN.fullmatch(slug) else None


def event_card(entry: Mapping[str, Any]) -> EventCard | None:
    """The card of one `custom.events` entry, or None for an entry without a title."""
    title = _text(entry.get("title"))
    if title is None:
        return None
    url = _web_url(entry.get("url"))
    attendance = ATTENDANCE_NAMES.get(str(entry.get("attendance") or "").replace(" ", "_"))
    return EventCard(
        title=title,
        starts_on=_text(entry.get("starts_on")),
        ends_on=_text(entry.get("ends_on")),
        all_day=entry.get("all_day") is True,
        time_label=_text(entry.get("time_label")),
        yearly=entry.get("yearly") is True,
        place=_text(entry.get("place")),
        attendance=attendance or "in person",  # type: ignore[arg-type]
        audience=_text(entry.get("audience")),
        url=url,
        link=Link(url, link_label(url)) if url else None,
        calendar_url=_calendar_url(entry.get("calendar_url")),
    )


def partner_card(entry: Mapping[str, Any]) -> PartnerCard | None:
    """The card of one `custom.partners` entry, or None for an entry without a name."""
    name = _text(entry.get("name"))
    if name is None:
        return None
    website = _web_url(entry.get("website"))
    contact = _web_url(entry.get("contact"))
    return PartnerCard(
        name=name,
        city=_text(entry.get("city")),
        country=_text(entry.get("country")),
        website=Link(website, f"{inline_label(website)} website") if website else None,
        contact=Link(contact, "Contact page") if contact else None,
    )


def card_urls(cards: Iterable[Card]) -> set[str]:
    """Every address the cards link to."""
    links = (
        [card.link] if isinstance(card, EventCard) else [card.website, card.contact]
        for card in cards
    )
    return {link.url for group in links for link in group if link is not None}


def cards_from(custom: Any) -> tuple[Card, ...]:
    """The event and partner cards of a custom payload. Events count as cards only when
    their entries carry card fields ("attendance"): an older payload (title and calendar
    link only) keeps its list in the text."""
    if not isinstance(custom, Mapping):
        return ()
    cards: list[Card] = []
    events = custom.get(EVENTS_KEY)
    for entry in events if isinstance(events, list) else []:
        if isinstance(entry, Mapping) and "attendance" in entry:
            card = event_card(entry)
            if card is not None:
                cards.append(card)
    partners = custom.get(PARTNERS_KEY)
    for entry in partners if isinstance(partners, list) else []:
        if isinstance(entry, Mapping):
            partner = partner_card(entry)
            if partner is not None:
                cards.append(partner)
    return tuple(cards)


# --- JSON for the web chat ------------------------------------------------------------------


def _link_json(link: Link | None) -> dict[str, str] | None:
    return {"url": link.url, "label": link.label} if link else None


def _runs_json(runs: Iterable[Run]) -> list[dict[str, str]]:
    return [
        {"text": run} if isinstance(run, str) else {"url": run.url, "label": run.label}
        for run in runs
    ]


def _block_json(block: Block) -> dict[str, Any]:
    if block.kind == "list":
        return {"type": "list", "items": [_runs_json(item) for item in block.items]}
    return {"type": "paragraph", "runs": _runs_json(block.runs)}


def _card_json(card: Card) -> dict[str, Any]:
    if isinstance(card, EventCard):
        return {
            "type": "event",
            "title": card.title,
            "starts_on": card.starts_on,
            "ends_on": card.ends_on,
            "all_day": card.all_day,
            "time_label": card.time_label,
            "yearly": card.yearly,
            "place": card.place,
            "attendance": card.attendance,
            "audience": card.audience,
            "url": card.url,
            "link": _link_json(card.link),
            "calendar_url": card.calendar_url,
        }
    return {
        "type": "partner",
        "name": card.name,
        "city": card.city,
        "country": card.country,
        "website": _link_json(card.website),
        "contact": _link_json(card.contact),
    }


def rich_json(rich: Rich) -> dict[str, Any]:
    """The web chat's `rich` object: {lead, more, source, cards}, blocks, runs and cards as
    plain JSON (tests/test_presentation.py shows the shape)."""
    return {
        "lead": [_block_json(b) for b in rich.lead],
        "more": [_block_json(b) for b in rich.more],
        "source": _link_json(rich.source),
        "cards": [_card_json(c) for c in rich.cards],
    }
