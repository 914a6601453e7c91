"""Everything hand-written stands on public parts of the libraries it uses: no private name of a
third-party library (an underscore module, class, function or attribute, or a module the
library keeps internal) in the packages, the tests or the scripts, and no subclass of a
library's internal class. The generated client counts as a library here: the hand-written
client uses its public names only.

Where a needed knob truly is missing, one adapter module may reach further, and says so (with
a test that trips when the library changes under it): it is listed in `ADAPTERS`.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

FOLDERS = ("spec", "overrides", "sandbox", "contract", "tests", "scripts")
OURS = {
    "bango_resale",
    "bango_resale_spec",
    "bango_resale_sandbox",
    "bango_resale_contract",
    "support",  # tests/support
}
# Modules a library keeps internal without an underscore: its documentation names the public
# ones (schemathesis: the top-level package, `schemathesis.errors`, `.openapi`, `.pytest`;
# uvicorn: `Config` and `Server`, its protocols being an implementation detail).
INTERNAL_MODULES = ("schemathesis.core", "uvicorn.protocols")
# The one adapter that needs more than a library shows, and what it may reach.
ADAPTERS = {
    # uvicorn has no public knob for a request head's size, a deadline to receive a request or
    # caps on connections per source: the guard wraps the protocol uvicorn builds
    # (tests/sandbox/test_connection_guard.py trips when uvicorn changes how it builds it).
    "sandbox/bango_resale_sandbox/_connection_guard.py": {"uvicorn.protocols"},
}
# The validating proxy is an HTTP server half and an HTTP client half joined by a message model
# of its own: it subclasses nothing of either library, public or not.
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


def _third_party(module: str) -> bool:
    top = module.split(".")[0]
    return bool(top) and top not in sys.stdlib_module_names and top not in OURS


def _internal(module: str, allowed: frozenset[str] | set[str]) -> str | None:
    """Why `module` is not a library's public face (None when it is)."""
    if any(module == reach or module.startswith(f"{reach}.") for reach in allowed):
        return None
    private = [part for part in module.split(".") if part.startswith("_")]
    if private:
        return private[0]
    for internal in INTERNAL_MODULES:
        if module == internal or module.startswith(f"{internal}."):
            return module
    return None


def private_uses(tree: ast.Module, allowed: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """Private or internal names of third-party libraries one module reaches: by import, by
    attribute of an imported name (also through calls: `lib.Thing()._private`), and the
    library classes it subclasses from an internal module."""
    found: list[str] = []
    # Local name -> whether it came from an internal module (for the subclass rule).
    aliases: dict[str, bool] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _third_party(alias.name):
                    why = _internal(alias.name, allowed)
                    if why:
                        found.append(why)
                    aliases[(alias.asname or alias.name).split(".")[0]] = bool(why)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            module = node.module or ""
            if not _third_party(module):
                continue
            why = _internal(module, allowed)
            if why:
                found.append(why)
            for alias in node.names:
                if alias.name.startswith("_"):
                    found.append(alias.name)
                aliases[alias.asname or alias.name] = bool(why) or alias.name.startswith("_")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            if node.attr.startswith("__") and node.attr.endswith("__"):
                continue  # dunder protocol names are public by definition
            base = node.value
            while isinstance(base, ast.Attribute | ast.Call | ast.Subscript):
                base = base.func if isinstance(base, ast.Call) else base.value
            if isinstance(base, ast.Name) and base.id in aliases:
                found.append(node.attr)
        elif isinstance(node, ast.ClassDef):
            for parent in node.bases:
                root = parent
                while isinstance(root, ast.Attribute):
                    root = root.value
                if isinstance(root, ast.Name) and aliases.get(root.id):
                    found.append(f"class {node.name}({ast.unparse(parent)})")
    return found


def third_party_bases(tree: ast.Module) -> list[str]:
    """Every class of a third-party library the module subclasses, public or not."""
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {
                (a.asname or a.name).split(".")[0] for a in node.names if _third_party(a.name)
            }
        elif (
            isinstance(node, ast.ImportFrom) and node.level == 0 and _third_party(node.module or "")
        ):
            imported |= {a.asname or a.name for a in node.names}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for parent in node.bases:
                root = parent
                while isinstance(root, ast.Attribute):
                    root = root.value
                if isinstance(root, ast.Name) and root.id in imported:
                    found.append(f"class {node.name}({ast.unparse(parent)})")
    return found


def _sources(repo_root: Path) -> list[Path]:
    return sorted(
        path
        for folder in FOLDERS
        for path in (repo_root / folder).rglob("*.py")
        if "node_modules" not in path.parts
    )


def test_no_private_name_of_a_library_is_used_anywhere(repo_root: Path) -> None:
    used = {}
    for path in _sources(repo_root):
        where = str(path.relative_to(repo_root))
        found = private_uses(ast.parse(path.read_text("utf-8")), ADAPTERS.get(where, set()))
        if found:
            used[where] = found
    assert used == {}


def test_the_proxy_subclasses_nothing_of_a_library(repo_root: Path) -> None:
    package = repo_root / "contract" / "bango_resale_contract"
    used = {
        name: third_party_bases(ast.parse((package / f"{name}.py").read_text("utf-8")))
        for name in PROXY_MODULES
    }
    assert {name: found for name, found in used.items() if found} == {}


def test_every_adapter_still_needs_what_it_is_allowed() -> None:
    """An adapter that no longer reaches what it may is listed for nothing: drop it."""
    root = Path(__file__).resolve().parents[2]
    for where, allowed in ADAPTERS.items():
        tree = ast.parse((root / where).read_text("utf-8"))
        assert private_uses(tree) != [], f"{where} no longer needs {sorted(allowed)}"


@pytest.mark.parametrize(
    ("planted", "caught"),
    [
        (
            "from schemathesis.core.output.sanitization import is_sensitive_key\n",
            ["schemathesis.core.output.sanitization"],
        ),
        ("from httpx._client import USE_CLIENT_DEFAULT\n", ["_client"]),
        ("import httpx\nhttpx.BasicAuth('u', 'p')._auth_header\n", ["_auth_header"]),
        (
            "import uvicorn\nuvicorn.Server(config)._captured_signals.clear()\n",
            ["_captured_signals"],
        ),
        (
            "from bango_resale_generated.api.entitlements import get_entitlement\n"
            "get_entitlement._get_kwargs('e')\n",
            ["_get_kwargs"],
        ),
        (
            "from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol\n"
            "class Relay(HttpToolsProtocol): pass\n",
            ["uvicorn.protocols.http.httptools_impl", "class Relay(HttpToolsProtocol)"],
        ),
        (
            "from schemathesis.errors import FailureGroup\n"
            "import httpx\n"
            "httpx.Client().__enter__()\n",
            [],
        ),
        ("from support.api import _magic\nfrom bango_resale_spec import _documents\n", []),
    ],
)
def test_the_check_catches_a_planted_private_name(planted: str, caught: list[str]) -> None:
    assert private_uses(ast.parse(planted)) == caught


def test_the_proxy_check_catches_a_planted_subclass() -> None:
    tree = ast.parse("import aiohttp\nclass Session(aiohttp.ClientSession): pass\n")
    assert third_party_bases(tree) == ["class Session(aiohttp.ClientSession)"]
