"""Partner look-ups and the wording of their answers: the rules the actions rely on."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.countries import Country, gazetteer
from bot.db import session_scope
from bot.models import Partner, PartnerKind

logger = logging.getLogger(__name__)

ECRIN_WEBSITE = "https://ecrin.org"
# EUPATI's page listing its National Platforms by country (facts.md 2.6: "24 countries").
EUPATI_PLATFORMS_PAGE = "https://learning.eupati.eu/admin/tool/custompage/view.php?id=3&lang=en_wp"
# Rows staff retired in the review app stay in the table (restorable) but are never named.
LIVE = Partner.retired_at.is_(None)


@dataclass(frozen=True)
class PartnerLookup:
    """Who to contact for one country."""

    country: Country
    ecrin_partners: list[Partner]
    eupati_platforms: list[Partner]
    office: Partner | None


def lookup(session: Session, country: Country) -> PartnerLookup:
    rows = session.scalars(
        select(Partner).where(LIVE, Partner.country == country.iso).order_by(Partner.name)
    ).all()
    return PartnerLookup(
        country=country,
        ecrin_partners=[p for p in rows if p.kind == PartnerKind.ECRIN_PARTNER],
        eupati_platforms=[p for p in rows if p.kind == PartnerKind.EUPATI_PLATFORM],
        office=_office(session),
    )


def _office(session: Session) -> Partner | None:
    return session.scalars(
        select(Partner).where(LIVE, Partner.kind == PartnerKind.ECRIN_OFFICE).limit(1)
    ).first()


def list_partners(session: Session, kind: str | None = None) -> list[Partner]:
    query = select(Partner).where(LIVE).order_by(Partner.kind, Partner.country, Partner.name)
    if kind:
        query = query.where(Partner.kind == kind)
    return list(session.scalars(query).all())


def _describe(partner: Partner) -> str:
    where = f", based in {partner.city}" if partner.city else ""
    return f"{partner.display_name}{where}"


def answer(found: PartnerLookup) -> str:
    """A plain-language answer that always ends with a link to follow."""
    # "in the Netherlands", "in the United States", but "in France".
    name = found.country.display
    office_site = (found.office.website if found.office else None) or ECRIN_WEBSITE
    sentences: list[str] = []
    link: str | None = None
    if found.ecrin_partners:
        partner = found.ecrin_partners[0]
        sentences.append(f"ECRIN's national partner in {name} is {_describe(partner)}.")
        if partner.contact_url:
            website = f"its website, {partner.website}, or " if partner.website else ""
            sentences.append(f"You can get in touch through {website}its contact page.")
            link = partner.contact_url
        elif partner.website:
            sentences.append("You can get in touch through its website.")
            link = partner.website
        else:
            sentences.append(
                "I don't have a verified website for it, but the ECRIN office can put you "
                "in touch."
            )
    else:
        sentences.append(
            f"ECRIN has no national partner in {name} yet. The ECRIN coordination office "
            "in Paris can still advise you."
        )
    for platform in found.eupati_platforms:
        platform_site = f" ({platform.website})" if platform.website else ""
        sentences.append(
            f"For patients, the EUPATI National Platform there is {platform.display_name}"
            f"{platform_site}."
        )
    return " ".join(sentences) + f" Learn more: {link or office_site}"


def contacts(country: Country | None) -> str | None:
    """Whom to contact in `country` (the ECRIN office when it is not known), or None (logged)
    when the database cannot be read: callers say so politely and go on."""
    try:
        with session_scope() as session:
            if country is None:
                return office_answer(session)
            return answer(lookup(session, country))
    except SQLAlchemyError:
        logger.exception("Partner look-up failed for %s", country.iso if country else "-")
        return None


def office_answer(session: Session) -> str:
    """Whom to ask when the country is not known: the ECRIN office points people onwards."""
    office = _office(session)
    site = (office.website if office else None) or ECRIN_WEBSITE
    return (
        "ECRIN works through a national partner in each member country, and the "
        "ECRIN coordination office in Paris can point you to the right one, or advise you if "
        f"your country has none yet. Learn more: {site}"
    )


# --- "Is there a EUPATI platform in my country?" -------------------------------------------

PLATFORM_ACTION = "action_eupati_platform"


@dataclass(frozen=True)
class PlatformLookup:
    """The EUPATI National Platform(s) of one country, and ECRIN's partner there."""

    country: Country
    platforms: list[Partner]
    ecrin_partners: list[Partner]


def platform_lookup(session: Session, country: Country) -> PlatformLookup:
    found = lookup(session, country)
    return PlatformLookup(country, found.eupati_platforms, found.ecrin_partners)


def platform_countries(session: Session) -> list[Country]:
    """The countries with a EUPATI National Platform listed, by name."""
    codes = set(
        session.scalars(
            select(Partner.country).where(LIVE, Partner.kind == PartnerKind.EUPATI_PLATFORM)
        ).all()
    )
    countries = gazetteer().countries
    return sorted((countries[c] for c in codes if c in countries), key=lambda c: c.name)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def platform_answer(found: PlatformLookup) -> str:
    """Yes (name, website, how to get in touch) or no (and the nearest alternatives), always
    ending with a link to follow."""
    name = found.country.display
    if found.platforms:
        platform = found.platforms[0]
        sentences = [f"Yes. The EUPATI National Platform in {name} is {platform.display_name}."]
        if platform.website:
            sentences.append(f"Its website is {platform.website}.")
        if platform.contact:
            sentences.append(_sentence(platform.contact))
        link = platform.contact_url or platform.website
        if link is None:
            sentences.append(
                "I don't have a verified website for it; EUPATI's list of national platforms "
                "can point you to it."
            )
        return " ".join(sentences) + f" Learn more: {link or EUPATI_PLATFORMS_PAGE}"
    sentences = [
        f"I don't have a EUPATI National Platform listed for {name}. EUPATI's page on its "
        "national platforms shows the countries that have one, and EUPATI's Open Classroom "
        "courses are online, so you can take them from any country."
    ]
    if found.ecrin_partners:
        partner = found.ecrin_partners[0]
        site = f" ({partner.website})" if partner.website else ""
        sentences.append(
            f"For clinical research in {name}, ECRIN's national partner is "
            f"{partner.display_name}{site}."
        )
    return " ".join(sentences) + f" Learn more: {EUPATI_PLATFORMS_PAGE}"


def platform_question(session: Session) -> str:
    """No country given: ask for one, and say which countries have a platform listed."""
    names = [c.display for c in platform_countries(session)]
    listed = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else "".join(names)
    text = "Which country are you asking about?"
    if listed:
        text += f" I have EUPATI National Platforms listed for {listed}."
    return text + f" Learn more: {EUPATI_PLATFORMS_PAGE}"
