"""`bot data history | check-links | health`, run in-process as staff and cron run them, on a
real SQLite lookup database (DATABASE_URL) and, for check-links, a local web site."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot import audit, db
from bot.cli import build_parser, main
from bot.models import Event, LinkCheck, Partner
from bot.settings import PROJECT_ROOT
from tests.link_server import FakeSite, closed_port_url, fake_site
from tests.lookup_rows import UTC, event, lookup_database, partner


@pytest.fixture
def lookup_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A migrated, empty lookup database, set as DATABASE_URL for the commands."""
    url = lookup_database(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    return url


@pytest.fixture
def site() -> Iterator[FakeSite]:
    with fake_site() as running:
        yield running


# --- history ---------------------------------------------------------------------------------


def test_history_prints_the_trail_newest_first_and_filters_it(
    lookup_url: str, capsys: pytest.CaptureFixture
) -> None:
    assert main(["data", "history"]) == 0
    assert capsys.readouterr().out == "No changes recorded.\n"
    with db.session_scope(lookup_url) as session:
        audit.record(session, "events", "webinar", "create", "ada", {}, {"title": "Webinar"})
    with db.session_scope(lookup_url) as session:
        audit.record(
            session, "events", "webinar", "update", "cli:root", {"title": "Webinar"},
            {"title": "Webinar on consent"},
        )  # fmt: skip
        audit.record(
            session, "partners", "fcrin", "retire", "ada", {"retired": None}, {"retired": "yes"}
        )

    assert main(["data", "history"]) == 0
    lines = capsys.readouterr().out.splitlines()
    headings = [line.split(" UTC  ", 1)[1] for line in lines if " UTC  " in line]
    assert headings == [
        "partners/fcrin  retire by ada",
        "events/webinar  update by cli:root",
        "events/webinar  create by ada",
    ]
    assert lines[-1] == "3 change(s), newest first."
    assert "    title: 'Webinar' -> 'Webinar on consent'" in lines
    assert "    title: (none) -> 'Webinar'" in lines

    assert main(["data", "history", "--table", "events", "--slug", "webinar", "--limit", "1"]) == 0
    out = capsys.readouterr().out
    assert "events/webinar  update by cli:root" in out and "create" not in out
    assert "partners" not in out and "1 change(s)" in out

    assert main(["data", "history", "--table", "partners"]) == 0
    assert "events/" not in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["data", "history", "--limit", "0"])


# --- check-links -----------------------------------------------------------------------------


def test_check_links_prints_each_failure_and_exits_1(
    lookup_url: str, site: FakeSite, capsys: pytest.CaptureFixture
) -> None:
    ok, missing, dead = site.url("/ok"), site.url("/missing"), closed_port_url()
    with db.session_scope(lookup_url) as session:
        session.add_all(
            [
                event("webinar", dt.date(2027, 1, 15), url=missing, source_url=ok),
                partner("fcrin", dt.date(2026, 12, 1), website=dead, source_url=ok),
            ]
        )
    assert main(["data", "check-links", "--timeout", "0.5"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Checked 3 link(s): 1 ok, 2 failed."
    assert sorted(lines[1:]) == sorted(
        [
            f"FAILED {missing}: HTTP 404 (used by events/webinar)",
            f"FAILED {dead}: connection refused (used by partners/fcrin)",
        ]
    )
    with db.session_scope(lookup_url) as session:
        assert {row.url: row.ok for row in session.scalars(select(LinkCheck))} == {
            ok: True,
            missing: False,
            dead: False,
        }

    # The rows are fixed; re-checking only the failures turns the run green.
    with db.session_scope(lookup_url) as session:
        session.scalars(select(Event)).one().url = ok
        session.scalars(select(Partner)).one().website = site.url("/no-head")
    site.requests.clear()
    assert main(["data", "check-links", "--only-failed"]) == 0
    assert capsys.readouterr().out == "Checked 0 link(s): 0 ok, 0 failed.\n"
    assert site.requests == []  # the new addresses never failed: not "failed" ones
    assert main(["data", "check-links"]) == 0
    assert capsys.readouterr().out == "Checked 2 link(s): 2 ok, 0 failed.\n"


# --- health ----------------------------------------------------------------------------------


def test_health_prints_the_summary_and_exits_1_on_a_warning(
    lookup_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("ECRIN_TODAY", "2026-12-07")
    with db.session_scope(lookup_url) as session:
        session.add_all(
            [
                event("soon", dt.date(2027, 1, 15), last_checked=dt.date(2026, 12, 1)),
                partner("old", dt.date(2026, 1, 5)),
                LinkCheck(
                    url="https://example.org/partners/old",
                    ok=False,
                    status=404,
                    error="HTTP 404",
                    checked_at=dt.datetime(2026, 12, 6, 2, 0, tzinfo=UTC),
                ),
            ]
        )
    assert main(["data", "health"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "Warning: No dated event after 2027-03-07: add the next ones in Events.",
        "Warning: 1 row(s) not checked against their source for more than 180 days: check each "
        "one and save it.",
        "Warning: 1 link(s) failed their last check: fix or retire the rows that use them.",
        "Live rows: 1 event(s), 1 partner(s).",
        "Not checked for more than 180 days: 1.",
        "Links: 2 published, 1 checked, 1 failed.",
        "Last dated upcoming event: 2027-01-15.",
        "Last link check: 2026-12-06 02:00 UTC.",
        "STALE partners/old (Test partner old): last checked 2026-01-05",
        "FAILED https://example.org/partners/old: HTTP 404 (used by partners/old)",
    ]

    # Everything current: no warning, exit 0.
    with db.session_scope(lookup_url) as session:
        session.add(event("later", dt.date(2027, 6, 1), last_checked=dt.date(2026, 12, 1)))
        session.scalars(select(Partner)).one().last_checked = dt.date(2026, 12, 1)
        session.get(LinkCheck, "https://example.org/partners/old").ok = True
    assert main(["data", "health"]) == 0
    out = capsys.readouterr().out
    assert "Warning" not in out and "Last dated upcoming event: 2027-06-01." in out


# --- The schedule ----------------------------------------------------------------------------


def test_the_kubernetes_cronjob_runs_check_links_as_the_migration_job_runs() -> None:
    """tests/test_deployment.py checks Deployments and Jobs; the CronJob's pod is checked here
    against the migration Job's: same image, same security, only the secret it reads."""
    k8s = PROJECT_ROOT / "deploy" / "k8s"
    cronjob = yaml.safe_load((k8s / "link-check-cronjob.yaml").read_text(encoding="utf-8"))
    migrate = yaml.safe_load((k8s / "migrate-job.yaml").read_text(encoding="utf-8"))
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    reference = migrate["spec"]["template"]["spec"]
    (container,), (model,) = pod["containers"], reference["containers"]

    assert container["command"][0] == "bot"
    parsed = build_parser().parse_args(container["command"][1:])
    assert (parsed.command, parsed.data_command) == ("data", "check-links")
    assert container["image"] == model["image"] and container["envFrom"] == model["envFrom"]
    assert [variable["name"] for variable in container["env"]] == ["DATABASE_URL"]
    assert container["securityContext"] == model["securityContext"]
    for field in ("securityContext", "automountServiceAccountToken", "restartPolicy"):
        assert pod[field] == reference[field], field
    assert cronjob["metadata"]["namespace"] == migrate["metadata"]["namespace"]
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
