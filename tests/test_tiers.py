"""The test tiers (tests/conftest.py): a test is marked from the fixtures it uses, so
`make test-fast` can leave out what needs a trained model, a browser or a service; and what
keeps that tier fast does not change what the tests see."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import (
    FIXTURE_MARKERS,
    PARAMETER_MARKERS,
    _migrate_and_seed,
    seed_database,
    tier_markers,
)


@pytest.mark.parametrize(
    ("fixtures", "parameters", "markers"),
    [
        # The running assistant: end to end, with the trained model (through trained_model).
        ({"assistant", "trained_model", "fake_telegram", "tmp_path"}, {}, {"e2e", "model"}),
        ({"trained_model", "capsys"}, {}, {"model"}),
        ({"browser", "plan_chat", "tmp_path"}, {}, {"browser"}),
        # Services, directly or through the fixtures built on them.
        ({"postgres_database", "postgres_server"}, {}, {"postgres"}),
        ({"redis_server", "lock_prefix"}, {}, {"redis"}),
        # Engine-parametrised databases: PostgreSQL only for that parameter.
        ({"database_url", "empty_database"}, {"empty_database": "postgresql"}, {"postgres"}),
        ({"database_url", "empty_database"}, {"empty_database": "sqlite"}, set()),
        ({"seeded"}, {"seeded": "postgresql"}, {"postgres"}),
        ({"seeded_sqlite", "tmp_path", "monkeypatch"}, {}, set()),
    ],
)
def test_fixtures_bring_their_tier(
    fixtures: set[str], parameters: dict[str, str], markers: set[str]
) -> None:
    assert tier_markers(fixtures, parameters) == markers


# `empty_database` given directly, so that neither database is opened: the collection hook
# sees the same name and parameter as for a test on both engines.
@pytest.mark.parametrize("empty_database", ["sqlite", "postgresql"])
def test_the_postgresql_variant_of_a_test_is_marked_at_collection(
    empty_database: str, request: pytest.FixtureRequest
) -> None:
    marked = request.node.get_closest_marker("postgres") is not None
    assert marked == (empty_database == "postgresql")
    assert request.node.get_closest_marker("e2e") is None


def test_every_fixture_the_tiers_name_is_defined() -> None:
    """A renamed fixture would otherwise drop its tests into test-fast without a word."""
    import tests.conftest
    import tests.review.conftest

    defined = set(vars(tests.conftest)) | set(vars(tests.review.conftest))
    named = set(FIXTURE_MARKERS) | {fixture for fixture, _ in PARAMETER_MARKERS}
    assert named - defined == set()


def _rows(url: str) -> dict[str, list[tuple]]:
    import sqlalchemy as sa

    from bot import db

    engine = db.get_engine(url)
    with engine.connect() as connection:
        tables = sa.inspect(connection).get_table_names()
        return {
            table: sorted(map(tuple, connection.execute(sa.text(f"SELECT * FROM {table}"))))
            for table in tables
        }


def test_a_seeded_copy_holds_what_seeding_writes(tmp_path: Path) -> None:
    """seed_database copies a SQLite database seeded earlier in the run instead of seeding
    again: the copy must hold exactly what seeding would have written, for the seed events
    and for other event files."""
    events = Path(__file__).parent / "fixtures" / "events.yml"  # made-up, for tests
    same = tmp_path / "same-events.yml"  # the same contents elsewhere: the same template
    same.write_bytes(events.read_bytes())
    for files in ((), (events,), (same,)):
        name = "-".join(path.stem for path in files) or "seed"
        seeded, copied = tmp_path / f"{name}-seeded.db", tmp_path / f"{name}-copied.db"
        _migrate_and_seed(f"sqlite:///{seeded}", *files)
        seed_database(f"sqlite:///{copied}", *files)  # a copy, from the second call on
        seed_database(f"sqlite:///{tmp_path / f'{name}-again.db'}", *files)
        expected = _rows(f"sqlite:///{seeded}")
        assert expected["partners"] and expected["events"]
        assert _rows(f"sqlite:///{copied}") == expected
        assert _rows(f"sqlite:///{tmp_path / f'{name}-again.db'}") == expected
