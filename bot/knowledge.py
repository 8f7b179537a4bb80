"""What we know about each FAQ answer besides its text, and the content rules it must meet.

Every answer in `data/nlu/faq_<group>.yml` has an entry in `data/faq/faq_<group>.yml`:

```yaml
faq_trials/placebo:
  title: "What is a placebo?"        # the "did you mean …?" button
  audience: patients                 # patients | everyone | researchers
  sources:                           # the pages its facts were checked against
  - https://www.ema.europa.eu/en/glossary/placebo
  checked: 2026-12-06                # when they were last checked
  as_of: 2026                        # only for facts that change: counts, names, members
  country: NL                        # only when the answer is about one country
```

The rules (`content_problems`): the answer's link is on `TRUSTED_DOMAINS`, or on a national
site when the entry names the country the answer is about; it has a source and a check
date; a dated fact (a count of members, fellows, platforms…) says "as of <year>"; and an
answer written for patients or everyone reads at grade `MAX_GRADE` or below. The median
grade of patient answers is reported by `bot eval` (target `TARGET_MEDIAN_GRADE`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from bot.settings import PROJECT_ROOT

CATALOGUE_DIR = PROJECT_ROOT / "data" / "faq"
AUDIENCES = ("patients", "everyone", "researchers")
# Readers of these answers include people with little schooling; researchers may read more.
PLAIN_LANGUAGE_AUDIENCES = frozenset({"patients", "everyone"})
MAX_GRADE = 12.0
TARGET_MEDIAN_GRADE = 8.0

# Europe-wide, authoritative sites. A national page is linked only from an answer about
# that country (its entry says `country:`), so a patient in Lisbon is not sent to the NHS.
TRUSTED_DOMAINS = frozenset(
    {
        "europa.eu",  # the Commission, EMA, EUR-Lex, CORDIS, EDPB, EDCTP3, IHI
        "euclinicaltrials.eu",  # the CTIS public portal
        "ecrin.org",
        "ecrin-mdr.online",
        "eupati.eu",
        "who.int",
        "clinicaltrials.gov",
        "ich.org",
        "eurordis.org",
        "orpha.net",
        "equator-network.org",
        "bmj.com",
        "eu-x-ct.eu",
        "frontiersin.org",
        "eypagnet.eu",  # the European network of young persons' advisory groups
        "conect4children.org",  # the EU-funded paediatric trials network
        "pemsuite.org",  # PFMD's patient-engagement principles (fair payment)
        "pmc.ncbi.nlm.nih.gov",  # full texts of published guidance (GRIPP2)
    }
)

LINK = re.compile(r"Learn more: (https?://\S+)$")
# Facts that go stale: how many members, fellows, platforms or countries; who leads.
DATED_FACT = re.compile(
    r"\b(\d+|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty[- \w]*)\s+(member|observer|countr|"
    r"fellow|national platform|platform|partner|staff|employee)\w*|"
    r"\b(director general|chair(man|woman|person)?|president|executive director)\b",
    re.IGNORECASE,
)
AS_OF = re.compile(r"\b(as of|in|since) (20\d\d)\b", re.IGNORECASE)


class CatalogueError(ValueError):
    """A catalogue file is malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class Topic:
    key: str
    title: str
    audience: str
    sources: tuple[str, ...]
    checked: date | None
    as_of: int | None = None
    country: str | None = None

    @property
    def plain_language(self) -> bool:
        return self.audience in PLAIN_LANGUAGE_AUDIENCES


def _topic(where: str, key: str, entry: Any) -> Topic:
    if not isinstance(entry, dict) or not isinstance(entry.get("title"), str):
        raise CatalogueError(f"{where}: {key} needs at least a `title`")
    audience = entry.get("audience")
    if audience not in AUDIENCES:
        raise CatalogueError(f"{where}: {key} audience must be one of {', '.join(AUDIENCES)}")
    checked = entry.get("checked")
    if checked is not None and not isinstance(checked, date):
        raise CatalogueError(f"{where}: {key} checked must be a date (YYYY-MM-DD)")
    return Topic(
        key=key,
        title=entry["title"],
        audience=audience,
        sources=tuple(entry.get("sources") or ()),
        checked=checked,
        as_of=entry.get("as_of"),
        country=entry.get("country"),
    )


def read_catalogue(directory: Path = CATALOGUE_DIR) -> dict[str, Topic]:
    topics: dict[str, Topic] = {}
    for path in sorted(directory.glob("faq_*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key, entry in document.items():
            if key in topics:
                raise CatalogueError(f"{path.name}: {key} is catalogued twice")
            topics[key] = _topic(path.name, key, entry)
    return topics


@lru_cache(maxsize=1)
def catalogue() -> dict[str, Topic]:
    """Every catalogued FAQ topic by key ("faq_trials/placebo"), read once per process."""
    return read_catalogue()


def domain_is_trusted(url: str) -> bool:
    host = (urlparse(url).hostname or "").removeprefix("www.")
    return any(host == domain or host.endswith("." + domain) for domain in TRUSTED_DOMAINS)


# --- Readability -----------------------------------------------------------------------------

_WORD = re.compile(r"[A-Za-z]+(?:['\u2019-][A-Za-z]+)*")
_VOWEL_GROUP = re.compile(r"[aeiouy]+")
# Vowel pairs spoken as two syllables ("tri-al", "peri-od", "anxi-ety"), except the one-syllable
# endings -tion, -sion, -cious, -gion.
_SPLIT_PAIR = re.compile(r"(?<![tscg])i(a|o|u|e(?=t))")
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")
URL_OR_LINK = re.compile(r"(Learn more:\s*)?https?://\S+")


def syllables(word: str) -> int:
    """Syllables in an English word, by vowel groups (the usual Flesch-Kincaid estimate)."""
    word = word.lower().replace("\u2019", "'").split("'")[0]
    if len(word) <= 3:
        return 1
    count = len(_VOWEL_GROUP.findall(word)) + len(_SPLIT_PAIR.findall(word))
    # A silent final e ("make", "involve") or -ed/-es after most consonants ("asked").
    silent_e = word.endswith("e") and not word.endswith(("le", "ee", "ye"))
    silent_ending = word.endswith(("ed", "es")) and not word.endswith(
        ("ted", "ded", "ses", "ces", "zes", "ges")
    )
    if silent_e or silent_ending:
        count -= 1
    return max(1, count)


def reading_grade(text: str) -> float:
    """Flesch-Kincaid grade level of `text`, ignoring its closing link."""
    body = URL_OR_LINK.sub("", text)
    words = _WORD.findall(body)
    if not words:
        return 0.0
    sentences = max(1, len(_SENTENCE_END.findall(body)))
    syllable_count = sum(syllables(word) for word in words)
    return round(0.39 * len(words) / sentences + 11.8 * syllable_count / len(words) - 15.59, 1)


# --- Content rules ---------------------------------------------------------------------------


def content_problems(topic: Topic | None, text: str) -> list[str]:
    """Why this answer breaks the content rules; empty when it keeps them."""
    if topic is None:
        return ["it has no catalogue entry in data/faq/"]
    problems = []
    link = LINK.search(text)
    if link and not domain_is_trusted(link.group(1)) and not topic.country:
        problems.append(
            f"its link {link.group(1)} is not on bot.knowledge.TRUSTED_DOMAINS "
            "(a national page needs `country:` and an answer about that country)"
        )
    if not topic.sources:
        problems.append("it names no source")
    if topic.checked is None:
        problems.append("it has no `checked` date")
    if DATED_FACT.search(LINK.sub("", text)):
        if topic.as_of is None:
            problems.append("it states a fact that changes (a count or a post) without `as_of`")
        elif not any(int(year) == topic.as_of for _, year in AS_OF.findall(text)):
            problems.append(f"it must say when its changing fact was true ('as of {topic.as_of}')")
    if topic.plain_language and reading_grade(text) > MAX_GRADE:
        grade = reading_grade(text)
        problems.append(f"it reads at grade {grade} (at most {MAX_GRADE:g} for {topic.audience})")
    return problems
