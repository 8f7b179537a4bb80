"""The action server imports Rasa's SDK, never Rasa itself.

`rasa run actions` needs only `rasa_sdk`; Rasa (TensorFlow, spaCy, its whole engine) is the Rasa
server's. An action module reaching `rasa` through one of our modules would load all of it into
every action server (start-up time, hundreds of MB each) and tie the actions to the server's
version. The imports are read from the source (ast), followed through our own packages
(actions, bot), at module level and inside functions alike (those run in the action server
when called); only `if TYPE_CHECKING:` blocks are left out.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from bot.settings import PROJECT_ROOT

OURS = ("actions", "bot")
FORBIDDEN = "rasa"


def module_file(name: str, root: Path = PROJECT_ROOT) -> Path | None:
    """The source of our module `name` (a package's __init__.py), None if it is not ours."""
    if name.split(".")[0] not in OURS:
        return None
    base = root.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _nodes_outside_type_checking(tree: ast.AST) -> Iterator[ast.AST]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (n for child in node.orelse for n in [child, *ast.walk(child)])
            continue
        yield node
        yield from _nodes_outside_type_checking(node)


def imported_modules(name: str, root: Path = PROJECT_ROOT) -> set[str]:
    """Every module our module `name` imports: `import a.b` gives a.b, `from a import b` gives
    a, and a.b too when that is a module of ours; with the packages around our own modules,
    whose __init__ runs first."""
    path = module_file(name, root)
    assert path is not None, name
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _nodes_outside_type_checking(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                stem = ".".join([*base, node.module] if node.module else base)
            else:
                stem = node.module or ""
            targets = [stem]
            targets += [
                f"{stem}.{alias.name}"
                for alias in node.names
                if module_file(f"{stem}.{alias.name}", root)
            ]
        else:
            continue
        for target in targets:
            found.add(target)
            if module_file(target, root):
                parts = target.split(".")
                found.update(".".join(parts[:i]) for i in range(1, len(parts)))
    return found


def forbidden_chains(
    roots: list[str], root: Path = PROJECT_ROOT, forbidden: str = FORBIDDEN
) -> list[list[str]]:
    """One import chain from a root module to each forbidden module it reaches."""
    chains: list[list[str]] = []
    seen: set[str] = set()
    stack = [[name] for name in reversed(roots)]
    while stack:
        chain = stack.pop()
        current = chain[-1]
        if current in seen:
            continue
        seen.add(current)
        for imported in sorted(imported_modules(current, root), reverse=True):
            if imported == forbidden or imported.startswith(forbidden + "."):
                chains.append([*chain, imported])
            elif module_file(imported, root) and imported not in seen:
                stack.append([*chain, imported])
    return chains


def action_modules(root: Path = PROJECT_ROOT) -> list[str]:
    """The action server's modules (`--actions actions`): the package and each module in it."""
    folder = root / "actions"
    modules = sorted(f"actions.{p.stem}" for p in folder.glob("*.py") if p.stem != "__init__")
    return (["actions"] if (folder / "__init__.py").is_file() else []) + modules


def test_the_action_modules_import_rasa_sdk_and_never_rasa() -> None:
    modules = action_modules()
    assert "actions.events" in modules
    assert any("rasa_sdk" in imported_modules(name) for name in modules)
    chains = forbidden_chains(modules)
    assert chains == [], "\n".join(" -> ".join(chain) for chain in chains)


def test_the_check_follows_our_modules_and_sees_lazy_imports(tmp_path: Path) -> None:
    """The check above can fail: a `rasa` import two modules away, inside a function, is
    found; `rasa_sdk`, third-party modules and TYPE_CHECKING imports are not Rasa."""
    (tmp_path / "actions").mkdir()
    (tmp_path / "bot").mkdir()
    (tmp_path / "bot" / "__init__.py").write_text("")
    (tmp_path / "actions" / "one.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "import rasa_sdk\n"
        "from bot import helpers\n"
        "if TYPE_CHECKING:\n"
        "    from rasa.shared.core.domain import Domain\n"
    )
    (tmp_path / "bot" / "helpers.py").write_text("from .deep import parse\n")
    (tmp_path / "bot" / "deep.py").write_text(
        "import yaml\n\ndef parse():\n    from rasa.nlu import components\n"
    )
    assert forbidden_chains(action_modules(tmp_path), tmp_path) == [
        ["actions.one", "bot.helpers", "bot.deep", "rasa.nlu"]
    ]
