"""The client's code uses only public names of httpx and of the generated package, and its
modules import one another one way (no circle)."""

from __future__ import annotations

import ast
from pathlib import Path

import bango_resale

PACKAGE = Path(bango_resale.__file__).parent
FOREIGN = ("httpx", "bango_resale_generated")


def modules() -> dict[str, ast.Module]:
    return {path.stem: ast.parse(path.read_text()) for path in sorted(PACKAGE.glob("*.py"))}


def foreign_private_names(tree: ast.Module) -> list[str]:
    """Underscore names reached in httpx or the generated package, by import or attribute."""
    found: list[str] = []
    aliases: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in FOREIGN:
                    aliases.add((alias.asname or alias.name).split(".")[0])
                    found += [part for part in alias.name.split(".") if part.startswith("_")]
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").split(".")[0] in FOREIGN
        ):
            found += [part for part in str(node.module).split(".") if part.startswith("_")]
            found += [a.name for a in node.names if a.name.startswith("_")]
            aliases.update(a.asname or a.name for a in node.names)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in aliases:
                found.append(node.attr)
    return found


def test_no_private_name_of_httpx_or_the_generated_package_is_used() -> None:
    used = {name: foreign_private_names(tree) for name, tree in modules().items()}
    assert {name: found for name, found in used.items() if found} == {}


def test_the_check_sees_a_private_name() -> None:
    tree = ast.parse(
        "from httpx._client import USE_CLIENT_DEFAULT\n"
        "from bango_resale_generated.api.entitlements import get_entitlement\n"
        "get_entitlement._get_kwargs('e')\n"
    )
    assert foreign_private_names(tree) == ["_client", "_get_kwargs"]


def runtime_imports(tree: ast.Module) -> set[str]:
    """Sibling modules imported at run time (not under `if TYPE_CHECKING:`)."""
    skipped = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
        for child in ast.walk(node)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and id(node) not in skipped:
            if node.module:
                found.add(node.module)
            else:
                found.update(alias.name for alias in node.names)
    return found


def test_the_client_modules_import_one_way() -> None:
    graph = {name: runtime_imports(tree) for name, tree in modules().items()}
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        assert name not in visiting, f"import circle: {' -> '.join([*visiting, name])}"
        if name in done:
            return
        visiting.append(name)
        for imported in sorted(graph.get(name, ())):
            visit(imported)
        visiting.pop()
        done.add(name)

    for name in graph:
        visit(name)
    assert graph["_sync_client"] == graph["_async_client"]
