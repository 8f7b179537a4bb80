"""The settings (bot/settings/): one typed object from the environment, the only code that
reads it.

Every registered variable parses its default; a bad value is refused with the variable's name
and the reason; `current()` follows the environment without parsing it again for each read;
`bot config` shows every setting with secrets hidden; no other module of bot/ or actions/
interprets the environment; and the docs list exactly the registered variables.
"""

from __future__ import annotations

import ast
import dataclasses
import ipaddress
import re
import textwrap
from pathlib import Path

import pytest

from bot.cli import main
from bot.processes import LOOPBACK, PLAN, QUIET_ENV
from bot.review.config import ReviewSettings
from bot.settings import BY_NAME, PROJECT_ROOT, VARIABLES, Settings, current
from bot.settings.variables import CONCERNS

# --- The registry ------------------------------------------------------------------------------


@pytest.mark.parametrize("variable", VARIABLES, ids=lambda variable: variable.name)
def test_every_registered_variable_parses_its_default(variable) -> None:
    settings = Settings.from_env({})
    if variable.default is not None:
        assert settings.value(variable.name) == variable.parse_default()
    assert settings.source(variable.name) == "default"
    assert variable.meaning and variable.concern in CONCERNS
    # The shown form never fails and never gives a secret away.
    shown = settings.shown(variable.name)
    assert shown == "unset" if variable.secret else shown


def test_names_are_unique_and_look_like_environment_variables() -> None:
    names = [variable.name for variable in VARIABLES]
    assert len(names) == len(set(names)) == len(BY_NAME)
    assert all(re.fullmatch(r"[A-Z][A-Z0-9_]+", name) for name in names)


def test_the_process_plan_names_only_registered_variables_and_takes_their_defaults() -> None:
    for kind in PLAN:
        unregistered = kind.reads - set(QUIET_ENV) - set(BY_NAME)
        assert not unregistered, f"{kind.name} reads unregistered variables: {unregistered}"
        if kind.port_variable:
            # The plan's default port is the registry's (bot.processes.ProcessKind.default_port),
            # and the settings give it when the variable is unset.
            registered = BY_NAME[kind.port_variable]
            assert registered.concern == "network" and registered.default, kind.name
            assert kind.default_port == int(registered.default), kind.name
            assert kind.listen_port({}) == kind.default_port, kind.name
        if kind.interface_variable:
            assert BY_NAME[kind.interface_variable].parse_default() == LOOPBACK, kind.name


def test_every_secret_of_the_process_plan_is_hidden_or_shown_without_its_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    marker = "Xy7pw"
    values = {
        "DATABASE_URL": f"postgresql://ecrin:{marker}@db.internal/ecrin",
        "TRACKER_STORE_URL": f"postgresql://ecrin:{marker}@db.internal/tracker",
        "LOCK_STORE_URL": f"redis://:{marker}@redis.internal:6379/0",
        "RATE_LIMIT_REDIS_URL": f"rediss://user:{marker}@redis.internal/1",
        "REVIEW_SECRET_KEY": marker * 8,
        "TELEGRAM_TOKEN": f"123:{marker}",
        "TELEGRAM_WEBHOOK_SECRET": f"webhook-{marker}",
        "PSEUDONYM_SECRET": f"pseudonym-key-{marker}",
        "MODEL_SERVER_TOKEN": f"model-server-token-{marker}" * 2,
    }
    plan_secrets = set().union(*(kind.secrets | kind.optional_secrets for kind in PLAN))
    assert plan_secrets <= set(values), "a secret of the plan is missing from this test"
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    assert main(["config"]) == 0
    printed = capsys.readouterr().out
    assert marker not in printed
    assert "postgresql://ecrin:***@db.internal/ecrin" in printed
    assert re.search(r"^TELEGRAM_TOKEN +set \(hidden\) +\(environment\)$", printed, re.MULTILINE)
    assert marker not in repr(current())


# --- Values, and the reasons bad ones are refused ----------------------------------------------


def test_values_from_the_environment_are_typed_and_derived_ones_follow() -> None:
    settings = Settings.from_env(
        {
            "ACTIONS_PORT": "6055",
            "ACTION_TIMEOUT": "10",
            "LOCK_STORE_URL": "redis://redis.internal:6380/2?key_prefix=ecrin2",
            "TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1",
            "PURGE_INTERVAL": "30m",
            "REVIEW_SECURE_COOKIES": "true",
            "WEB_FRAME_ANCESTORS": "'SELF' https://*.example.org",
            "ECRIN_TODAY": "2027-06-15",
            "RASA_PORT": "  ",  # blank: the default
        }
    )
    assert settings.network.actions_port == 6055 and settings.network.rasa_port == 5005
    assert settings.source("RASA_PORT") == "default"
    assert settings.source("ACTIONS_PORT") == "environment"
    assert settings.network.action_endpoint_url == "http://127.0.0.1:6055/webhook"
    assert settings.network.action_endpoint(7000) == "http://127.0.0.1:7000/webhook"
    assert (settings.timeouts.action, settings.timeouts.lock_lifetime) == (10, 40)
    assert settings.stores.lock_store is not None
    assert settings.stores.lock_store["port"] == 6380
    assert settings.rate_limits.store_url == settings.stores.lock_store_url  # the fallback
    assert settings.rate_limits.trusted_proxies == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("127.0.0.1/32"),
    )
    assert settings.retention.interval == 1800
    assert settings.review.secure_cookies is True
    assert settings.web.frame_ancestors == "'self' https://*.example.org"
    assert str(settings.clock.today) == "2027-06-15"
    given = Settings.from_env({"ACTION_ENDPOINT_URL": "http://actions:5055/webhook"})
    assert given.network.action_endpoint(7000) == "http://actions:5055/webhook"


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({"RASA_PORT": "0"}, "RASA_PORT must be between 1 and 65535, got 0"),
        ({"REVIEW_PORT": "70000"}, "REVIEW_PORT must be between 1 and 65535"),
        ({"NGINX_PORT": "eighty"}, "NGINX_PORT must be a port number, got 'eighty'"),
        ({"RATE_LIMIT_PER_SENDER": "-1"}, "RATE_LIMIT_PER_SENDER must not be negative"),
        ({"RATE_LIMIT_ADDRESS_WINDOW": "-5"}, "RATE_LIMIT_ADDRESS_WINDOW must not be negative"),
        ({"RATE_LIMIT_SENDER_WINDOW": "soon"}, "RATE_LIMIT_SENDER_WINDOW must be a number"),
        ({"TRUSTED_PROXIES": "*"}, "TRUSTED_PROXIES must list the proxies' addresses, never *"),
        ({"TRUSTED_PROXIES": "10.0.0.1, ::/0"}, "TRUSTED_PROXIES: ::/0 would trust every"),
        ({"TRUSTED_PROXIES": "nginx"}, "TRUSTED_PROXIES: 'nginx' is not an address or CIDR"),
        ({"PURGE_INTERVAL": "hourly"}, "PURGE_INTERVAL must be e.g. 3600, 30m or 1h"),
        ({"PURGE_INTERVAL": "0"}, "PURGE_INTERVAL must be e.g. 3600, 30m or 1h"),
        ({"RETENTION_DAYS": "-1"}, "RETENTION_DAYS must be a number of days (0: keep)"),
        (
            {"REVIEW_SECRET_KEY": "short", "REVIEW_SECURE_COOKIES": "true"},
            "REVIEW_SECRET_KEY must be at least 32 characters long",
        ),
        ({"REVIEW_SECURE_COOKIES": "ture"}, "REVIEW_SECURE_COOKIES must be true or false"),
        ({"REVIEW_LOW_CONFIDENCE": "1.5"}, "REVIEW_LOW_CONFIDENCE must be a number between 0"),
        ({"REVIEW_HASH_CONCURRENCY": "0"}, "REVIEW_HASH_CONCURRENCY must be a whole number"),
        ({"WEB_FRAME_ANCESTORS": "https://a.example.org; script-src *"}, "';' or ','"),
        ({"TICKET_LOCK_LIFETIME": "60"}, "TICKET_LOCK_LIFETIME (60 s) must be at least 4 times"),
        (
            {"ACTION_TIMEOUT": "30", "TICKET_LOCK_LIFETIME": "100"},
            "at least 4 times ACTION_TIMEOUT (30 s)",
        ),
        ({"ACTION_TIMEOUT": "2.5"}, "ACTION_TIMEOUT must be a whole number of seconds"),
        ({"LOCK_STORE_URL": "http://x"}, "LOCK_STORE_URL must be redis://"),
        ({"LOCK_STORE_URL": "redis://host/0?prefix=x"}, "LOCK_STORE_URL: unknown option"),
        ({"RATE_LIMIT_REDIS_URL": "redis://h/zero"}, "RATE_LIMIT_REDIS_URL: the database must"),
        ({"ACTION_ENDPOINT_URL": "actions:5055"}, "ACTION_ENDPOINT_URL must be an http://"),
        ({"TELEGRAM_API_URL": "ftp://telegram"}, "TELEGRAM_API_URL must be an http://"),
        ({"ECRIN_TODAY": "15/06/2027"}, "ECRIN_TODAY must be a date like 2026-12-01"),
    ],
)
def test_a_bad_value_is_refused_with_the_variable_and_the_reason(env: dict, reason: str) -> None:
    with pytest.raises(SystemExit) as refused:
        Settings.from_env(env)
    assert reason in str(refused.value)


def test_a_refusal_never_repeats_a_secret() -> None:
    with pytest.raises(SystemExit) as refused:
        Settings.from_env({"REVIEW_SECRET_KEY": "hunter2-is-short"})
    assert "hunter2" not in str(refused.value)
    with pytest.raises(SystemExit) as refused:
        Settings.from_env({"LOCK_STORE_URL": "redis://:hunter2@host/zero"})
    assert "hunter2" not in str(refused.value)


def test_rules_that_need_two_settings_apply_where_they_matter() -> None:
    """A missing secret key is refused only when the review app starts behind HTTPS, not by
    every process that shares the configuration (the migration job, the action server)."""
    behind_https = Settings.from_env({"REVIEW_SECURE_COOKIES": "true"})
    with pytest.raises(SystemExit, match="REVIEW_SECRET_KEY is not set"):
        behind_https.review.session_secret()
    production = {"TELEGRAM_TOKEN": "123:abc", "TELEGRAM_WEBHOOK_SECRET": "webhook-secret-1"}
    telegram = Settings.from_env(production).telegram
    assert "PSEUDONYM_SECRET is not" in (telegram.pseudonym_secret_problem() or "")
    assert telegram.pseudonym_key == "webhook-secret-1"  # only ever used under tests


def test_the_review_app_builds_its_settings_from_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_STORE_URL", "sqlite:///review.db")
    monkeypatch.setenv("REVIEW_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("REVIEW_LOW_CONFIDENCE", "0.4")
    review = ReviewSettings.from_env()
    assert (review.database_url, review.secret_key, review.low_confidence) == (
        "sqlite:///review.db",
        "k" * 40,
        0.4,
    )


# --- current() ---------------------------------------------------------------------------------


def test_current_follows_the_environment_and_parses_it_once_per_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RATE_LIMIT_PER_SENDER", "7")
    first = current()
    assert first.rate_limits.per_sender == 7
    assert current() is first  # unchanged: the same object, not parsed again
    monkeypatch.setenv("SOMETHING_UNREGISTERED", "x")
    assert current() is first
    monkeypatch.setenv("RATE_LIMIT_PER_SENDER", "8")
    assert current().rate_limits.per_sender == 8
    monkeypatch.setenv("RATE_LIMIT_PER_SENDER", "-8")
    with pytest.raises(SystemExit, match="RATE_LIMIT_PER_SENDER must not be negative"):
        current()
    monkeypatch.delenv("RATE_LIMIT_PER_SENDER")
    assert current().rate_limits.per_sender == 30
    assert Settings.from_env() is current()


def test_the_settings_cannot_be_changed_in_place() -> None:
    settings = current()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.network.rasa_port = 1  # type: ignore[misc]


# --- bot config --------------------------------------------------------------------------------


def test_bot_config_prints_every_setting_its_value_and_where_it_came_from(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    for variable in VARIABLES:
        monkeypatch.delenv(variable.name, raising=False)
    monkeypatch.setenv("RASA_PORT", "5099")
    monkeypatch.setenv("REVIEW_SECRET_KEY", "s" * 40)
    assert main(["config"]) == 0
    printed = capsys.readouterr().out
    rows = {
        match["name"]: (match["value"], match["source"])
        for match in re.finditer(
            r"^(?P<name>[A-Z_]+) +(?P<value>.+?) +\((?P<source>environment|default)\)$",
            printed,
            re.MULTILINE,
        )
    }
    assert set(rows) == set(BY_NAME)
    assert rows["RASA_PORT"] == ("5099", "environment")
    assert rows["ACTIONS_PORT"] == ("5055", "default")
    assert rows["ACTION_ENDPOINT_URL"] == ("http://127.0.0.1:5055/webhook", "default")
    assert rows["TICKET_LOCK_LIFETIME"] == ("80 s", "default")
    assert rows["REVIEW_SECRET_KEY"] == ("set (hidden)", "environment")
    assert rows["TELEGRAM_TOKEN"] == ("unset", "default")
    assert "s" * 40 not in printed
    for concern in CONCERNS:
        assert f"# {concern}" in printed


def test_bot_config_with_a_bad_setting_says_why_and_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("PURGE_INTERVAL", "hourly")
    assert main(["config"]) == 1
    captured = capsys.readouterr()
    assert "PURGE_INTERVAL must be e.g. 3600, 30m or 1h, not 'hourly'" in captured.err
    assert captured.out == ""


# --- Nothing else reads the environment --------------------------------------------------------

SETTINGS_PACKAGE = PROJECT_ROOT / "bot" / "settings"
READING_METHODS = {"get", "setdefault", "pop"}


def _is_environ(node: ast.AST) -> bool:
    """Whether `node` is, or contains, `os.environ` (or `environ` imported from os)."""
    return any(
        (isinstance(part, ast.Attribute) and part.attr == "environ")
        or (isinstance(part, ast.Name) and part.id == "environ")
        for part in ast.walk(node)
    )


def environment_reads(source: str, registered: set[str]) -> list[str]:
    """Where `source` interprets the environment, as "line N: what": `os.environ.get(...)`,
    `os.environ[...]`, `os.getenv(...)`, and `anything.get("NAME")` / `anything["NAME"]`
    for a registered NAME, given as a string or a module constant holding one. Passing the
    whole environment on (`{**os.environ}`, `dict(os.environ)`, `env=os.environ`) and writing
    a variable for a child process or a library (`os.environ["X"] = …`) are not reading it."""
    tree = ast.parse(source)
    constants = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }

    def names_a_variable(node: ast.AST | None) -> bool:
        if isinstance(node, ast.Constant):
            return node.value in registered
        return isinstance(node, ast.Name) and constants.get(node.id) in registered

    found = []
    for node in ast.walk(tree):
        what = None
        if isinstance(node, ast.Call):
            function = node.func
            if isinstance(function, ast.Name) and function.id == "getenv":
                what = "getenv()"
            elif isinstance(function, ast.Attribute):
                if function.attr == "getenv":
                    what = "os.getenv()"
                elif function.attr in READING_METHODS and _is_environ(function.value):
                    what = f"os.environ.{function.attr}()"
                elif function.attr == "get" and node.args and names_a_variable(node.args[0]):
                    what = f".get() of {ast.unparse(node.args[0])}"
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            if _is_environ(node.value):
                what = "os.environ[...]"
            elif names_a_variable(node.slice):
                what = f"[{ast.unparse(node.slice)}]"
        if what:
            found.append(f"line {node.lineno}: {what}")
    return found


def test_the_check_finds_each_way_of_reading_the_environment() -> None:
    source = textwrap.dedent(
        """
        import os
        from os import environ, getenv

        NAME = "RASA_PORT"
        a = os.environ.get("ANYTHING")
        b = os.environ["HOME"]
        c = os.getenv("X")
        d = getenv("Y")
        e = environ.get("Z")
        f = env.get("TELEGRAM_TOKEN")
        g = stack.env["LOCK_STORE_URL"]
        h = (os.environ if env is None else env).get(name)
        i = env.get(NAME)

        # Not reading: passing the whole environment on, writing for a child, other keys.
        child = {**os.environ, "TELEGRAM_TOKEN": "t"}
        copy = dict(os.environ)
        run(command, env=os.environ)
        os.environ["TICKET_LOCK_LIFETIME"] = "80"
        credentials.get("token")
        reads = "ACTION_ENDPOINT_URL" in kind.reads
        """
    )
    found = environment_reads(source, {"RASA_PORT", "TELEGRAM_TOKEN", "LOCK_STORE_URL"})
    assert [line.split(":")[0] for line in found] == [f"line {n}" for n in range(6, 15)], found


def test_no_module_but_the_settings_interprets_the_environment() -> None:
    registered = set(BY_NAME)
    readers = {}
    for package in ("bot", "actions"):
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            if path.is_relative_to(SETTINGS_PACKAGE):
                continue
            found = environment_reads(path.read_text(encoding="utf-8"), registered)
            if found:
                readers[str(path.relative_to(PROJECT_ROOT))] = found
    assert not readers, f"read the environment through bot.settings instead: {readers}"


# --- The docs list every setting ---------------------------------------------------------------

SETTINGS_DOCS = (PROJECT_ROOT / "README.md", PROJECT_ROOT / "docs" / "deployment.md")
# Documented beside ours, read by others: Rasa, the Makefile, the test suite.
THIRD_PARTY = {"RASA_TELEMETRY_ENABLED", "PYTHON", "TEST_POSTGRES_URL"}


def documented_variables(path: Path) -> set[str]:
    """The variables in the first column of `path`'s settings tables (`| variable | …`)."""
    found: set[str] = set()
    in_table = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("| variable |"):
            in_table = True
        elif not line.startswith("|"):
            in_table = False
        elif in_table:
            found |= set(re.findall(r"`([A-Z][A-Z0-9_]*)`", line.split("|")[1]))
    return found


def test_the_docs_list_exactly_the_registered_variables() -> None:
    documented = set().union(*map(documented_variables, SETTINGS_DOCS))
    assert not THIRD_PARTY & set(BY_NAME)
    undocumented = sorted(THIRD_PARTY - documented)
    assert not undocumented, f"THIRD_PARTY lists variables no longer documented: {undocumented}"
    missing = sorted(set(BY_NAME) - documented)
    assert (
        not missing
    ), f"registered but in no settings table of README.md or deployment.md: {missing}"
    unknown = sorted(documented - set(BY_NAME) - THIRD_PARTY)
    assert not unknown, f"documented but not registered in bot/settings/variables.py: {unknown}"


def test_the_docs_check_reads_only_the_first_column_of_settings_tables(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "| process | reads |\n|---|---|\n| `rasa` | `NOT_A_SETTINGS_TABLE` |\n\n"
        "| variable | what |\n|---|---|\n| `RASA_PORT`, `ACTIONS_PORT` | see `MENTIONED` |\n"
        "after the table `AFTER`\n"
    )
    assert documented_variables(page) == {"RASA_PORT", "ACTIONS_PORT"}
