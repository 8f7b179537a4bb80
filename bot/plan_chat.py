"""The involvement plan's chat messages in the conversation's language.

bot/involvement.py writes the plan in English (the source, kept word for word); this module
says the sentences around the guidance in another language from whole phrases of
data/i18n/<code>/messages.yml (`involvement.*`), so that a translator never has to assemble
English grammar ("a rare-disease trial"). The guidance steps themselves are data
(data/involvement/guidance.yml, English) and are said as they are.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot import i18n, involvement
from bot.countries import gazetteer


def _foreign(language: str | None) -> str | None:
    """The language code when it is not English, else None (English keeps its own code)."""
    code = i18n.supported(language)
    return code if code not in (None, i18n.SOURCE) else None


def stages_phrase(stages: Iterable[str], language: str | None, key: str = "at") -> str:
    """ "at the design and running stages" (key "at") or "the design stage" (key "the")."""
    names = [i18n.text(f"involvement.stage.{s}", language) for s in stages]
    number = "stages" if len(names) > 1 else "stage"
    # English says "the design and running and results stages", as bot/involvement.py does.
    joined = " and ".join(names) if _foreign(language) is None else i18n.join_and(names, language)
    return i18n.text(f"involvement.{key}_{number}", language, stages=joined)


def describe(situation: involvement.Situation, language: str | None) -> str:
    """The study of the plan's heading: "a trial", "… on a rare disease", "… with children
    and young people", "… in Italy"; English as bot/involvement.py says it."""
    code = _foreign(language)
    if code is None:
        return situation.describe()
    text = i18n.text(f"involvement.kind.{situation.kind or 'other'}", code)
    if "rare_disease" in situation.populations:
        text = i18n.text("involvement.rare_disease", code, study=text)
    groups = [
        i18n.text(f"involvement.population.{p}", code)
        for p in situation.populations
        if p in involvement.POPULATION_PHRASES
    ]
    if groups:
        text = i18n.text("involvement.with", code, study=text, groups=i18n.join_and(groups, code))
    country = gazetteer().resolve(situation.country) if situation.country else None
    if country:
        text = i18n.text("involvement.in_country", code, study=text, **country.values(code))
    return text


def chat_messages(plan: involvement.Plan, language: str | None) -> list[str]:
    """bot.involvement.chat_messages in `language`: the same parts, in the same order."""
    code = _foreign(language)
    if code is None:
        return involvement.chat_messages(plan)
    situation = plan.situation
    where = (
        stages_phrase(situation.stages, code)
        if situation.stages
        else i18n.text("involvement.at_every_stage", code)
    )
    heading = i18n.text(
        "involvement.heading", code, situation=describe(situation, code), where=where
    )
    return involvement.chat_messages(
        plan,
        heading=heading,
        also_worth_planning=i18n.text("involvement.also_worth_planning", code),
        # The contacts are data: inserted after translating, never read as a template.
        whom_to_contact=i18n.text("involvement.whom_to_contact", code, contacts="{contacts}"),
    )
