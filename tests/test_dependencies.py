"""pyproject.toml declares the dependencies; requirements.lock and requirements-dev.lock pin them.

`make` installs requirements-dev.lock with `--no-deps` and the Docker image installs
requirements.lock the same way, so pip never reads pyproject's ranges: nothing but these tests
notices when the three disagree. A dependency added to pyproject without `make lock` would be
missing at run time; one removed would stay installed; one the code imports without declaring
it would vanish the day the package that brings it today stops doing so.
"""

from __future__ import annotations

import ast
import importlib.metadata
import inspect
import os
import re
import shlex
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
import tomli
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
RUNTIME_LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"
LOCK_COMMAND = "make lock"

# Code that runs in the image may import runtime dependencies only; the tests and the
# benchmarks (which the tests import) run where requirements-dev.lock is installed.
RUNTIME_CODE = ("bot", "actions")
DEV_CODE = ("tests", "bench")
# Our own top-level packages (bench/ is a namespace package): imported from the source tree.
FIRST_PARTY = frozenset(
    path.name for path in ROOT.iterdir() if path.is_dir() and any(path.glob("*.py"))
)


@dataclass(frozen=True)
class Pin:
    """One package of a lock file: its version, its hashes and what asks for it (uv's `# via`)."""

    name: str
    version: str
    hashes: frozenset[str]
    wanted_by: frozenset[str]


@cache
def pyproject() -> dict:
    return tomli.loads(PYPROJECT.read_text(encoding="utf-8"))


def runtime_requirements() -> list[Requirement]:
    return [Requirement(line) for line in pyproject()["project"]["dependencies"]]


def dev_requirements() -> list[Requirement]:
    return [Requirement(line) for line in pyproject()["project"]["optional-dependencies"]["dev"]]


def names(requirements: Iterable[Requirement]) -> set[str]:
    return {canonicalize_name(requirement.name) for requirement in requirements}


# How uv names pyproject.toml in `# via`; a constraint file appears as `-c FILE`.
PYPROJECT_SOURCE = f"{pyproject()['project']['name']} (pyproject.toml)"
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==(?P<version>[^\s;\\]+)")
HASH = re.compile(r"^\s+--hash=(?P<hash>\S+?)\s*\\?$")
VIA_ONE = re.compile(r"^\s+# via (?P<source>.+)$")
VIA_MORE = re.compile(r"^\s+#   (?P<source>.+)$")


@cache
def lock(path: Path) -> dict[str, Pin]:
    """The pins of a lock file written by `uv pip compile --generate-hashes`, by package name."""
    pins: dict[str, Pin] = {}
    current: dict | None = None

    def finish() -> None:
        if current is not None:
            pin = Pin(
                current["name"],
                current["version"],
                frozenset(current["hashes"]),
                frozenset(current["via"]),
            )
            assert pin.name not in pins, f"{path.name} pins {pin.name} twice"
            pins[pin.name] = pin

    for line in path.read_text(encoding="utf-8").splitlines():
        if match := PIN.match(line):
            finish()
            current = {
                "name": canonicalize_name(match["name"]),
                "version": match["version"],
                "hashes": [],
                "via": [],
            }
        elif current is None or not line.strip() or line.strip() == "# via":
            continue
        elif match := HASH.match(line):
            current["hashes"].append(match["hash"])
        elif match := VIA_ONE.match(line) or VIA_MORE.match(line):
            current["via"].append(match["source"].strip())
        else:
            raise AssertionError(f"{path.name}: unexpected line {line!r}")
    finish()
    return pins


def asked_for_by(pins: dict[str, Pin], roots: set[str]) -> set[str]:
    """The packages of `pins` that `roots` need, directly or through each other, read from
    the `# via` annotations (a constraint file asks for nothing)."""
    needed = roots & pins.keys()
    grew = True
    while grew:
        grew = False
        for pin in pins.values():
            if pin.name not in needed and {canonicalize_name(s) for s in pin.wanted_by} & needed:
                needed.add(pin.name)
                grew = True
    return needed


LOCKS = {
    RUNTIME_LOCK.name: (RUNTIME_LOCK, runtime_requirements),
    DEV_LOCK.name: (DEV_LOCK, lambda: runtime_requirements() + dev_requirements()),
}


def make_dry_run(target: str) -> list[list[str]]:
    """The commands `make -n` prints for `target` (as words), without running any."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    printed = subprocess.run(
        ["make", "--no-print-directory", "-n", "-B", "-C", str(ROOT), target],
        capture_output=True,
        text=True,
        check=True,
        env=environment,
    ).stdout
    return [shlex.split(line) for line in printed.replace("\\\n", " ").splitlines() if line]


def option(words: list[str], name: str) -> str | None:
    """The value given to `name` in a command line, as `--name value` or `--name=value`."""
    for index, word in enumerate(words):
        if word == name and index + 1 < len(words):
            return words[index + 1]
        if word.startswith(name + "="):
            return word.split("=", 1)[1]
    return None


# --- pyproject ⇄ lock files -----------------------------------------------------------------


def test_pyproject_is_the_only_list_of_requirements() -> None:
    # A requirements.in or a hand-written requirements.txt beside pyproject would be a second
    # list to keep in step; the two locks are generated from pyproject.
    files = {path.name for path in ROOT.glob("requirements*")}
    assert files == {RUNTIME_LOCK.name, DEV_LOCK.name}


def test_make_lock_compiles_both_locks_from_pyproject() -> None:
    compiles = [words for words in make_dry_run("lock") if words[:3] == ["uv", "pip", "compile"]]
    by_output = {option(words, "-o"): words for words in compiles}
    assert by_output.keys() == {RUNTIME_LOCK.name, DEV_LOCK.name}, compiles
    for output, words in by_output.items():
        assert "pyproject.toml" in words, output
        assert "--generate-hashes" in words, output
        assert option(words, "--python-version") == "3.10", output
        # So that the header of each lock names the command that makes it.
        assert option(words, "--custom-compile-command") == LOCK_COMMAND, output
    runtime, dev = by_output[RUNTIME_LOCK.name], by_output[DEV_LOCK.name]
    assert option(runtime, "--extra") is None, "the image's lock holds no extra"
    assert option(dev, "--extra") == "dev"
    # The dev lock pins the runtime packages at the runtime lock's versions.
    assert RUNTIME_LOCK.name in (option(dev, "--constraint"), option(dev, "-c")), dev


@pytest.mark.parametrize("lock_name", LOCKS)
def test_lock_header_names_the_command_that_made_it(lock_name: str) -> None:
    path, _ = LOCKS[lock_name]
    header = path.read_text(encoding="utf-8").splitlines()[:2]
    assert header == [
        "# This file was autogenerated by uv via the following command:",
        f"#    {LOCK_COMMAND}",
    ], f"{lock_name} was not written by `{LOCK_COMMAND}`"


@pytest.mark.parametrize("lock_name", LOCKS)
def test_lock_pins_every_declared_dependency_within_its_range(lock_name: str) -> None:
    path, declared = LOCKS[lock_name]
    pins = lock(path)
    for requirement in declared():
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        pin = pins.get(canonicalize_name(requirement.name))
        assert pin is not None, f"{requirement} is not in {lock_name}: run `{LOCK_COMMAND}`"
        assert requirement.specifier.contains(pin.version, prereleases=True), (
            f"{lock_name} pins {pin.name}=={pin.version}, pyproject asks for {requirement}: "
            f"run `{LOCK_COMMAND}`"
        )


@pytest.mark.parametrize("lock_name", LOCKS)
def test_lock_holds_only_what_pyproject_asks_for(lock_name: str) -> None:
    path, declared = LOCKS[lock_name]
    pins = lock(path)
    direct = names(declared())
    # uv records pyproject as the reason for exactly the dependencies it declared when the
    # lock was made: one removed from pyproject since still carries that reason.
    said_direct = {pin.name for pin in pins.values() if PYPROJECT_SOURCE in pin.wanted_by}
    assert said_direct == direct, f"run `{LOCK_COMMAND}`: {sorted(said_direct ^ direct)}"
    orphans = sorted(pins.keys() - asked_for_by(pins, direct))
    assert not orphans, f"{lock_name} pins packages nothing asks for: {orphans}"


@pytest.mark.parametrize("lock_name", LOCKS)
def test_every_pin_is_hashed(lock_name: str) -> None:
    # pip's --require-hashes refuses the whole file if one pin has no hash.
    path, _ = LOCKS[lock_name]
    unhashed = sorted(pin.name for pin in lock(path).values() if not pin.hashes)
    assert not unhashed
    assert all(h.startswith("sha256:") for pin in lock(path).values() for h in pin.hashes)


def test_dev_lock_is_the_runtime_lock_plus_the_dev_tools() -> None:
    runtime, dev = lock(RUNTIME_LOCK), lock(DEV_LOCK)
    # Tests run against exactly the versions (and files) the image installs.
    differing = sorted(
        name
        for name, pin in runtime.items()
        if name not in dev or (dev[name].version, dev[name].hashes) != (pin.version, pin.hashes)
    )
    assert not differing, f"pinned differently in the two locks: {differing}"
    # And the image gets everything the runtime dependencies need, nothing only the tools do.
    needed_at_run_time = asked_for_by(dev, names(runtime_requirements()))
    assert runtime.keys() == needed_at_run_time, sorted(runtime.keys() ^ needed_at_run_time)


def test_installs_use_the_locks_with_hashes_and_nothing_else() -> None:
    # `make setup` (and everything that depends on it) and the image install exactly a lock;
    # the project itself comes with --no-deps, which the tests above make safe.
    installs = [words for words in make_dry_run(".venv/.installed") if "install" in words]
    requirements_install, project_install = installs
    assert option(requirements_install, "-r") == DEV_LOCK.name
    assert {"--require-hashes", "--no-deps"} <= set(requirements_install)
    assert "--no-deps" in project_install and option(project_install, "-e") == "."

    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    instructions = [line for line in dockerfile.splitlines() if not line.startswith("#")]
    docker_installs = [line for line in instructions if "pip install" in line]
    assert any(
        "--require-hashes" in line and f"-r {RUNTIME_LOCK.name}" in line for line in docker_installs
    ), docker_installs
    assert not [
        line for line in instructions if DEV_LOCK.name in line
    ], "no test tools in the image"


# --- imports ⇄ declared dependencies --------------------------------------------------------


def top_level_names(distribution: importlib.metadata.Distribution) -> set[str]:
    """What `import NAME` a distribution provides. Python 3.10's packages_distributions()
    reads only top_level.txt, which wheels built by anything but setuptools lack (Starlette,
    uvicorn, Rasa...), so infer it from the installed files as Python 3.11+ does."""
    declared = (distribution.read_text("top_level.txt") or "").split()
    if declared:
        return set(declared)
    provided = set()
    for file in distribution.files or ():
        top = file.parts[0] if len(file.parts) > 1 else inspect.getmodulename(file.name)
        if top and "." not in top and top != "__pycache__":
            provided.add(top)
    return provided


@cache
def distributions_by_import_name() -> dict[str, frozenset[str]]:
    providers: dict[str, set[str]] = defaultdict(set)
    for distribution in importlib.metadata.distributions():
        for top in top_level_names(distribution):
            providers[top].add(canonicalize_name(distribution.metadata["Name"]))
    return {name: frozenset(found) for name, found in providers.items()}


def third_party_imports(folders: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(top-level module, file) for every absolute import of a module that is neither in the
    standard library nor ours, in the Python files under `folders`; imports inside functions
    count too (they run, just later)."""
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    top = module.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in FIRST_PARTY:
                        yield top, str(path.relative_to(ROOT))


def undeclared_imports(folders: Iterable[str], declared: set[str]) -> list[str]:
    problems = set()
    for module, path in third_party_imports(folders):
        providers = distributions_by_import_name().get(module)
        if not providers:
            problems.add(f"{path}: `{module}` is installed by no package")
        elif not providers & declared:
            problems.add(f"{path}: `{module}` comes from {sorted(providers)}, not declared")
    return sorted(problems)


def test_runtime_code_imports_only_runtime_dependencies() -> None:
    declared = names(runtime_requirements())
    assert not undeclared_imports(RUNTIME_CODE, declared)


def test_tests_import_only_declared_dependencies() -> None:
    declared = names(runtime_requirements()) | names(dev_requirements())
    assert not undeclared_imports(DEV_CODE, declared)


def test_the_import_check_sees_imports_and_their_providers() -> None:
    # The two tests above pass vacuously if nothing is found or nothing maps: they must see
    # the imports this project is made of, and tell a dev tool from a runtime dependency.
    runtime_modules = {module for module, _ in third_party_imports(RUNTIME_CODE)}
    assert {"rasa", "rasa_sdk", "sqlalchemy", "yaml", "telegram"} <= runtime_modules
    assert distributions_by_import_name()["yaml"] == {"pyyaml"}
    assert "python-telegram-bot" in distributions_by_import_name()["telegram"]
    assert undeclared_imports(
        ["tests"], names(runtime_requirements())
    ), "the tests import pytest, which is no runtime dependency"
