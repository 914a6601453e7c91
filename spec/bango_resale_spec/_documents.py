"""Where the documents live (the two OpenAPI documents and the Arazzo journeys), and their
parsed form.

The documents are held once: in a source checkout (and an editable install) they are the
files in `spec/`, beside this package; a built wheel carries them inside the package (the
wheel's `force-include` puts them there). Both layouts keep the files side by side, so the
sandbox document's relative `$ref`s into the partner document, and the journeys' source
descriptions, resolve in either.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

PARTNER_SPEC_FILE = "bango-resale.openapi.yaml"
SANDBOX_SPEC_FILE = "sandbox.openapi.yaml"
#: Bango's certification journeys (Arazzo), written against the two documents above.
JOURNEYS_FILE = "bango-resale.arazzo.yaml"

_PACKAGE_DIR = Path(__file__).resolve().parent


def document_path(file_name: str) -> Path:
    """The file system path of one of the shipped documents."""
    for folder in (_PACKAGE_DIR, _PACKAGE_DIR.parent):
        candidate = folder / file_name
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"{file_name} is neither inside {_PACKAGE_DIR} (wheel) nor beside it (source checkout)"
    )


def document_text(file_name: str) -> str:
    return document_path(file_name).read_text("utf-8")


def parse(text: str) -> Mapping[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document: Mapping[str, Any] = yaml.load(text, Loader=loader)
    return document


@functools.cache
def load_document(file_name: str) -> Mapping[str, Any]:
    return parse(document_text(file_name))
