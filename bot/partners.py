"""Partner look-ups and the wording of their answers: the rules the actions rely on."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.countries import Country
from bot.models import Partner, PartnerKind

ECRIN_WEBSITE = "https://ecrin.org"


@dataclass(frozen=True)
class PartnerLookup:
    """Who to contact for one country."""

    country: Country
    ecrin_partners: list[Partner]
    eupati_platforms: list[Partner]
    office: Partner | None


def lookup(session: Session, country: Country) -> PartnerLookup:
    rows = session.scalars(
        select(Partner).where(Partner.country == country.iso).order_by(Partner.name)
    ).all()
    return PartnerLookup(
        country=country,
        ecrin_partners=[p for p in rows if p.kind == PartnerKind.ECRIN_PARTNER],
        eupati_platforms=[p for p in rows if p.kind == PartnerKind.EUPATI_PLATFORM],
        office=_office(session),
    )


def _office(session: Session) -> Partner | None:
    return session.scalars(
        select(Partner).where(Partner.kind == PartnerKind.ECRIN_OFFICE).limit(1)
    ).first()


def list_partners(session: Session, kind: str | None = None) -> list[Partner]:
    query = select(Partner).order_by(Partner.kind, Partner.country, Partner.name)
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
        if partner.website:
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


def office_answer(session: Session) -> str:
    """Whom to ask when the country is not known: the ECRIN office points people onwards."""
    office = _office(session)
    site = (office.website if office else None) or ECRIN_WEBSITE
    return (
        "No problem. ECRIN works through a national partner in each member country, and the "
        "ECRIN coordination office in Paris can point you to the right one, or advise you if "
        f"your country has none yet. Learn more: {site}"
    )
