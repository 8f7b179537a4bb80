"""The Partners pages: the organisations the assistant names as contacts (ECRIN's national
partners, EUPATI's national platforms, ECRIN's office): the list with its filters, the add and
edit form, retire and restore, and each row's history.

Any staff member may read them; only editors and administrators may change anything.
"""

from __future__ import annotations

from sqlalchemy import select
from starlette.responses import Response

from bot import curation
from bot.models import Partner, PartnerKind
from bot.review.context import Context
from bot.review.pages.curated import (
    Curated,
    countries_in,
    country_filter,
    country_names,
    edit_form,
    edit_row,
    history,
    lookup_session,
    paged,
    retire_or_restore,
    save_form,
    ticked,
)
from bot.review.pages.params import choice

PARTNERS = Curated(Partner, "/partners", "partner", lambda partner: partner.display_name)
# The form's fields (as bot.curation.partner_row_from_form reads them) and their labels.
LABELS = {
    "kind": "Kind",
    "name": "Name",
    "acronym": "Acronym",
    "country": "Country",
    "city": "City",
    "ecrin_status": "ECRIN status",
    "status_since": "Status since",
    "website": "Website",
    "contact_url": "Contact page",
    "contact": "How to contact",
    "source_url": "Source",
}
KIND_LABELS = {
    PartnerKind.ECRIN_PARTNER: "ECRIN national partner",
    PartnerKind.EUPATI_PLATFORM: "EUPATI national platform",
    PartnerKind.ECRIN_OFFICE: "ECRIN office",
}


def partners_list(context: Context) -> Response:
    params = {
        "kind": choice(context, "kind", ("", *PartnerKind.ALL), ""),
        "country": country_filter(context),
        "retired": "1" if ticked(context, "retired") else "",
    }
    with lookup_session(context) as session:
        query = select(Partner).order_by(Partner.kind, Partner.country, Partner.name)
        if not params["retired"]:
            query = query.where(Partner.retired_at.is_(None))
        for name in ("kind", "country"):
            if params[name]:
                query = query.where(getattr(Partner, name) == params[name])
        return context.render(
            "partners.html",
            section="partners",
            params=params,
            page=paged(list(session.scalars(query)), context),
            filtered=any(params.values()),
            kind_labels=KIND_LABELS,
            countries=countries_in(session, Partner),
            country_names=country_names(),
        )


def _form_page(
    context: Context,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
    partner: Partner | None = None,
) -> Response:
    return context.render(
        "partners_form.html",
        status_code=status,
        section="partners",
        partner=partner,
        labels=LABELS,
        values=values,
        errors=errors,
        kind_labels=KIND_LABELS,
        country_names=country_names(),
        general_error=errors.get(curation.FieldErrors.GENERAL),
    )


def _entered(context: Context) -> dict[str, str]:
    return {name: context.field(name).strip() for name in LABELS}


def partner_new_form(context: Context) -> Response:
    return _form_page(context, dict.fromkeys(LABELS, ""), {})


def partner_new(context: Context) -> Response:
    return save_form(context, PARTNERS, curation.save_partner, _entered(context), _form_page)


def partner_edit_form(context: Context) -> Response:
    return edit_form(context, PARTNERS, curation.partner_form, _form_page)


def partner_edit(context: Context) -> Response:
    return edit_row(context, PARTNERS, curation.save_partner, _entered(context), _form_page)


def partner_retire(context: Context) -> Response:
    return retire_or_restore(context, PARTNERS, retiring=True)


def partner_restore(context: Context) -> Response:
    return retire_or_restore(context, PARTNERS, retiring=False)


def partner_history(context: Context) -> Response:
    return history(context, PARTNERS)
