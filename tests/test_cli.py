"""The `bot` command line, run in-process against real SQLite databases."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import build_parser, main


@pytest.mark.parametrize(
    "argv",
    [
        ["run"],
        ["db", "upgrade"],
        ["db", "seed"],
        ["partners", "list", "--kind", "eupati_platform"],
        ["events", "list", "--past"],
        ["events", "import", "x.ics", "--kind", "webinar", "--organiser", "EUPATI"],
        ["nlp", "build"],
        ["eval", "--model", "m.tar.gz"],
        ["eval", "--compare", "config.yml", "configs/no-spacy.yml"],
        ["score", "cases.tsv"],
        ["telegram", "set-webhook", "https://example.org/webhooks/telegram/webhook"],
        ["telegram", "poll"],
    ],
)
def test_every_command_parses(argv: list[str]) -> None:
    assert callable(build_parser().parse_args(argv).handler)


@pytest.fixture
def fresh_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def test_upgrade_seed_and_list(fresh_db: str, capsys: pytest.CaptureFixture) -> None:
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "seed"]) == 0
    assert main(["db", "seed"]) == 0
    out = capsys.readouterr().out
    assert "Partners: 0 created, 0 updated" in out.splitlines()[-1]
    assert main(["partners", "list", "--kind", "ecrin_partner"]) == 0
    assert "F-CRIN" in capsys.readouterr().out
    assert main(["events", "list", "--past"]) == 0
    assert "International Clinical Trials Day 2025" in capsys.readouterr().out


def test_import_reports_a_bad_file_and_writes_nothing(
    fresh_db: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    main(["db", "upgrade"])
    bad = tmp_path / "events.csv"
    bad.write_text("title,kind\nX,webinar\n")
    assert main(["events", "import", str(bad)]) == 1
    assert "Nothing was written: events.csv, line 1: missing column(s)" in capsys.readouterr().err
    assert main(["events", "import", str(tmp_path / "events.txt")]) == 2


def test_telegram_commands_explain_missing_configuration(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.delenv("TELEGRAM_TOKEN", raising=False)
    assert main(["telegram", "delete-webhook"]) == 2
    assert "Set TELEGRAM_TOKEN first" in capsys.readouterr().err
