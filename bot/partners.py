"""Partner look-ups and the wording of their answers (in the conversation's language,
data/i18n/<code>/messages.yml `partners.*` and `platform.*`): the rules the actions rely on."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot import i18n
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


def _describe(partner: Partner, language: str | None = None) -> str:
    if not partner.city:
        return partner.display_name
    return i18n.text("partners.based_in", language, name=partner.display_name, city=partner.city)


def _learn_more(link: str, language: str | None) -> str:
    """ " Learn more: <link>" in the language, the end of every answer here."""
    return f" {i18n.learn_more(language)} {link}"


def _country_name(country: Country, language: str | None) -> str:
    """ "the Netherlands" in English ("in the Netherlands", but "in France"), the
    language's own name otherwise ("Pays-Bas")."""
    return country.name_in(i18n.supported(language))


def answer(found: PartnerLookup, language: str | None = None) -> str:
    """A plain-language answer that always ends with a link to follow."""
    country = found.country.values(i18n.supported(language))
    office_site = (found.office.website if found.office else None) or ECRIN_WEBSITE
    sentences: list[str] = []
    link: str | None = None
    if found.ecrin_partners:
        partner = found.ecrin_partners[0]
        sentences.append(
            i18n.text(
                "partners.partner_is", language, **country, partner=_describe(partner, language)
            )
        )
        if partner.contact_url:
            if partner.website:
                sentences.append(
                    i18n.text("partners.contact_website_or_page", language, website=partner.website)
                )
            else:
                sentences.append(i18n.text("partners.contact_page", language))
            link = partner.contact_url
        elif partner.website:
            sentences.append(i18n.text("partners.contact_website", language))
            link = partner.website
        else:
            sentences.append(i18n.text("partners.no_website", language))
    else:
        sentences.append(i18n.text("partners.no_partner", language, **country))
    for platform in found.eupati_platforms:
        platform_site = f" ({platform.website})" if platform.website else ""
        sentences.append(
            i18n.text(
                "partners.platform_there",
                language,
                platform=f"{platform.display_name}{platform_site}",
            )
        )
    return " ".join(sentences) + _learn_more(link or office_site, language)


def contacts(country: Country | None, language: str | None = None) -> str | None:
    """Whom to contact in `country` (the ECRIN office when it is not known), or None (logged)
    when the database cannot be read: callers say so politely and go on."""
    try:
        with session_scope() as session:
            if country is None:
                return office_answer(session, language)
            return answer(lookup(session, country), language)
    except SQLAlchemyError:
        logger.exception("Partner look-up failed for %s", country.iso if country else "-")
        return None


def office_answer(session: Session, language: str | None = None) -> str:
    """Whom to ask when the country is not known: the ECRIN office points people onwards."""
    office = _office(session)
    site = (office.website if office else None) or ECRIN_WEBSITE
    return i18n.text("partners.office", language) + _learn_more(site, language)


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


def platform_answer(found: PlatformLookup, language: str | None = None) -> str:
    """Yes (name, website, how to get in touch) or no (and the nearest alternatives), always
    ending with a link to follow. The platform's own `contact` note is said as staff wrote it."""
    country = found.country.values(i18n.supported(language))
    if found.platforms:
        platform = found.platforms[0]
        sentences = [i18n.text("platform.yes", language, **country, platform=platform.display_name)]
        if platform.website:
            sentences.append(i18n.text("platform.website", language, website=platform.website))
        if platform.contact:
            sentences.append(_sentence(platform.contact))
        link = platform.contact_url or platform.website
        if link is None:
            sentences.append(i18n.text("platform.no_website", language))
        return " ".join(sentences) + _learn_more(link or EUPATI_PLATFORMS_PAGE, language)
    sentences = [i18n.text("platform.none", language, **country)]
    if found.ecrin_partners:
        partner = found.ecrin_partners[0]
        site = f" ({partner.website})" if partner.website else ""
        sentences.append(
            i18n.text(
                "platform.ecrin_partner",
                language,
                **country,
                partner=f"{partner.display_name}{site}",
            )
        )
    return " ".join(sentences) + _learn_more(EUPATI_PLATFORMS_PAGE, language)


def platform_question(session: Session, language: str | None = None) -> str:
    """No country given: ask for one, and say which countries have a platform listed."""
    countries = platform_countries(session)
    if i18n.supported(language) not in (None, i18n.SOURCE):
        countries.sort(key=lambda c: c.name_in(language))
    listed = i18n.join_and([_country_name(c, language) for c in countries], language)
    text = i18n.text("platform.which_country", language)
    if listed:
        text += " " + i18n.text("platform.listed", language, countries=listed)
    return text + _learn_more(EUPATI_PLATFORMS_PAGE, language)
