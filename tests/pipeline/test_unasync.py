"""The blocking client is written from the asyncio one: committed output current, drift caught."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest


def load_unasync(repo_root: Path) -> ModuleType:
    path = repo_root / "scripts" / "unasync.py"
    spec = importlib.util.spec_from_file_location("unasync_script", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def docstrings(path: Path) -> dict[str, str | None]:
    tree = ast.parse(path.read_text())
    found: dict[str, str | None] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            found[node.name] = ast.get_docstring(node)
    return found


def test_committed_sync_client_matches_the_async_source(repo_root: Path) -> None:
    assert load_unasync(repo_root).main(["--check"]) == 0


def test_an_edit_to_the_generated_sync_client_is_caught(
    repo_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unasync = load_unasync(repo_root)
    edited = tmp_path / "_sync_client.py"
    text = unasync.TARGET.read_text()
    edited.write_text(text.replace('"""Read one entitlement."""', '"""Read an entitlement."""'))
    assert edited.read_text() != text
    monkeypatch.setattr(unasync, "TARGET", edited)
    assert unasync.main(["--check"]) == 1


def test_both_clients_have_the_same_methods_and_docstrings(repo_root: Path) -> None:
    unasync = load_unasync(repo_root)
    package = repo_root / "overrides" / "bango_resale"
    blocking = docstrings(package / "_sync_client.py")
    # Equal once the asyncio names (`AsyncResaleClient`, `aclose`) read as their twins.
    asynchronous = {
        unasync.twin(name): None if doc is None else unasync.twin(doc)
        for name, doc in docstrings(package / "_async_client.py").items()
    }
    assert blocking == asynchronous
    assert len(blocking) > 15


def test_a_name_without_a_blocking_twin_is_refused(repo_root: Path) -> None:
    unasync = load_unasync(repo_root)
    with pytest.raises(ValueError, match="AsyncThing"):
        unasync.unasync('"""Doc."""\nx = AsyncThing()\n')
