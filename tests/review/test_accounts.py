"""Staff accounts: argon2 hashes, roles, throttling, and the `bot staff` commands."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher, Type, extract_parameters

from bot.cli import main
from bot.review.accounts import (
    AccountError,
    LoginOutcome,
    add_staff,
    authenticate,
    list_staff,
    remove_staff,
)
from bot.review.database import upgrade
from bot.tracker_db.engine import get_engine
from tests.review.conftest import QUICK_HASHER, password_hasher


@pytest.fixture
def engine(sqlite_url: str):
    upgrade(sqlite_url)
    return get_engine(sqlite_url)


def stored_hash(engine, username: str) -> str:
    with engine.connect() as connection:
        return connection.execute(
            sa.text("SELECT password_hash FROM review_staff WHERE username = :name"),
            {"name": username},
        ).scalar_one()


def test_passwords_are_stored_as_argon2id_with_64_mib_and_3_passes(
    engine, production_password_hashing: PasswordHasher
) -> None:
    """bot.review.accounts' own hasher, not the quick one the other review tests use: its
    hashes are argon2id with 64 MiB, 3 passes, 4 lanes (RFC 9106's low-memory profile)."""
    add_staff(engine, "Jane.Doe", "a long password", "admin")
    stored = stored_hash(engine, "jane.doe")
    assert "a long password" not in stored
    parameters = extract_parameters(stored)
    assert (parameters.type, parameters.memory_cost, parameters.time_cost) == (Type.ID, 65536, 3)
    assert parameters.parallelism == 4
    assert not production_password_hashing.check_needs_rehash(stored)
    # Checked by the same hasher: the right password in, a wrong one and unknown names out.
    outcome, staff, _ = authenticate(engine, "JANE.DOE ", "a long password", "10.0.0.1")
    assert outcome is LoginOutcome.OK and staff.is_admin
    assert authenticate(engine, "jane.doe", "a long passwort", "10.0.0.1")[0] is (
        LoginOutcome.WRONG
    )
    assert authenticate(engine, "nobody", "a long password", "10.0.0.1")[0] is LoginOutcome.WRONG


def test_a_hash_with_weaker_parameters_is_upgraded_at_the_next_login(
    engine, production_password_hashing: PasswordHasher
) -> None:
    with password_hasher(QUICK_HASHER):  # as an older set-up stored it
        add_staff(engine, "bob", "long enough pw")
    assert extract_parameters(stored_hash(engine, "bob")).memory_cost == 1024
    assert authenticate(engine, "bob", "long enough pw", "10.0.0.1")[0] is LoginOutcome.OK
    upgraded = stored_hash(engine, "bob")
    assert extract_parameters(upgraded).memory_cost == 65536
    assert production_password_hashing.verify(upgraded, "long enough pw")


@pytest.mark.parametrize(
    ("name", "password", "role", "reason"),
    [
        ("a", "long enough pw", "reviewer", "username"),
        ("has space", "long enough pw", "reviewer", "username"),
        ("bob", "short", "reviewer", "at least 10"),
        ("bob", "long enough pw", "owner", "role"),
    ],
)
def test_bad_accounts_are_refused(engine, name, password, role, reason) -> None:
    with pytest.raises(AccountError, match=reason):
        add_staff(engine, name, password, role)


def test_usernames_are_unique_and_accounts_can_be_removed(engine) -> None:
    add_staff(engine, "bob", "long enough pw")
    with pytest.raises(AccountError, match="already has an account"):
        add_staff(engine, "BOB", "another password")
    assert [(s.username, s.role) for s in list_staff(engine)] == [("bob", "reviewer")]
    assert remove_staff(engine, "Bob") and not remove_staff(engine, "bob")
    assert list_staff(engine) == []


def test_throttling_counts_failures_per_username_and_address_within_the_window(engine) -> None:
    add_staff(engine, "bob", "long enough pw")
    for second in range(5):
        assert authenticate(engine, "bob", "nope", "1.1.1.1", now=1000 + second)[0] is (
            LoginOutcome.WRONG
        )
    throttled = authenticate(engine, "bob", "long enough pw", "1.1.1.1", now=1010)
    assert throttled.outcome is LoginOutcome.THROTTLED
    # Until the first failure (at 1000) leaves the 15-minute window.
    assert throttled.retry_after == 1000 + 15 * 60 - 1010
    # Another address is not throttled, nor is the same one once the window has passed.
    assert authenticate(engine, "bob", "long enough pw", "2.2.2.2", now=1010)[0] is (
        LoginOutcome.OK
    )
    assert authenticate(engine, "bob", "long enough pw", "1.1.1.1", now=1005 + 15 * 60)[0] is (
        LoginOutcome.OK
    )


def test_unknown_users_are_wrong_not_errors(engine) -> None:
    assert authenticate(engine, "ghost", "whatever pw", "1.1.1.1")[:2] == (LoginOutcome.WRONG, None)


def test_staff_commands_read_the_password_twice_from_stdin(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("TRACKER_STORE_URL", sqlite_url)
    monkeypatch.setattr("sys.stdin", io.StringIO("a long password\na long password\n"))
    assert main(["staff", "add", "Jane", "--role", "admin"]) == 0
    assert "Account jane (admin) created" in capsys.readouterr().out

    monkeypatch.setattr("sys.stdin", io.StringIO("a long password\na different one\n"))
    assert main(["staff", "add", "joe"]) == 1
    assert "The two passwords differ." in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("short\nshort\n"))
    assert main(["staff", "add", "joe"]) == 1
    assert "at least 10" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("a long password\na long password\n"))
    assert main(["staff", "add", "jane"]) == 1
    assert "already has an account" in capsys.readouterr().err

    assert main(["staff", "list"]) == 0
    assert "jane" in capsys.readouterr().out
    engine = get_engine(sqlite_url)
    assert authenticate(engine, "jane", "a long password", "127.0.0.1")[0] is LoginOutcome.OK
    assert main(["staff", "remove", "jane"]) == 0
    assert main(["staff", "remove", "jane"]) == 1
    assert list_staff(engine) == []


def test_staff_add_prompts_on_a_terminal(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    prompts: list[str] = []

    def getpass(prompt: str) -> str:
        prompts.append(prompt)
        return "typed at the prompt"

    monkeypatch.setenv("TRACKER_STORE_URL", sqlite_url)
    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("getpass.getpass", getpass)
    assert main(["staff", "add", "kim"]) == 0
    assert prompts == ["Password: ", "Password again: "]
