"""The client's modules import one another one way (no circle). That they use only public
names of httpx and of the generated package is tests/spec/test_public_parts.py's business."""

from __future__ import annotations

import ast
from pathlib import Path

import bango_resale

PACKAGE = Path(bango_resale.__file__).parent


def modules() -> dict[str, ast.Module]:
    return {path.stem: ast.parse(path.read_text()) for path in sorted(PACKAGE.glob("*.py"))}


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
