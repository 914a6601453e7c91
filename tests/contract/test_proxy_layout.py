"""The validating proxy stands on public parts: no underscore name of a third-party library
(by import or attribute) and no subclass of a third-party class in its modules."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import bango_resale_contract

PACKAGE = Path(bango_resale_contract.__file__).parent
PROXY_MODULES = (
    "proxy",
    "_messages",
    "_upstream",
    "_bodies",
    "live",
    "live_report",
    "live_cli",
    "har",
    "_findings",
)
OURS = ("bango_resale", "bango_resale_spec", "bango_resale_sandbox", "bango_resale_contract")


def _third_party(module: str) -> bool:
    top = module.split(".")[0]
    return bool(top) and top not in sys.stdlib_module_names and top not in OURS


def foreign_private_uses(tree: ast.Module) -> list[str]:
    """Underscore names reached in third-party modules, and third-party base classes."""
    found: list[str] = []
    aliases: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _third_party(alias.name):
                    aliases.add((alias.asname or alias.name).split(".")[0])
                    found += [p for p in alias.name.split(".") if p.startswith("_")]
        elif (
            isinstance(node, ast.ImportFrom) and node.level == 0 and _third_party(node.module or "")
        ):
            found += [p for p in str(node.module).split(".") if p.startswith("_")]
            found += [a.name for a in node.names if a.name.startswith("_")]
            aliases.update(a.asname or a.name for a in node.names)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            base = node.value
            while isinstance(base, ast.Attribute | ast.Call):
                base = base.value if isinstance(base, ast.Attribute) else base.func
            if isinstance(base, ast.Name) and base.id in aliases:
                found.append(node.attr)
        elif isinstance(node, ast.ClassDef):
            for base in node.bases:
                root = base
                while isinstance(root, ast.Attribute):
                    root = root.value
                if isinstance(root, ast.Name) and root.id in aliases:
                    found.append(f"class {node.name}({ast.unparse(base)})")
    return found


def test_the_proxy_uses_no_private_name_and_subclasses_nothing_of_a_library() -> None:
    used = {
        name: foreign_private_uses(ast.parse((PACKAGE / f"{name}.py").read_text()))
        for name in PROXY_MODULES
    }
    assert {name: found for name, found in used.items() if found} == {}


def test_the_check_sees_a_private_name_and_a_subclass() -> None:
    tree = ast.parse(
        "import uvicorn\n"
        "from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol\n"
        "class Relay(HttpToolsProtocol): pass\n"
        "uvicorn.Server(config)._captured_signals.clear()\n"
    )
    assert foreign_private_uses(tree) == [
        "class Relay(HttpToolsProtocol)",
        "_captured_signals",
    ]
