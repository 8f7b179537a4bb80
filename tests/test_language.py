"""The language of a message and of a conversation (bot/language.py), the NLU component that
records it (bot/rasa_ext/language.py), the answers said in it (bot/rasa_ext/nlg.py, the
look-ups' wording) and place names in every language (bot/countries.py)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
import yaml

from bot import i18n
from bot.countries import gazetteer
from bot.dates import parse_when
from bot.language import (
    Detection,
    accept_language,
    conversation_language,
    detect,
    greeting_language,
)
from bot.settings import PROJECT_ROOT

# Questions as people type them: no accents, no capitals, short. Written for this test, not
# taken from the training data.
QUESTIONS = {
    "en": [
        "what is a placebo",
        "who is the ECRIN partner in Italy",
        "how do i take part in a clinical trial",
        "can i leave a trial whenever i want",
        "what does informed consent mean",
        "any webinars for patients in may",
    ],
    "fr": [
        "qu est ce qu un placebo",
        "qui est le partenaire ECRIN en Italie",
        "comment participer a un essai clinique",
        "je peux quitter un essai quand je veux ?",
        "ça veut dire quoi consentement éclairé",
        "y a t il des webinaires pour les patients en mai",
    ],
    "de": [
        "was ist ein placebo",
        "wer ist der ECRIN Partner in Italien",
        "wie kann ich an einer klinischen studie teilnehmen",
        "kann ich eine Studie jederzeit abbrechen",
        "was bedeutet einwilligungserklärung",
        "gibt es webinare für patienten im mai",
    ],
    "es": [
        "que es un placebo",
        "quien es el socio de ECRIN en Italia",
        "como participo en un ensayo clinico",
        "puedo dejar un ensayo cuando quiera",
        "que significa consentimiento informado",
        "hay webinars para pacientes en mayo",
    ],
    "it": [
        "cos'è un placebo",
        "chi è il partner ECRIN in Italia",
        "come partecipo a uno studio clinico",
        "posso lasciare uno studio quando voglio",
        "cosa vuol dire consenso informato",
        "ci sono webinar per pazienti a maggio",
    ],
}
# Answers to a form's question, names and greetings: they must never switch the language.
SAYS_NOTHING = [
    "ok", "yes", "oui", "ja", "si", "no", "Italia", "Deutschland", "France", "Marie Dupont",
    "ECRIN", "EUPATI", "thanks", "merci", "danke", "grazie", "gracias", "hola", "ciao",
    "Hans Müller", "Lyon", "in Italien", "en España", "ECRIN in Österreich", "12", "😊",
    "https://ecrin.org", "ok merci", "blorp zzzt quux",
]  # fmt: skip
# English that names places or organisations of other languages: still English, or nothing.
ENGLISH_WITH_FOREIGN_NAMES = [
    "I live in Luxembourg",
    "we're a clinic in Bordeaux",
    "is there a EUPATI platform in Deutschland",
    "who is the partner in España",
    "nah im fine",
    "is this chatgpt?",
]


@pytest.mark.parametrize(
    ("code", "text"), [(code, text) for code, texts in QUESTIONS.items() for text in texts]
)
def test_a_question_is_recognised_in_its_language(code: str, text: str) -> None:
    assert detect(text).code == code


@pytest.mark.parametrize("text", SAYS_NOTHING)
def test_short_messages_names_and_places_say_no_language(text: str) -> None:
    assert detect(text).code is None


@pytest.mark.parametrize("text", ENGLISH_WITH_FOREIGN_NAMES)
def test_english_with_foreign_names_is_never_taken_for_another_language(text: str) -> None:
    assert detect(text).code in ("en", None)


def test_a_detection_is_recorded_with_its_confidence() -> None:
    found = detect("qu'est-ce qu'un essai clinique randomisé ?")
    assert found.code == "fr" and 0 < found.confidence <= 1
    assert found.as_dict() == {"code": "fr", "confidence": round(found.confidence, 4)}
    assert detect("ok") == Detection(None, 0.0)


def user(text: str, detected: str | None = None, **metadata: str) -> dict:
    """A user event as the tracker store and rasa-sdk give it; `detected` the language as
    the NLU component wrote it (None: a message parsed before the component existed)."""
    parse_data: dict = {"intent": {"name": "x"}, "text": text}
    if detected is not None:
        parse_data["language"] = {"code": detected or None, "confidence": 0.9}
    return {"event": "user", "text": text, "parse_data": parse_data, "metadata": metadata}


BOT = {"event": "bot", "text": "Hello"}


def test_the_conversation_language_is_the_latest_clear_message() -> None:
    events = [user("hello, what is ECRIN?", "en"), BOT, user("und was ist EUPATI?", "de")]
    assert conversation_language(events) == "de"
    # A short answer says nothing: the conversation stays in German.
    events += [BOT, user("Italien", None), user("ok", "")]
    assert conversation_language(events, detect_missing=False) == "de"


def test_an_explicit_choice_wins_over_what_the_messages_look_like() -> None:
    events = [
        user("bonjour", None, accept_language="de-DE,de;q=0.9"),
        user("what is a placebo", "en", language="fr"),
        user("and what is blinding", "en"),
    ]
    assert conversation_language(events, detect_missing=False) == "fr"
    # A later choice replaces an earlier one.
    events.append(user("Italia", None, language="it"))
    assert conversation_language(events, detect_missing=False) == "it"


def test_the_browser_language_is_the_first_guess_and_english_the_default() -> None:
    assert conversation_language([user("ok", accept_language="es-ES,es;q=0.9,en;q=0.5")]) == "es"
    assert conversation_language([user("ok", accept_language="pt-BR")]) == "en"
    assert conversation_language([]) == "en"
    assert conversation_language([], default="it") == "it"
    # A clear message wins over the browser.
    events = [user("wie kann ich teilnehmen an einer studie", accept_language="fr")]
    assert conversation_language(events) == "de"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Bonjour !", "fr"),
        ("bonsoir", "fr"),
        ("Guten Morgen", "de"),
        ("grüezi", "de"),
        ("hola, qué tal", "es"),
        ("Buenos días", "es"),
        ("buongiorno", "it"),
        ("hi there", "en"),
    ],
)
def test_a_greeting_of_one_language_is_its_language(text: str, code: str) -> None:
    assert greeting_language(text) == code


@pytest.mark.parametrize(
    "text",
    ["ok", "bonjour, hello", "hola amigo", "merci", "Italia", "salut ça va bien et toi alors"],
)
def test_other_short_messages_are_no_greeting(text: str) -> None:
    assert greeting_language(text) is None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Qu'est-ce qu'EUPATI ?", "fr"),
        ("comment participer ?", "fr"),
        ("Cos'è EUPATI?", "it"),
        ("è sicuro?", "it"),
        ("wie teilnehmen", "de"),
        ("cómo participar", "es"),
        ("grazie", "it"),
        ("hola", "es"),
        ("thank you", "en"),
    ],
)
def test_a_message_too_short_to_detect_may_hint_at_its_language(text: str, code: str) -> None:
    found = detect(text)
    assert found.code is None and found.hint == code
    assert found.as_dict()["hint"] == code


@pytest.mark.parametrize("text", ["ok", "Italia", "Marie Dupont", "oui non", "ECRIN in Österreich"])
def test_names_places_and_words_every_language_writes_hint_at_nothing(text: str) -> None:
    found = detect(text)
    assert (found.code, found.hint) == (None, None) and "hint" not in found.as_dict()


def test_a_hint_sets_the_language_until_a_message_says_more() -> None:
    # A lone "bonjour" in an English browser: the person writes French.
    events = [user("bonjour", None, accept_language="en-GB,en;q=0.9")]
    assert conversation_language(events) == "fr"
    # The NLU component's hint counts as well as one found when read.
    assert conversation_language([user("x", None) | hinted("it")], detect_missing=False) == "it"
    # A sentence in another language wins over the hint.
    events.append(user("what is a placebo", "en"))
    assert conversation_language(events) == "en"
    # A short message later on does not switch a conversation whose language is known.
    events.append(user("ciao", None))
    assert conversation_language(events) == "en"
    # Nor does a hint override a choice.
    assert conversation_language([user("hola", None, language="de")]) == "de"


def hinted(code: str) -> dict:
    """The parse data of a message the NLU component found too short, hinting at `code`."""
    return {"parse_data": {"language": {"code": None, "confidence": 0.2, "hint": code}}}


def test_messages_parsed_without_the_component_are_detected_when_read() -> None:
    events = [user("qui est le partenaire ECRIN en Italie")]  # no "language" in parse data
    assert conversation_language(events) == "fr"
    assert conversation_language(events, detect_missing=False) == "en"
    # Button payloads are not language.
    assert conversation_language([user('/faq_pick{"faq_key": "faq_trials/placebo"}')]) == "en"


def test_rasa_events_are_read_as_well_as_stored_ones() -> None:
    from rasa.shared.core.events import BotUttered, UserUttered

    events = [
        UserUttered("hola", parse_data={"language": {"code": None, "confidence": 0.0}}),
        BotUttered("hi"),
        UserUttered("x", parse_data={"language": {"code": "es", "confidence": 0.9}}),
        UserUttered("ok", metadata={"language": "it"}),
    ]
    assert conversation_language(events, detect_missing=False) == "it"
    assert conversation_language(events[:3], detect_missing=False) == "es"


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5", "fr"),
        ("pt-BR,pt;q=0.9,it;q=0.8,en;q=0.7", "it"),
        ("en;q=0.2, de", "de"),
        ("de;q=0", None),
        ("", None),
        ("garbage;q=x", None),
    ],
)
def test_accept_language_gives_the_first_supported_language(header: str, code: str) -> None:
    assert accept_language(header) == code


def test_the_pipeline_component_adds_the_language_to_parse_data() -> None:
    from rasa.shared.nlu.training_data.message import Message

    from bot.rasa_ext.language import LanguageDetector

    component = LanguageDetector.create({}, None, None, None)  # type: ignore[arg-type]
    messages = [
        Message(data={"text": "wer ist der ECRIN Partner in Italien"}),
        Message(data={"text": "ja"}),
        Message(data={"text": '/faq_pick{"faq_key": "faq_trials/placebo"}'}),
    ]
    component.process(messages)
    output = [m.as_dict(only_output_properties=True) for m in messages]
    assert output[0]["language"]["code"] == "de"
    assert output[1]["language"] == {"code": None, "confidence": 0.0}
    assert "language" not in output[2]


def fr_response(name: str) -> dict:
    entry = yaml.safe_load((PROJECT_ROOT / "data/i18n/fr/responses.yml").read_text())["replies"][
        name
    ]
    return entry if isinstance(entry, dict) else {"text": entry, "buttons": []}


def test_the_generator_answers_in_the_conversations_language() -> None:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.rasa_ext.nlg import LiveAnswerGenerator

    domain = Domain.load(str(PROJECT_ROOT / "domain.yml"))
    generator = LiveAnswerGenerator(None, domain)
    name = "utter_ask_research_stage"
    english = domain.responses[name][0]
    tracker = DialogueStateTracker("language-test", domain.slots)

    def say() -> dict:
        return asyncio.run(generator.generate(name, tracker, "rest"))

    assert say()["text"] == english["text"]
    tracker.update(UserUttered("comment impliquer des patients dans mon essai clinique ?"))
    french = fr_response(name)
    message = say()
    assert message["text"] == french["text"]
    # The titles are French, the payloads the English ones, in the same order.
    assert [b["title"] for b in message["buttons"]] == french["buttons"]
    assert [b["payload"] for b in message["buttons"]] == [b["payload"] for b in english["buttons"]]
    # The user picks English in the selector: English again.
    tracker.update(UserUttered("ok", metadata={"language": "en"}))
    assert say()["text"] == english["text"]


def test_countries_are_found_by_their_names_in_every_language() -> None:
    places = gazetteer()
    for text in ("en Italie", "in Italien", "en Italia", "in Italia", "sono italiana"):
        assert places.find_meant(text).iso == "IT", text
    assert places.find_meant("pas en Allemagne mais en Autriche").iso == "AT"
    assert places.find_meant("nicht Deutschland, sondern Österreich").iso == "AT"
    assert places.resolve("Pays-Bas").iso == "NL"
    # "Island" is German for Iceland, and an English word.
    assert places.find_in("is there a trial on an island") is None
    assert places.find_in("ich wohne in Island").iso == "IS"
    germany = places.countries["DE"]
    assert (germany.name_in("fr"), germany.name_in("de"), germany.name_in("en")) == (
        "Allemagne",
        "Deutschland",
        "Germany",
    )
    assert places.countries["NL"].name_in("en") == "the Netherlands"


@pytest.mark.parametrize(
    ("text", "label", "language", "said"),
    [
        ("webinaires en mai", "in May 2027", "fr", "mai 2027"),
        ("Webinare im Mai 2027", "in May 2027", "de", "Mai 2027"),
        ("cursos en mayo", "in May 2027", "es", "mayo de 2027"),
        ("eventi a maggio", "in May 2027", "it", "maggio 2027"),
        ("le mois prochain", "next month", "fr", None),
        ("nächsten Monat", "next month", "de", None),
        ("el 20 de mayo de 2027", "on 20 May 2027", "es", "20 de mayo de 2027"),
        ("am 20. Mai", "on 20 May 2027", "de", "20. Mai 2027"),
        ("événements passés", "in the past", "fr", None),
    ],
)
def test_dates_are_read_and_said_in_the_language(
    text: str, label: str, language: str, said: str | None
) -> None:
    window = parse_when(text, dt.date(2026, 12, 7))
    assert window is not None and window.label == label
    # In English the label stays word for word; in the language, the date is Babel's.
    assert window.label_in("en") == label
    if said is not None:
        assert said in window.label_in(language)


@pytest.mark.parametrize(
    "text", ["non ho mai partecipato a uno studio", "il a été organisé par ECRIN", "real estate"]
)
def test_words_that_look_like_dates_are_not_dates(text: str) -> None:
    assert parse_when(text, dt.date(2026, 12, 7)) is None


def test_every_language_has_its_learn_more_phrase() -> None:
    assert i18n.learn_more("en") == "Learn more:"
    assert i18n.learn_more("fr-CA") == "En savoir plus :"
    assert i18n.learn_more("xx") == "Learn more:"
    assert set(i18n.learn_more_phrases()) >= {"Mehr erfahren:", "Más información:"}


# --- Look-ups answered in the language -------------------------------------------------------

TODAY = dt.date(2026, 12, 1)


@pytest.fixture
def events_db(empty_database: str) -> str:
    """The made-up events of tests/fixtures/events.yml (as tests/test_events.py uses)."""
    from tests.conftest import seed_database

    return seed_database(empty_database, PROJECT_ROOT / "tests" / "fixtures" / "events.yml")


def test_events_are_answered_in_the_language_with_dates_for_it(events_db: str) -> None:
    from bot import db, events

    for code, question, heading, date in [
        ("fr", "des conférences cette semaine ?", "Je n", "10 décembre 2026"),
        ("de", "gibt es Konferenzen diese Woche?", "Ich", "10. Dezember 2026"),
        ("es", "¿hay congresos esta semana?", "No", "10 de diciembre de 2026"),
        ("it", "ci sono conferenze questa settimana?", "Non", "10 dicembre 2026"),
    ]:
        query = events.parse_query(question, TODAY)
        assert query.kinds == ("conference",) and query.when.key == "this_week", code
        with db.session_scope(events_db) as session:
            result = events.answer(session, query, TODAY, language=code)
        assert result.text.startswith(heading), (code, result.text)
        assert date in result.text, (code, result.text)
        assert f" {i18n.learn_more(code)} https://" in result.text, code
        # The same answer in English is the English one, word for word.
        with db.session_scope(events_db) as session:
            english = events.answer(session, query, TODAY).text
        assert english.startswith("I couldn't find any conferences this week.")


def test_partners_are_answered_in_the_language_with_the_countrys_name_in_it(
    database_url: str,
) -> None:
    from bot import db, partners

    france = gazetteer().resolve("Frankreich")
    with db.session_scope(database_url) as session:
        found = partners.lookup(session, france)
        german = partners.answer(found, "de")
        english = partners.answer(found)
        question = partners.platform_question(session, "it")
    assert "Frankreich" in german and "F-CRIN" in german
    assert german.endswith("Mehr erfahren: https://www.fcrin.org")
    assert english.endswith("Learn more: https://www.fcrin.org") and "France" in english
    assert question.startswith(i18n.text("platform.which_country", "it"))
    assert "Per saperne di più: https://" in question


def test_the_involvement_plan_is_introduced_in_the_language() -> None:
    from bot import involvement, plan_chat

    situation = involvement.Situation(
        stages=("design", "conduct"), kind="trial", populations=("children",), country="Italy"
    )
    plan = involvement.build_plan(situation, "CONTACTS", dt.date(2026, 12, 7))
    assert plan_chat.chat_messages(plan, "en") == involvement.chat_messages(plan)
    french = plan_chat.chat_messages(plan, "fr")
    assert len(french) == len(involvement.chat_messages(plan))
    assert "Italie" in french[0] and " and " not in french[0]
    assert french[-1] == i18n.text("involvement.whom_to_contact", "fr", contacts="CONTACTS")
    assert plan_chat.stages_phrase(["design", "conduct"], "en", key="the") == (
        "the design and running stages"
    )
