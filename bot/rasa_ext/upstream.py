"""Where a definition of Rasa (or rasa-sdk) is, in the installed package and on GitHub.

A patch names the Rasa definitions it replaces, copies or relies on by dotted path
("rasa.core.agent.Agent._create_tracker_store"). This module finds each one in the installed
source file by parsing it, without importing or running it: a definition the project has
patched in this process (`Agent._create_tracker_store` after bot.rasa_ext.server's patch)
is still read as Rasa wrote it, so its hash never depends on which patches ran first.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

# The releases every patch in this package was written against, and where their code is.
RASA_VERSION = "3.6.21"
RASA_SDK_VERSION = "3.6.2"
REPOSITORIES = {
    "rasa": ("https://github.com/RasaHQ/rasa", RASA_VERSION),
    "rasa_sdk": ("https://github.com/RasaHQ/rasa-sdk", RASA_SDK_VERSION),
}

_Definition = ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef | ast.Assign | ast.AnnAssign


@dataclass(frozen=True)
class Definition:
    """One class, function, method or module constant in Rasa's installed source."""

    target: str  # dotted path, e.g. "rasa.core.agent.Agent._create_tracker_store"
    path: str  # in the package's repository, e.g. "rasa/core/agent.py"
    first_line: int  # with its decorators, as `inspect.getsource` shows it
    last_line: int
    source: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.source.encode("utf-8")).hexdigest()

    @property
    def file_link(self) -> str:
        """The file on GitHub at the pinned release."""
        repository, version = REPOSITORIES[self.target.split(".", 1)[0]]
        return f"{repository}/blob/{version}/{self.path}"

    @property
    def link(self) -> str:
        """The definition's lines on GitHub at the pinned release."""
        return f"{self.file_link}#L{self.first_line}-L{self.last_line}"


def definition(target: str) -> Definition:
    """The definition `target` names, read from the installed package; LookupError when it
    is not there (renamed, moved or removed by an upgrade)."""
    package, *parts = target.split(".")
    if package not in REPOSITORIES:
        raise LookupError(f"{target}: not in {' or '.join(REPOSITORIES)}")
    spec = importlib.util.find_spec(package)  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise LookupError(f"{target}: {package} is not installed")
    root = Path(next(iter(spec.submodule_search_locations)))
    folder, names = root, parts
    while names and (folder / names[0]).is_dir():
        folder, names = folder / names[0], names[1:]
    if not names or not (folder / f"{names[0]}.py").is_file():
        raise LookupError(f"{target}: no such module in {root}")
    file = folder / f"{names[0]}.py"
    text = file.read_text(encoding="utf-8")
    node = _find(ast.parse(text).body, names[1:], target)
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    last = node.end_lineno or node.lineno
    lines = text.splitlines(keepends=True)[first - 1 : last]
    return Definition(
        target=target,
        path=file.relative_to(root.parent).as_posix(),
        first_line=first,
        last_line=last,
        source="".join(lines),
    )


def _find(body: list[ast.stmt], names: list[str], target: str) -> _Definition:
    if not names:
        raise LookupError(f"{target}: names a module, not a definition in it")
    name, rest = names[0], names[1:]
    for node in body:
        if _defines(node, name):
            if not rest:
                return node  # type: ignore[return-value]
            if isinstance(node, ast.ClassDef):
                return _find(node.body, rest, target)
    raise LookupError(f"{target}: {name!r} is not defined there")


def _defines(node: ast.stmt, name: str) -> bool:
    if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
        return node.name == name
    if isinstance(node, ast.Assign):
        return any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
    if isinstance(node, ast.AnnAssign):
        return isinstance(node.target, ast.Name) and node.target.id == name
    return False
