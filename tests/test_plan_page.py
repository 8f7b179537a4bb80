"""The plan page to keep, rebuilt from a plan payload, with contacts from a real database.

The guidance is a small file of its own (`small_guidance`), so these tests check how the page
is rebuilt, not what data/involvement/guidance.yml says (tests/test_involvement.py does)."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
import yaml

from bot import involvement, plan_page
from bot.involvement import HELP_TOPICS, KINDS, POPULATIONS, STAGES, Guidance, read_guidance
from bot.plan_page import PlanRequestError, plan_filename, plan_from_custom, plan_from_payload

TODAY = dt.date(2026, 12, 6)
QUERY = "stage=design&kind=trial&population=rare_disease&country=Italy&help=payment"
SOURCE_URL = "https://toolbox.eupati.eu/guidance/"


def guidance_document() -> dict:
    """A small, valid guidance file: one step per section, each naming its part."""

    def part(keys: tuple[str, ...], what: str) -> dict:
        return {
            key: {
                "title": f"{what.capitalize()}: {key}",
                "steps": [{"text": f"Step for the {key} {what}.", "sources": ["toolbox"]}],
            }
            for key in keys
        }

    return {
        "sources": {
            "toolbox": {"title": "EUPATI Toolbox guidance", "url": SOURCE_URL, "checked": TODAY}
        },
        "stages": part(STAGES, "stage"),
        "kinds": part(KINDS, "kind"),
        "populations": part(POPULATIONS, "population"),
        "help": part(HELP_TOPICS, "help topic"),
    }


def write_guidance(directory: Path) -> Guidance:
    path = directory / "guidance.yml"
    path.write_text(yaml.safe_dump(guidance_document()), encoding="utf-8")
    return read_guidance(path)


def use_small_guidance(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Guidance:
    """The small guidance, as the one the channels build plans from (for other tests too)."""
    data = write_guidance(directory)
    monkeypatch.setattr(involvement, "guidance", lambda: data)
    return data


@pytest.fixture
def small_guidance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Guidance:
    return use_small_guidance(tmp_path, monkeypatch)


def test_a_payload_gives_the_plan_it_was_made_from(database_url: str, small_guidance) -> None:
    plan = plan_from_payload(QUERY, "2026-12-01", today=TODAY)
    assert plan.situation.stages == ("design",) and plan.situation.kind == "trial"
    assert plan.situation.populations == ("rare_disease",)
    assert plan.situation.country == "Italy" and plan.situation.help == ("payment",)
    assert plan.made == dt.date(2026, 12, 1)
    assert "ItaCRIN" in plan.contacts and "Accademia del Paziente Esperto" in plan.contacts
    assert [s.key for s in plan.sections] == ["design", "trial", "rare_disease", "payment"]
    assert plan_filename(plan) == "patient-involvement-plan-2026-12-01.html"

    page = plan_page.plan_html(plan)
    assert "Patient-involvement plan: a rare-disease trial in Italy" in page
    assert "Step for the design stage." in page and "Step for the payment help topic." in page
    assert "ItaCRIN" in page and SOURCE_URL in page and "1 December 2026" in page


def test_without_a_country_the_ecrin_office_is_the_contact(
    database_url: str, small_guidance
) -> None:
    plan = plan_from_payload("", None, today=TODAY)
    assert plan.made == TODAY  # no date: made today
    assert plan.situation == involvement.Situation()
    assert "ECRIN coordination office" in plan.contacts
    assert [s.key for s in plan.stages] == list(STAGES)


def test_a_plan_link_may_carry_its_date_in_the_query(database_url: str, small_guidance) -> None:
    plan = plan_from_payload(QUERY + "&made=2026-11-30", "2026-11-30", today=TODAY)
    assert plan.made == dt.date(2026, 11, 30) and plan.situation.country == "Italy"


@pytest.mark.parametrize(
    ("query", "made", "reason"),
    [
        ("stage=launch", None, "stage must be one of"),
        ("kind=vaccine", None, "kind must be one of"),
        ("country=Atlantis", None, "unknown country"),
        ("colour=blue", None, "unknown parameter"),
        ("stage=design", "2026-12-07", "must not be in the future"),
        ("stage=design", "06/12/2026", "must be a date like"),
        ("stage=design", "yesterday", "must be a date like"),
        ("stage=" + "design," * 200, None, "longer than"),
        (None, None, "query must be a string"),
        (["stage=design"], None, "query must be a string"),
        ("stage=design", 20261206, "made must be a date"),
    ],
)
def test_a_bad_payload_says_what_is_wrong(query, made, reason: str) -> None:
    with pytest.raises(PlanRequestError, match=reason):
        plan_from_payload(query, made, today=TODAY)


def test_custom_payloads_that_are_not_plans_are_not_read() -> None:
    assert plan_from_custom({"something": "else"}) is None
    assert plan_from_custom(["not", "a", "mapping"]) is None
    with pytest.raises(PlanRequestError, match="must be an object"):
        plan_from_custom({"involvement_plan": "stage=design"})
    with pytest.raises(PlanRequestError, match="query must be a string"):
        plan_from_custom({"involvement_plan": {"made": "2026-12-06"}})


def test_a_custom_payload_gives_its_plan(database_url: str, small_guidance) -> None:
    payload = {"involvement_plan": {"query": QUERY, "made": "2026-12-06"}}
    plan = plan_from_custom(payload, today=TODAY)
    assert plan is not None and plan.made == TODAY and "ItaCRIN" in plan.contacts


def test_a_database_that_cannot_be_read_gives_a_plan_without_contacts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_guidance, caplog
) -> None:
    # A database without the partners table: every look-up fails.
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    with caplog.at_level(logging.ERROR, logger="bot.partners"):
        plan = plan_from_payload(QUERY, "2026-12-06", today=TODAY)
    assert plan.contacts is None
    assert "Partner look-up failed for IT" in caplog.text
    page = plan_page.plan_html(plan)
    assert "Whom to contact" not in page and "Step for the design stage." in page


# --- With the real assistant ------------------------------------------------------------------


@pytest.mark.e2e
def test_a_plan_in_the_web_chat_links_to_its_page(assistant) -> None:
    """The real form, action and channel: the plan's last message offers the page, and the
    link it offers serves it (built from data/involvement/guidance.yml)."""
    from urllib.parse import urlencode

    replies = assistant.ask(
        "We're designing a rare disease trial in Italy. How should we pay our patient partners?",
        sender="plan-page-e2e",
        channel="web",
    )
    offers = [r["custom"]["involvement_plan"] for r in replies if "custom" in r]
    assert offers, replies
    offer = offers[-1]
    assert "stage=design" in offer["query"] and "country=Italy" in offer["query"]
    from tests.conftest import ASSISTANT_TODAY

    assert offer["made"] == ASSISTANT_TODAY.isoformat()  # the assistant's clock (ECRIN_TODAY)

    status, headers, body = assistant.get(
        f"/webhooks/web/plan?{offer['query']}&{urlencode({'made': offer['made']})}"
    )
    headers = {name.lower(): value for name, value in headers.items()}
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    name = f"patient-involvement-plan-{offer['made']}.html"
    assert headers["content-disposition"] == f'inline; filename="{name}"'
    page = body.decode("utf-8")
    assert "Patient-involvement plan: a rare-disease trial" in page and "ItaCRIN" in page
