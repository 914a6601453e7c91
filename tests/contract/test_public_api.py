"""The contract package's public API: every name `__all__` lists resolves to what its module
defines, and importing the package loads none of the heavy libraries behind those names."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import bango_resale_contract


@pytest.mark.parametrize("name", bango_resale_contract.__all__)
def test_each_public_name_is_its_modules_own(name: str) -> None:
    value = getattr(bango_resale_contract, name)
    module = importlib.import_module(value.__module__)
    assert value.__module__.startswith("bango_resale_contract.")
    assert name in dir(bango_resale_contract)
    # Defined where the package says it is (re-exported under the same name).
    assert getattr(module, name, value) is value


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="run_suit"):
        _ = bango_resale_contract.run_suit  # type: ignore[attr-defined]


def test_importing_the_package_loads_no_heavy_library() -> None:
    probe = (
        "import sys, bango_resale_contract;"
        "heavy = ('aiohttp', 'schemathesis', 'httpx', 'uvicorn');"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
