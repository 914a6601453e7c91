"""The import graph runs one way: the contract package beneath the client, the sandbox and the
contract suite; the sandbox never reaches into the client; no package imports in a circle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGES = {
    "bango_resale_spec": "spec/bango_resale_spec",
    "bango_resale": "overrides/bango_resale",
    "bango_resale_sandbox": "sandbox/bango_resale_sandbox",
    "bango_resale_contract": "contract/bango_resale_contract",
}
# Who may import whom (besides itself); the generated client is the client's business.
ALLOWED = {
    "bango_resale_spec": set(),
    "bango_resale": {"bango_resale_spec", "bango_resale_generated"},
    "bango_resale_sandbox": {"bango_resale_spec"},
    "bango_resale_contract": {"bango_resale_spec"},
}
# Single modules of another package one may import, where the whole package is not allowed.
# The validating proxy is served by the sandbox's own serving module with the sandbox's limits,
# read from its configuration, so that it holds clients to exactly what the sandbox does (one
# place for those limits); a run that targets a sandbox of its own starts it with the
# sandbox's public launcher (`testing`), the one every test uses. Nothing else of the sandbox
# (its app, store, faults) is the contract's business.
ALLOWED_MODULES = {
    "bango_resale_contract": {
        "bango_resale_sandbox.server",
        "bango_resale_sandbox.config",
        "bango_resale_sandbox.testing",
    },
}
OURS = {*PACKAGES, "bango_resale_generated"}


def _allowed_module(package: str, imported: str) -> bool:
    return any(
        imported == module or imported.startswith(f"{module}.")
        for module in ALLOWED_MODULES.get(package, ())
    )


def _module_name(package: str, folder: Path, path: Path) -> str:
    parts = [package, *path.relative_to(folder).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, module: str, is_package: bool) -> set[str]:
    """Modules (or module attributes) one file imports, relative imports resolved."""
    own_package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text("utf-8"))
    # Imports under `if TYPE_CHECKING:` never run; they name types for annotations only.
    type_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")
        for statement in node.body
        for inner in ast.walk(statement)
    }
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = own_package.rsplit(".", node.level - 1)[0]
                base = f"{anchor}.{base}" if base else anchor
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _package_imports(repo_root: Path, package: str) -> dict[str, set[str]]:
    folder = repo_root / PACKAGES[package]
    graph: dict[str, set[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        module = _module_name(package, folder, path)
        graph[module] = _imports(path, module, path.name == "__init__.py")
    return graph


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_each_package_imports_only_what_lies_beneath_it(repo_root: Path, package: str) -> None:
    strays = {
        f"{module} imports {imported}"
        for module, imported_set in _package_imports(repo_root, package).items()
        for imported in imported_set
        if (top := imported.split(".")[0]) in OURS
        and top != package
        and top not in ALLOWED[package]
        and not _allowed_module(package, imported)
    }
    assert not strays, sorted(strays)


def test_no_module_of_ours_imports_in_a_circle(repo_root: Path) -> None:
    graph: dict[str, set[str]] = {}
    for package in PACKAGES:
        graph.update(_package_imports(repo_root, package))
    # A package's __init__ re-exports its submodules for callers; edges into a package
    # therefore count, edges from an __init__ to its own submodules do not.
    edges = {
        module: {
            target
            for target in imported
            if target in graph and target != module and not target.startswith(f"{module}.")
        }
        for module, imported in graph.items()
    }
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(edges[node]):
            if state.get(target) == 1:
                cycles.append([*trail[trail.index(target) :], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert not cycles, cycles
