"""Which language a message is in, and which language a conversation is answered in.

Detection uses Lingua (lingua-language-detector: maintained, its models ship inside the
wheel, nothing is downloaded), limited to the languages of data/languages.yml. It was chosen
by measurement on short questions against langid, langdetect and Lingua's low-accuracy mode
(docs/languages.md): with the names every language shares removed and a confidence floor, it
flipped the fewest English messages while still recognising most questions in the others.

A short or ambiguous message says nothing about the language: fewer than MIN_WORDS words
("ok", "oui", "Marie Dupont"), too few once names, places, links and numbers are removed
("ECRIN in Österreich"), a guess the message's own function words contradict, or one Lingua
is not sure of (`detect`), gives `Detection(None, …)`, so that answering a form's question
with a country or a "yes" never switches the conversation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from bot import i18n
from bot.countries import gazetteer

MIN_WORDS = 3
# The `language` metadata that takes an earlier choice back (the web chat's "Automatic",
# Telegram's /language auto): detection decides again.
AUTOMATIC = "auto"
# Without a single function word of any language, a message needs this many words: made-up
# words ("blorp zzzt quux": de 0.73) are no language.
MIN_UNVOUCHED_WORDS = 4
# Function words of another language veto a guess below this ("is ecrin a french
# organisation": fr 0.73, but "is" is English).
VETO_CONFIDENCE = 0.9
# Without function words to go by, the best guess must be this many times as likely as the
# next one.
RATIO = 2.0

# Words that are the same in every language the assistant speaks (names, acronyms, loan
# words), links, addresses and numbers: they say nothing about the language, and left in they
# pull short messages towards whichever language their spelling looks like.
_NEUTRAL = re.compile(
    r"https?://\S+|www\.\S+|\S+@\S+|\d+([.,:/-]\d+)*|"
    r"\b(ecrin|eupati|placebos?|webinars?|ictd|toolbox|open classroom|eu|ema|gdpr|rgpd|dsgvo)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*")


@dataclass(frozen=True)
class Detection:
    """The language of one message (`code` None when the message does not say) and how
    sure the detector was of its best guess. A message that does not say may still `hint`
    at one (`hint_language`): a weaker sign, used only while nothing said more."""

    code: str | None
    confidence: float
    hint: str | None = None

    def as_dict(self) -> dict[str, Any]:
        found = {"code": self.code, "confidence": round(self.confidence, 4)}
        return {**found, "hint": self.hint} if self.hint else found


def content_words(text: str) -> list[str]:
    """The words of `text` that can tell its language: not the names of places (a country or
    city in any language, bot/countries.py), organisations, links or numbers."""
    text = _NEUTRAL.sub(" ", text or "")
    for mention in reversed(gazetteer().mentions(text)):
        text = text[: mention.start] + " " + text[mention.end :]
    return _WORD.findall(text)


@lru_cache(maxsize=1)
def _detector() -> Any:
    """Lingua's detector for the configured languages, its models loaded once (about half a
    second and 150 MB for five languages, measured)."""
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    wanted = [
        Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))
        for code in i18n.languages()
    ]
    return LanguageDetectorBuilder.from_languages(*wanted).with_preloaded_language_models().build()


@lru_cache(maxsize=256)
def _confidence_values(words: str) -> tuple[Any, ...]:
    """Lingua's languages for `words`, most likely first: `_detect` and `hint_language` both
    ask for an unsure message's, which is then computed once."""
    return tuple(_detector().compute_language_confidence_values(words))


# Short words only one of the five languages writes (a word two of them share, such as "que",
# "es", "un", "la", "qui", "con", is left out; so are English words that are also German:
# "was", "die", "will", "so", "in"). Lingua's confidence is low on four-word questions even
# when its best guess is right ("qu est ce qu un placebo": fr 0.27, it 0.24); one of these
# words agreeing with that guess settles it, and one disagreeing vetoes a weak guess
# ("is this chatgpt?" read as French, 0.46).
FUNCTION_WORDS = {
    "en": "the is are what who how why when where which you my your can could does did "
    "there this that of and with about would should have they them tell please any join "
    "get paid trials study studies research medicine medicines disease involve involved "
    "taking",
    "fr": "qu est-ce qu'est-ce c'est qu'est qu'un qu'une je j'ai suis pas les au aux où quoi "
    "comment pourquoi quel quelle quels quelles avec dans sur mon vous nous peux puis m'en "
    "dis ça être avoir ils elle une ce cette est et s'il essai essais étude études "
    "recherche médicament médicaments maladie médecin participer patiente patientes",
    "de": "ist der das ein eine einen einem und ich wer wie wo bist nicht kann können gibt "
    "mit für mir mich bitte auch zu auf sind habe bin mein meine wann welche warum über "
    "noch sie ihr erzähl mehr studie studien klinische klinischen forschung medikament "
    "medikamente krankheit arzt ärztin teilnehmen teilnahme patienten patientin",
    "es": "qué cómo como cuál cuáles cuándo dónde donde puedo quiero hay soy estoy para los "
    "las el pero muy también gracias usted tengo está ensayo ensayos quién cuéntame pagan "
    "participar eres por estudio estudios investigación medicamento medicamentos "
    "enfermedad médico clínico clínicos clinico pacientes",
    "it": "è cos'è cos che chi sono della dello degli delle gli posso voglio c'è ci dove "
    "quando perché sei dimmi anche grazie questo quale ho hai ed nel nella di e studio studi "
    "sperimentazione sperimentazioni ricerca farmaco farmaci malattia clinico clinica "
    "clinici pazienti partecipare",
}
# Two-word openings only one language writes ("que es" is not French, "cos'è" is Italian).
PHRASES = {
    "en": r"\bwhat(?:'s| is| are)\b|\bwhats\b|\bhow (?:do|can|does)\b",
    "fr": r"\bqu'?est[- ]ce\b|\bc'est quoi\b|\bqu'?est[- ]ce qu\b|\best[- ]ce que\b",
    "de": r"\bwas (?:ist|sind|bedeutet|hei(?:ß|ss)t)\b|\bwie (?:kann|funktioniert)\b",
    "es": r"\bqu[eé] (?:es|son|significa)\b|\bc[oó]mo (?:puedo|se|funciona)\b",
    "it": r"\bcos['\u2019 ]?[eè]\b|\bcosa (?:[eè]|sono|significa)\b|\bche cos\b",
}
_PHRASES = {code: re.compile(pattern, re.IGNORECASE) for code, pattern in PHRASES.items()}
_FUNCTION_WORDS = {code: frozenset(words.split()) for code, words in FUNCTION_WORDS.items()}
# Greetings only one language says. A message of nothing else ("Bonjour !", "buenos días") is
# too short to detect, yet says how the person will go on: it counts until a message says
# more (`conversation_language`), as the browser's language does.
GREETINGS = {
    "en": "hello hi hey hiya howdy good morning afternoon evening there",
    "fr": "bonjour bonsoir salut coucou allô allo",
    "de": "hallo guten tag morgen abend grüezi gruezi grüß gruss gruß gott servus moin",
    "es": "hola buenos buenas días dias tardes noches qué que tal",
    "it": "ciao buongiorno buonasera salve",
}
_GREETINGS = {code: frozenset(words.split()) for code, words in GREETINGS.items()}


def function_word_votes(words: list[str]) -> dict[str, int]:
    """How many of `words` (and of the two-word openings among them) only one language
    writes, by language."""
    votes: dict[str, int] = {}
    joined = " ".join(words)
    for code, pattern in _PHRASES.items():
        found = len(pattern.findall(joined))
        if found:
            votes[code] = votes.get(code, 0) + found
    for word in words:
        lowered = word.lower().replace("\u2019", "'")
        for code, known in _FUNCTION_WORDS.items():
            if lowered in known:
                votes[code] = votes.get(code, 0) + 1
    return votes


def detect(text: str) -> Detection:
    """The language of `text`, or for a short or ambiguous text `Detection(None, confidence,
    hint)` (`_detect`, `hint_language`)."""
    found = _detect(text)
    if found.code is None and text and not text.startswith("/"):
        return Detection(None, found.confidence, hint_language(text))
    return found


def _detect(text: str) -> Detection:
    """The language of `text`, or `Detection(None, confidence)` for a short or ambiguous text.

    Lingua's guess counts when it is at least twice as likely as the next one, or when the
    language's own function words agree with it (two of one language and none of another
    choose it); function words pointing elsewhere veto a guess below VETO_CONFIDENCE. A
    message of which only two words can tell ("cos'è un placebo") needs the function words'
    agreement, and one without any function word MIN_UNVOUCHED_WORDS words."""
    if len(_WORD.findall(text or "")) < MIN_WORDS:
        return Detection(None, 0.0)
    words = content_words(text)
    if len(words) < MIN_WORDS - 1:
        return Detection(None, 0.0)
    languages = i18n.languages()
    if len(languages) == 1:
        return Detection(next(iter(languages)), 1.0)
    values = _confidence_values(" ".join(words))
    if not values:
        return Detection(None, 0.0)
    top = values[0]
    code = top.language.iso_code_639_1.name.lower()
    second = values[1].value if len(values) > 1 else 0.0
    votes = {c: n for c, n in function_word_votes(words).items() if c in languages}
    most = max(votes.values(), default=0)
    voted = [c for c, n in votes.items() if n == most] if most else []
    confidence = float(top.value)
    if code not in languages:
        return Detection(None, confidence)
    if voted == [code]:
        return Detection(code, confidence)
    if len(voted) == 1 and most >= 2 and len(votes) == 1:
        # Two words or more of one language and none of another: Lingua was misled by the
        # rest ("chi è il partner in": it, not en).
        chosen = next(v for v in values if v.language.iso_code_639_1.name.lower() == voted[0])
        return Detection(voted[0], float(chosen.value))
    if len(words) < MIN_WORDS:
        return Detection(None, confidence)
    if voted and confidence < VETO_CONFIDENCE:
        # The message's own function words point elsewhere (or both ways): not sure.
        return Detection(None, confidence)
    if confidence >= RATIO * second and (votes or len(words) >= MIN_UNVOUCHED_WORDS):
        return Detection(code, confidence)
    return Detection(None, confidence)


def greeting_language(text: str) -> str | None:
    """The language of a message that is only a greeting of one language ("Hola!",
    "guten Morgen"), else None."""
    words = [word.lower() for word in _WORD.findall(text or "")]
    if not words or len(words) > 4:
        return None
    saying = [code for code, known in _GREETINGS.items() if all(w in known for w in words)]
    return saying[0] if len(saying) == 1 and saying[0] in i18n.languages() else None


def hint_language(text: str) -> str | None:
    """The language a message too short or unsure to detect points to: a greeting of one
    language ("bonjour"), or the one language whose own words it uses ("Cos'è EUPATI?",
    "comment participer ?", "wie teilnehmen"), unless Lingua is sure of another ("come on")."""
    greeting = greeting_language(text)
    if greeting:
        return greeting
    languages = i18n.languages()
    words = content_words(text)
    votes = [code for code in function_word_votes(words) if code in languages]
    if len(votes) != 1 or len(languages) == 1:
        return None
    values = _confidence_values(" ".join(words))
    top = values[0] if values else None
    sure_of_another = top and top.language.iso_code_639_1.name.lower() != votes[0]
    return None if sure_of_another and top.value >= VETO_CONFIDENCE else votes[0]


# --- The conversation's language -------------------------------------------------------------


def _user_message(event: Any) -> tuple[str, Mapping[str, Any], Mapping[str, Any]] | None:
    """(text, metadata, parse data) of a user message event, a dict (rasa-sdk, the tracker
    store) or a Rasa `UserUttered`; None for any other event."""
    if isinstance(event, Mapping):
        if event.get("event") != "user":
            return None
        return (event.get("text") or "", event.get("metadata") or {}, event.get("parse_data") or {})
    if getattr(event, "type_name", None) != "user":
        return None
    return (
        getattr(event, "text", None) or "",
        getattr(event, "metadata", None) or {},
        getattr(event, "parse_data", None) or {},
    )


def accept_language(header: str | None) -> str | None:
    """The first supported language of an Accept-Language header ("fr-CH, fr;q=0.9, en;q=0.8"),
    by preference (q) then order."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(str(header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        match = re.search(r"q=([0-9.]+)", params)
        if match:
            try:
                quality = float(match.group(1))
            except ValueError:
                quality = 0.0
        code = i18n.supported(tag)
        if code and quality > 0:
            ranked.append((-quality, index, code))
    return min(ranked)[2] if ranked else None


def detected(parse_data: Mapping[str, Any], text: str, detect_missing: bool) -> Detection:
    """The language the NLU pipeline found for a message (bot.rasa_ext.language), or, for a
    message parsed without it (a model trained before the component), detected now."""
    found = parse_data.get("language")
    if isinstance(found, Mapping):
        return Detection(
            i18n.supported(found.get("code")),
            float(found.get("confidence") or 0.0),
            i18n.supported(found.get("hint")),
        )
    if detect_missing and text and not text.startswith("/"):
        return detect(text)
    return Detection(None, 0.0)


def conversation_language(
    events: Iterable[Any], default: str = "en", detect_missing: bool = True
) -> str:
    """The language to answer in: the latest explicit choice (user message metadata
    `language`, from the web chat's selector or Telegram's /language), else the language of
    the latest message that said one, else the latest one a short message hinted at
    ("bonjour", "Cos'è EUPATI?"), else the browser's `accept_language` (a first guess), else
    `default`."""
    chosen = confident = hinted = guessed = None
    for event in events:
        message = _user_message(event)
        if message is None:
            continue
        text, metadata, parse_data = message
        if str(metadata.get("language") or "").lower() == AUTOMATIC:
            chosen = None  # "Automatic" in the web selector or /language: the choice taken back
        chosen = i18n.supported(metadata.get("language")) or chosen
        found = detected(parse_data, text, detect_missing)
        confident = found.code or confident
        hinted = found.hint or hinted
        guessed = guessed or accept_language(metadata.get("accept_language"))
    return (
        chosen
        or confident
        or hinted
        or guessed
        or i18n.supported(default)
        or i18n.default_language()
    )
