"""The changes inside Rasa (bot/rasa_ext) against the Rasa they were written for.

An upgrade of Rasa or rasa-sdk, or any change to a Rasa definition a patch replaces, copies or
relies on, fails these tests until each patch has been reviewed (bot/rasa_ext/PATCHES.md says
how); and PATCHES.md cannot drift from the code: it lists exactly the registered patches,
with their links and tests, and no module outside bot/rasa_ext changes Rasa unlisted.
"""

from __future__ import annotations

import ast
import asyncio
import importlib
import inspect
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.rasa_ext import MODULES, all_patches
from bot.rasa_ext.registry import Patch
from bot.rasa_ext.upstream import RASA_SDK_VERSION, RASA_VERSION, definition

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PATCHES_MD = PROJECT_ROOT / "bot" / "rasa_ext" / "PATCHES.md"
REVIEW = (
    "review each patch in bot/rasa_ext/PATCHES.md against the new code, then record the "
    "new version and hashes there and in bot/rasa_ext/upstream.py"
)


@pytest.fixture(scope="module")
def patches() -> dict[str, Patch]:
    return all_patches()


def _sections() -> dict[str, str]:
    """PATCHES.md's `## ` sections by title."""
    parts = re.split(r"^## (.+)$", PATCHES_MD.read_text(encoding="utf-8"), flags=re.M)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2], strict=True)}


def _rows(section: str) -> dict[str, str]:
    """A section's table rows by the dotted name in their first cell."""
    rows = {}
    for line in _sections()[section].splitlines():
        first = re.match(r"\|\s*`([\w.]+)`\s*\|", line)
        if first:
            rows[first.group(1)] = line
    return rows


def _recorded_hashes() -> dict[str, str]:
    block = re.search(r"```\n(.*?)```", _sections()["Reviewed against"], flags=re.S)
    assert block, "PATCHES.md has no block of hashes under 'Reviewed against'"
    pairs = (line.split() for line in block.group(1).splitlines() if line.strip())
    return {target: digest for digest, target in pairs}


def _targets(patches: dict[str, Patch]) -> list[str]:
    return list(dict.fromkeys(t for patch in patches.values() for t in patch.upstream))


# --- The pinned releases ------------------------------------------------------------------


def test_the_installed_rasa_is_the_release_the_patches_were_written_for() -> None:
    import rasa
    import rasa_sdk

    installed = (rasa.__version__, rasa_sdk.__version__)
    assert installed == (RASA_VERSION, RASA_SDK_VERSION) == ("3.6.21", "3.6.2"), (
        f"rasa {installed[0]} and rasa-sdk {installed[1]} are installed, but the patches in "
        f"bot/rasa_ext were written for rasa {RASA_VERSION} and rasa-sdk {RASA_SDK_VERSION}: "
        + REVIEW
    )


def test_the_lock_file_pins_the_releases_the_patches_were_written_for() -> None:
    lock = (PROJECT_ROOT / "requirements.lock").read_text(encoding="utf-8")
    assert re.search(rf"^rasa=={re.escape(RASA_VERSION)}\s", lock, flags=re.M), REVIEW
    assert re.search(rf"^rasa-sdk=={re.escape(RASA_SDK_VERSION)}\s", lock, flags=re.M), REVIEW


def test_every_rasa_definition_a_patch_depends_on_is_unchanged(
    patches: dict[str, Patch],
) -> None:
    recorded = _recorded_hashes()
    targets = _targets(patches)
    changed, gone = [], []
    for target in targets:
        try:
            found = definition(target)
        except LookupError as error:
            gone.append(str(error))
            continue
        if recorded.get(target) != found.sha256:
            changed.append(f"{found.sha256}  {target}")
    assert not gone, "Rasa definitions the patches depend on are gone: " + "; ".join(gone)
    assert not changed, (
        "These Rasa definitions differ from the ones the patches were reviewed against (or "
        f"have no hash in PATCHES.md): {REVIEW}. Their hashes now:\n" + "\n".join(changed)
    )
    assert sorted(recorded) == sorted(targets), "PATCHES.md records hashes no patch uses"


def test_the_hashes_are_of_the_source_inspect_shows(patches: dict[str, Patch]) -> None:
    """The definitions are read from the installed files, not from the running objects
    (which our patches may have replaced); where the object is still Rasa's own, both agree."""
    compared = 0
    for target in _targets(patches):
        module_name = definition(target).path.removesuffix(".py").replace("/", ".")
        found: object = importlib.import_module(module_name)
        for name in target[len(module_name) + 1 :].split("."):
            found = inspect.getattr_static(found, name)
        found = getattr(found, "__func__", found)  # staticmethod, classmethod
        if not (inspect.isfunction(found) or inspect.isclass(found)):
            continue  # a constant: no source of its own
        if inspect.unwrap(found).__module__ != module_name:
            continue  # replaced in this process by one of our patches
        assert inspect.getsource(found) == definition(target).source, target
        compared += 1
    assert compared >= 40  # nearly all: the check ran


# --- PATCHES.md and the code ---------------------------------------------------------------


def test_patches_md_lists_exactly_the_registered_patches(patches: dict[str, Patch]) -> None:
    rows = _rows("Patches")
    assert sorted(rows) == sorted(patches)
    for name, patch in patches.items():
        links = set(re.findall(r"\((https://github\.com/RasaHQ/[^)\s]+)\)", rows[name]))
        assert links == {definition(t).link for t in patch.upstream}, name
        assert set(re.findall(r"`(tests/[^`]+)`", rows[name])) == set(patch.tests), name


def test_every_module_that_registers_patches_is_known(patches: dict[str, Patch]) -> None:
    package = PROJECT_ROOT / "bot" / "rasa_ext"
    registering = {
        f"bot.rasa_ext.{file.stem}"
        for file in package.glob("*.py")
        if re.search(r"^@patch\(", file.read_text(encoding="utf-8"), flags=re.M)
    }
    assert registering == set(MODULES)
    assert {name.rsplit(".", 1)[0] for name in patches} == set(MODULES)


def test_every_patch_names_tests_that_exist(patches: dict[str, Patch]) -> None:
    for patch in patches.values():
        assert patch.tests, patch.name
        for test in patch.tests:
            file, name = test.split("::")
            source = (PROJECT_ROOT / file).read_text(encoding="utf-8")
            assert re.search(rf"^(async )?def {name}\(", source, flags=re.M), test


def test_every_patch_says_why_and_links_to_the_rasa_files_it_changes(
    patches: dict[str, Patch],
) -> None:
    for name, patch in patches.items():
        module, attribute = name.rsplit(".", 1)
        documented = inspect.getdoc(getattr(importlib.import_module(module), attribute)) or ""
        assert patch.why and documented, name
        for target in patch.upstream:
            assert definition(target).file_link in documented, (name, target)


# --- Nothing changes Rasa outside bot/rasa_ext ---------------------------------------------


def _rasa_names(tree: ast.AST) -> set[str]:
    """The names a module binds to things imported from Rasa or rasa-sdk."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in (
            "rasa",
            "rasa_sdk",
        ):
            names |= {alias.asname or alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in ("rasa", "rasa_sdk"):
                    names.add(alias.asname or alias.name.split(".")[0])
    return names


def _root(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript | ast.Call):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def rasa_changes(source: str) -> Iterator[tuple[str, str, str]]:
    """(kind, where, what) for each change to Rasa in a module's source: an assignment to (or
    `setattr` on) something imported from Rasa, a `RASA_*`/`TICKET_LOCK_LIFETIME` environment
    variable set, or a class that subclasses a Rasa class. `where` is the top-level function
    or class it is in ("" at module level)."""
    tree = ast.parse(source)
    names = _rasa_names(tree)
    for top in tree.body:
        where = getattr(top, "name", "")
        for node in ast.walk(top):
            targets: list[ast.AST] = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AugAssign | ast.AnnAssign):
                targets = [node.target]
            elif isinstance(node, ast.Call) and _root(node.func) == "setattr" and node.args:
                targets = [ast.Attribute(value=node.args[0], attr="?")]
            for target in targets:
                if isinstance(target, ast.Attribute) and _root(target) in names:
                    yield "assigns", where, ast.unparse(target)
                elif (
                    isinstance(target, ast.Subscript)
                    and ast.unparse(target.value) == "os.environ"
                    and re.match(r"'(RASA_|TICKET_LOCK_LIFETIME)", ast.unparse(target.slice))
                ):
                    yield "sets", where, ast.unparse(target)
            if isinstance(node, ast.ClassDef) and any(_root(b) in names for b in node.bases):
                yield "subclasses", node.name, ", ".join(ast.unparse(b) for b in node.bases)


def test_the_check_for_changes_to_rasa_finds_each_kind() -> None:
    source = (
        "import os\nimport rasa.core.agent as agent\nfrom rasa.core.agent import Agent\n"
        "def change():\n    Agent.handle_message = None\n    setattr(agent, 'x', 1)\n"
        "    os.environ['RASA_TELEMETRY_ENABLED'] = 'true'\n    os.environ['HOME'] = '/'\n"
        "class Mine(Agent):\n    pass\nclass Other(dict):\n    pass\n"
    )
    assert set(rasa_changes(source)) == {
        ("assigns", "change", "Agent.handle_message"),
        ("assigns", "change", "agent.?"),
        ("sets", "change", "os.environ['RASA_TELEMETRY_ENABLED']"),
        ("subclasses", "Mine", "Agent"),
    }


def _modules(folder: Path) -> Iterator[tuple[str, str]]:
    for file in sorted(folder.rglob("*.py")):
        module = ".".join(file.relative_to(PROJECT_ROOT).with_suffix("").parts)
        yield module, file.read_text(encoding="utf-8")


def test_outside_bot_rasa_ext_rasa_is_only_extended_through_listed_components() -> None:
    components = _rows("Components (public extension points)")
    extension = PROJECT_ROOT / "bot" / "rasa_ext"
    unlisted, patched = [], []
    for module, source in _modules(PROJECT_ROOT / "bot"):
        if module.startswith("bot.rasa_ext"):
            continue
        for kind, where, what in rasa_changes(source):
            if kind == "subclasses":
                if f"{module}.{where}" not in components:
                    unlisted.append(f"{module}.{where}({what})")
            else:
                patched.append(f"{module}: {what}")
    assert not patched, f"Rasa changed outside {extension}: move it there and register it"
    assert not unlisted, "Rasa classes extended but not listed in PATCHES.md's components"
    for component in components:  # each listed one exists
        module, name = component.rsplit(".", 1)
        assert re.search(rf"^class {name}\(", dict(_modules(PROJECT_ROOT / "bot"))[module], re.M)


def test_every_change_to_rasa_in_bot_rasa_ext_is_a_registered_patch(
    patches: dict[str, Patch],
) -> None:
    found = [
        (f"{module}.{where}", what)
        for module, source in _modules(PROJECT_ROOT / "bot" / "rasa_ext")
        for _, where, what in rasa_changes(source)
    ]
    assert len(found) >= 10  # the check sees the changes it is about
    assert [(name, what) for name, what in found if name not in patches] == []


# --- The patches with no test elsewhere ------------------------------------------------------


@pytest.mark.slow  # waits out the one-second action timeout it checks
def test_an_action_that_does_not_answer_is_given_up_in_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rasa's default would wait 5 minutes for this action server, which never answers."""
    import rasa.core.actions.action as action_module
    from rasa.core.actions.action import RemoteAction
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig

    from bot.rasa_ext.server import bound_action_calls

    monkeypatch.setattr(action_module, "DEFAULT_REQUEST_TIMEOUT", 300)  # restored afterwards
    bound_action_calls(1)

    async def call_a_silent_action_server() -> BaseException | None:
        async def never_answer(reader: asyncio.StreamReader, _: asyncio.StreamWriter) -> None:
            await reader.read()  # reads the request, never writes a reply

        server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        action = RemoteAction("action_silent", EndpointConfig(f"http://127.0.0.1:{port}/"))
        call = asyncio.ensure_future(
            action.run(
                CollectingOutputChannel(),
                TemplatedNaturalLanguageGenerator({}),
                DialogueStateTracker("someone", []),
                Domain.empty(),
            )
        )
        try:
            done, _ = await asyncio.wait({call}, timeout=10)
            assert done, "the action call was still waiting after 10 s"
            return call.exception()
        finally:
            call.cancel()
            server.close()

    assert isinstance(asyncio.run(call_a_silent_action_server()), asyncio.TimeoutError)
